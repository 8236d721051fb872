"""Sampling inspections (抽样检查) of classes: the plan and draw, the sampled sessions with their
review windows, inspectors' verdicts, decisions, and each institution's switching state.

Verdicts and decisions are append-only (database triggers refuse UPDATE and DELETE): a second
inspector's verdict, or a corrected one, is a new row next to the first. An inspection row changes
only when it is closed. The ordered population is stored with the draw, so the draw can be redone
from the seed; no foreign keys point into other areas' tables except the core ones.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, utcnow

INSPECTION_STATUSES = ("open", "closed")
INSPECTION_KINDS = ("no_records", "spot_check")


class SamplingInspection(Base):
    """One sampling inspection of one class."""

    __tablename__ = "sampling_inspection"
    __table_args__ = (Index("ix_sampling_inspection_class_status", "class_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="no_records")  # INSPECTION_KINDS
    status: Mapped[str] = mapped_column(String(8), default="open")  # INSPECTION_STATUSES
    method: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16), default="normal")  # switching state at opening
    plan_json: Mapped[str] = mapped_column(Text)  # sampling.plan.Plan.to_json(), conventions included
    population_size: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    acceptance: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str] = mapped_column(String(200))
    seed_source: Mapped[str] = mapped_column(String(16))  # given | generated
    population_hash: Mapped[str] = mapped_column(String(64))
    population_json: Mapped[str] = mapped_column(Text)  # ordered sessions: key, day, index, times, stratum
    draw_json: Mapped[str] = mapped_column(Text)  # strata, allocation, selection order, skipped counters
    hold_reference: Mapped[str | None] = mapped_column(String(100))
    hold_error: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision: Mapped[str | None] = mapped_column(String(16))  # pass | fail, copied from the last decision
    upper_bound: Mapped[int | None] = mapped_column(Integer)


class SamplingItem(Base):
    """A sampled session and the review window inside it."""

    __tablename__ = "sampling_item"
    __table_args__ = (UniqueConstraint("inspection_id", "session_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("sampling_inspection.id"), index=True)
    draw_order: Mapped[int] = mapped_column(Integer)  # 1-based order of selection
    population_position: Mapped[int] = mapped_column(Integer)  # 1-based position in the ordered population
    session_key: Mapped[str] = mapped_column(String(64))  # "<day>/<session index>"
    day: Mapped[date] = mapped_column(Date)
    session_index: Mapped[int] = mapped_column(Integer)
    stratum: Mapped[str] = mapped_column(String(16))  # ISO week, e.g. 2026-W10
    start_utc: Mapped[datetime] = mapped_column(DateTime)
    end_utc: Mapped[datetime] = mapped_column(DateTime)
    window_start_utc: Mapped[datetime] = mapped_column(DateTime)
    window_end_utc: Mapped[datetime] = mapped_column(DateTime)
    footage_id: Mapped[int | None] = mapped_column(Integer)  # footage area's id (no FK across areas)
    clip_id: Mapped[int | None] = mapped_column(Integer)
    clip_path: Mapped[str | None] = mapped_column(String(1000))
    clip_problem: Mapped[str | None] = mapped_column(String(16))  # missing | unreadable | altered
    prescreen_json: Mapped[str | None] = mapped_column(Text)  # face counts, trainees identified


class SamplingVerdict(Base):
    """An inspector's verdict on one sampled session. Append-only."""

    __tablename__ = "sampling_verdict"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("sampling_item.id"), index=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("sampling_inspection.id"), index=True)
    inspector: Mapped[str] = mapped_column(String(100))
    inspector_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    held_as_declared: Mapped[bool] = mapped_column(Boolean)
    head_count: Mapped[int | None] = mapped_column(Integer)
    footage_problem: Mapped[str | None] = mapped_column(String(16))  # missing | unreadable | altered
    notes: Mapped[str | None] = mapped_column(Text)


class SamplingDecision(Base):
    """An evaluation of an inspection: decision, bad sessions, exact upper bound. Append-only."""

    __tablename__ = "sampling_decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("sampling_inspection.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))  # pass | fail | incomplete
    bad: Mapped[int] = mapped_column(Integer)
    reviewed: Mapped[int] = mapped_column(Integer)
    upper_bound: Mapped[int] = mapped_column(Integer)
    evaluation_json: Mapped[str] = mapped_column(Text)


class SamplingSwitching(Base):
    """The ISO 2859-1 switching state of one institution (its classes are the series of lots)."""

    __tablename__ = "sampling_switching"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), unique=True)
    severity: Mapped[str] = mapped_column(String(16), default="normal")
    state_json: Mapped[str] = mapped_column(Text)
    last_inspection_id: Mapped[int | None] = mapped_column(ForeignKey("sampling_inspection.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
