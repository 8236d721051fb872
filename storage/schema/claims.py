"""Subsidy claims and the records they rest on: employment contracts, certificates, final assessment.

A claim is versioned per class. Its amounts and lines are frozen once it leaves the draft state: the
service refuses to change them and database triggers (migration 0006) refuse too, so recomputing
after a late replay or a new contract makes a new version instead of silently moving a filed figure.
Presence runs and inspections are referenced by plain integer ids (no foreign key), so this branch
does not depend on the presence and sampling migrations.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, BigId, utcnow

CLAIM_STATES = ("draft", "submitted", "approved", "rejected")


class EmploymentRecord(Base):
    """就业协议 / 劳动合同: a trainee's contract after training, with where its evidence is filed."""

    __tablename__ = "employment_record"
    __table_args__ = (UniqueConstraint("trainee_id", "employer", "contract_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainee.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_class.id"), index=True)
    employer: Mapped[str] = mapped_column(String(200))
    contract_start: Mapped[date] = mapped_column(Date)
    contract_months: Mapped[int] = mapped_column(Integer)
    evidence_ref: Mapped[str | None] = mapped_column(String(400))  # file name / archive number of the contract
    source: Mapped[str | None] = mapped_column(String(200))  # import file
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CertificationRecord(Base):
    """职业技能等级证书: one certificate; `first_time` is false when the trainee held this level already."""

    __tablename__ = "certification_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainee.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_class.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))  # junior | intermediate | senior
    certificate_no: Mapped[str] = mapped_column(String(64), unique=True)
    occupation: Mapped[str | None] = mapped_column(String(100))
    issued_date: Mapped[date] = mapped_column(Date)
    first_time: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AssessmentResult(Base):
    """结业考核: whether a trainee passed the class's final assessment (the employment rate's base)."""

    __tablename__ = "assessment_result"
    __table_args__ = (UniqueConstraint("class_id", "trainee_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainee.id"), index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Claim(Base):
    """One version of a class's subsidy claim, with the evidence it was computed from."""

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("class_id", "version"),
        CheckConstraint("state IN ('draft', 'submitted', 'approved', 'rejected')", name="state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    kind: Mapped[str] = mapped_column(String(32))  # project | enterprise | certification
    total_fen: Mapped[int] = mapped_column(BigInteger)
    payable: Mapped[bool] = mapped_column(Boolean)
    presence_run_id: Mapped[int | None] = mapped_column(Integer)  # presence run used (presence area)
    has_punch_records: Mapped[bool] = mapped_column(Boolean)
    inspection_id: Mapped[int | None] = mapped_column(Integer)  # sampling inspection used, if any
    inspection_decision: Mapped[str | None] = mapped_column(String(8))  # pass | fail
    scheduled_days: Mapped[int] = mapped_column(Integer)
    passed_count: Mapped[int] = mapped_column(Integer)
    employed_count: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(Text)  # JSON: class reasons, notes, rates used, sources
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class ClaimLine(Base):
    """One amount for one trainee in a claim version; reasons are codes of `subsidy.reasons`."""

    __tablename__ = "claim_line"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainee.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # project | general | enterprise | certification
    days: Mapped[int] = mapped_column(Integer)
    base_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reasons: Mapped[str] = mapped_column(String(400), default="")  # comma-separated codes
    level: Mapped[str | None] = mapped_column(String(16))
    certificate_no: Mapped[str | None] = mapped_column(String(64))


class ClaimEvent(Base):
    """A state change of a claim: who, when, from and to, and why. Append-only."""

    __tablename__ = "claim_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
