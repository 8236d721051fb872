"""Classroom footage: the registry, legal holds, retention deletions, review clips, the hash-chained
audit log and scheduled job runs.

A footage row outlives its file: when the retention sweep purges a file the row stays with status
`deleted` and a `retention_deletion` record, so "what existed and when was it destroyed" can always be
answered. `retain_until` is the last day the file must be kept (inclusive); it may only grow (a
database trigger refuses lowering it). `audit_log` is append-only at the database level (triggers).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, BigId, utcnow

FOOTAGE_STATUSES = ("ok", "defective", "missing", "altered", "deleted")


class Footage(Base):
    """One video file recorded by a camera at a site, with what OpenCV read from it."""

    __tablename__ = "footage"
    # Few indexes on purpose (and fillfactor 60 on PostgreSQL, set in migration 0004): PostgreSQL
    # writes a new version of every row the sweep marks deleted, into every index unless the new
    # version fits the same page (HOT).
    __table_args__ = (Index("ix_footage_site_day", "site_id", "first_day", "last_day"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    camera: Mapped[str] = mapped_column(String(64))
    start_utc: Mapped[datetime] = mapped_column(DateTime)
    end_utc: Mapped[datetime] = mapped_column(DateTime)
    first_day: Mapped[date] = mapped_column(Date)  # site-local day of start_utc
    last_day: Mapped[date] = mapped_column(Date)  # site-local day of end_utc
    key: Mapped[str] = mapped_column(String(1000), unique=True)  # relative key in the footage store
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    container: Mapped[str | None] = mapped_column(String(16))
    codec: Mapped[str | None] = mapped_column(String(8))  # fourcc as OpenCV reports it
    fps: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="ok")  # FOOTAGE_STATUSES
    defect_reason: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    registered_by: Mapped[str | None] = mapped_column(String(100))
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_missing_at: Mapped[datetime | None] = mapped_column(DateTime)
    retain_until: Mapped[date] = mapped_column(Date)  # keep through this day (inclusive)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class FootageDigest(Base):
    """The digest the nightly verification re-checks (BLAKE3, hex), computed with the SHA-256 of record
    from the same read at registration. Kept out of `footage` so the rows the retention sweep updates
    stay as narrow as they were. A file registered before this table existed has no row until its
    first verification, which checks the SHA-256 and records the BLAKE3 from the same read."""

    __tablename__ = "footage_digest"
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id"), primary_key=True, autoincrement=False)
    blake3: Mapped[str] = mapped_column(String(64))


class LegalHold(Base):
    """Keeps footage regardless of its retain-until date until released. Scope: one class (every
    footage overlapping it at its site) or one footage file."""

    __tablename__ = "legal_hold"
    __table_args__ = (
        Index("ix_legal_hold_footage_active", "footage_id", "released_at"),
        Index("ix_legal_hold_class_active", "class_id", "released_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_class.id"))
    footage_id: Mapped[int | None] = mapped_column(ForeignKey("footage.id"))
    reason: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="inspector")  # inspector | inspection | integrity
    reference: Mapped[str | None] = mapped_column(String(100))  # e.g. the sampling inspection id
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(100))
    released_at: Mapped[datetime | None] = mapped_column(DateTime)
    release_reason: Mapped[str | None] = mapped_column(Text)


class RetentionDeletion(Base):
    """One retention sweep that deleted footage: when, on what day's rule, by which job run, and what
    became of the files. The footage rows it deleted carry `status='deleted'` and `deleted_at` equal
    to this record's `deleted_at` (unique, so the link is exact), and keep their key, SHA-256, size
    and retain-until date; the audit log lists their ids. One row per sweep, not per file: a backlog
    of hundreds of thousands of expired files is recorded without writing as many rows twice."""

    __tablename__ = "retention_deletion"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(DateTime, unique=True)  # = footage.deleted_at of its files
    today: Mapped[date] = mapped_column(Date)  # the day whose rule was applied
    actor: Mapped[str] = mapped_column(String(100))
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    count: Mapped[int] = mapped_column(Integer)
    first_footage_id: Mapped[int] = mapped_column(BigInteger)
    last_footage_id: Mapped[int] = mapped_column(BigInteger)
    # files: None until every file was attempted (the next sweep finishes a crashed or failed one)
    files_done_at: Mapped[datetime | None] = mapped_column(DateTime)
    files_removed: Mapped[int] = mapped_column(Integer, default=0)
    files_already_gone: Mapped[int] = mapped_column(Integer, default=0)
    gone_ids: Mapped[str | None] = mapped_column(Text)  # JSON ids whose file was not there any more
    pending_ids: Mapped[str | None] = mapped_column(Text)  # JSON ids whose removal failed, retried next sweep


class FootageClip(Base):
    """A browser-playable review clip cut from footage, with the original time window it shows."""

    __tablename__ = "footage_clip"
    id: Mapped[int] = mapped_column(primary_key=True)
    footage_id: Mapped[int] = mapped_column(ForeignKey("footage.id"), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    window_start_utc: Mapped[datetime] = mapped_column(DateTime)  # timestamp of the first clip frame
    window_end_utc: Mapped[datetime] = mapped_column(DateTime)  # timestamp of the last clip frame
    first_frame: Mapped[int] = mapped_column(Integer)  # index in the source file
    last_frame: Mapped[int] = mapped_column(Integer)
    frame_step: Mapped[int] = mapped_column(Integer, default=1)
    frame_count: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float] = mapped_column(Float)
    codec: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditLog(Base):
    """Append-only, hash-chained: hash = sha256(prev_hash + canonical JSON of the entry)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class JobRun(Base):
    """One claimed run of a scheduled job for a logical date; the unique key stops a second
    scheduler from running the same job for the same day."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "logical_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    logical_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | ok | failed
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    lease_until: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    outcome: Mapped[str | None] = mapped_column(Text)  # JSON
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)

