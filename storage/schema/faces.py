"""Face enrolments, verification results of punch photos, and the verification job state.

Encodings are stored as the raw bytes of a float32[128] array (512 bytes), the format the matrix code
loads without conversion. The core `punch_photo` table is left as the ingest wrote it; whether a photo
has been verified lives in `face_job`, keyed by the photo.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, BigId, utcnow


class FaceEnrolment(Base):
    """A trainee's reference face from a registration photo. One active row per trainee; a new
    enrolment deactivates the previous one, which is kept as history."""

    __tablename__ = "face_enrolment"
    __table_args__ = (
        Index(
            "uq_face_enrolment_active", "trainee_id", unique=True,
            sqlite_where=text("active = 1"), postgresql_where=text("active"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainee.id"), index=True)
    encoding: Mapped[bytes] = mapped_column(LargeBinary)  # float32[128]
    box_top: Mapped[int] = mapped_column(Integer)
    box_right: Mapped[int] = mapped_column(Integer)
    box_bottom: Mapped[int] = mapped_column(Integer)
    box_left: Mapped[int] = mapped_column(Integer)
    box_px: Mapped[int] = mapped_column(Integer)  # face width in the photo
    photo_sha256: Mapped[str] = mapped_column(String(64), index=True)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(16), default="upload")  # roster | upload | demo
    model: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime)


class FaceVerification(Base):
    """The check of one punch photo against the claimed trainee and the institution's other trainees.

    The presence matcher reads (punch_id, outcome): a mismatch or proxy_suspected photo does not count
    as presence. Re-verifying a photo replaces its row; model and thresholds used are recorded."""

    __tablename__ = "face_verification"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    punch_photo_id: Mapped[int] = mapped_column(BigId, ForeignKey("punch_photo.id"), unique=True)
    punch_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("punch.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainee.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("face_enrolment.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    # verified | review | mismatch | proxy_suspected | replay_suspected | no_face
    outcome: Mapped[str] = mapped_column(String(24), index=True)
    distance: Mapped[float | None] = mapped_column(Float)
    nearest_other_trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainee.id"))
    nearest_other_distance: Mapped[float | None] = mapped_column(Float)
    face_count: Mapped[int] = mapped_column(Integer, default=0)
    face_px: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32[128]; later photos are checked against it
    reason: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(64))
    tolerance: Mapped[float] = mapped_column(Float)
    review_upper: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FaceJob(Base):
    """Verification state of a punch photo. No row means not yet seen; `running` rows are claimed by a
    verifier and taken over after a lease, so a crashed worker does not lose a photo."""

    __tablename__ = "face_job"
    punch_photo_id: Mapped[int] = mapped_column(BigId, ForeignKey("punch_photo.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | running | done | skipped | error
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
