"""Class schedules and versioned presence runs.

A run stores its whole outcome compactly: the trainee x day reason codes (and per session) as .npy
bytes with the trainee order beside them, so a 60-trainee, 60-day class is a few kilobytes and a
city-year is 2,000 rows, not 3.6 million cell rows. Runs are never updated: a recomputation after a
late replay is a new version, the old one stays as the evidence an earlier claim was built on.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, BigId, utcnow


class ClassSchedule(Base):
    """A class's training days and sessions, in the site's zone, and its presence-rule overrides."""

    __tablename__ = "class_schedule"
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    days_json: Mapped[str] = mapped_column(Text)  # ["2026-03-02", ...] resolved training days
    sessions_json: Mapped[str] = mapped_column(Text)  # ["08:30-11:30", "13:30-17:00"]
    rest_days_json: Mapped[str] = mapped_column(Text, default="[]")  # declared rest days (for display)
    holidays_json: Mapped[str] = mapped_column(Text, default="[]")  # public holidays taken out
    rule_json: Mapped[str] = mapped_column(Text, default="{}")  # presence rule overrides for this class
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class PresenceRun(Base):
    """One computation of a class's presence, with everything needed to show and to re-check it."""

    __tablename__ = "presence_run"
    __table_args__ = (UniqueConstraint("class_id", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    trigger: Mapped[str] = mapped_column(String(32), default="manual")  # cli | api | scheduler | demo
    rule_json: Mapped[str] = mapped_column(Text)  # the full rule used (defaults merged with overrides)
    schedule_json: Mapped[str] = mapped_column(Text)  # the schedule used
    inputs_hash: Mapped[str] = mapped_column(String(64))  # punches, photos, roster, schedule and rule
    punch_count: Mapped[int] = mapped_column(Integer)
    trainee_count: Mapped[int] = mapped_column(Integer)
    day_count: Mapped[int] = mapped_column(Integer)
    session_count: Mapped[int] = mapped_column(Integer)  # sessions a day
    has_records: Mapped[bool] = mapped_column(Boolean)  # has punch records (else: sampling inspection)
    days_with_records: Mapped[int] = mapped_column(Integer)
    coverage: Mapped[float] = mapped_column(Float)  # mean of the daily punch coverage
    present_cells: Mapped[int] = mapped_column(Integer)  # trainee-days present
    day_coverage_json: Mapped[str] = mapped_column(Text)
    session_coverage_json: Mapped[str] = mapped_column(Text)
    missing_sessions_json: Mapped[str] = mapped_column(Text)  # [[day index, session index], ...]
    trainee_ids: Mapped[bytes] = mapped_column(LargeBinary)  # .npy int64, row order of the matrices
    codes: Mapped[bytes] = mapped_column(LargeBinary)  # .npy int8 (trainees, days), attendance.presence.Reason
    session_codes: Mapped[bytes] = mapped_column(LargeBinary)  # .npy int8 (trainees, days, sessions)
