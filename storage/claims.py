"""Repository for claims and the records behind them: load evidence, store versions, append events.

Lines of a claim are written once with their claim; after the claim leaves the draft state nothing
here updates them (the migration's triggers would refuse anyway).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.schema.base import utcnow
from storage.schema.claims import AssessmentResult, CertificationRecord, Claim, ClaimEvent, ClaimLine, EmploymentRecord
from storage.schema.core import Enrollment, Institution, Trainee, TrainingClass
from subsidy.claim import CertificateEvidence, ClassResult


class ClaimStateError(ValueError):
    """The requested transition is not allowed from the claim's current state."""


TRANSITIONS = {"submit": ("draft", "submitted"), "approve": ("submitted", "approved"),
               "reject": ("submitted", "rejected")}


@dataclass(frozen=True)
class EmploymentRow:
    trainee_id: int
    employer: str
    contract_start: date
    contract_months: int
    class_id: int | None = None
    evidence_ref: str | None = None


@dataclass(frozen=True)
class CertificateRow:
    trainee_id: int
    level: str
    certificate_no: str
    issued_date: date
    first_time: bool = True
    class_id: int | None = None
    occupation: str | None = None


def save_employment(session: Session, rows: Iterable[EmploymentRow], source: str | None = None) -> int:
    """Insert contracts; a contract already on file (same trainee, employer and start date) takes the
    imported length and evidence (a correction). Returns how many rows were new or changed."""
    changed = 0
    for row in rows:
        rec = session.scalar(select(EmploymentRecord).where(
            EmploymentRecord.trainee_id == row.trainee_id, EmploymentRecord.employer == row.employer,
            EmploymentRecord.contract_start == row.contract_start))
        if rec is None:
            session.add(EmploymentRecord(source=source, **row.__dict__))
            changed += 1
        elif (rec.contract_months, rec.evidence_ref, rec.class_id) != (row.contract_months, row.evidence_ref, row.class_id):
            rec.contract_months, rec.evidence_ref, rec.class_id, rec.source = (
                row.contract_months, row.evidence_ref, row.class_id, source)
            changed += 1
    session.flush()
    return changed


def save_certificates(session: Session, rows: Iterable[CertificateRow], source: str | None = None) -> int:
    """Insert certificates by number; a number already on file is skipped."""
    added = 0
    for row in rows:
        if session.scalar(select(CertificationRecord.id).where(CertificationRecord.certificate_no == row.certificate_no)):
            continue
        session.add(CertificationRecord(source=source, **row.__dict__))
        added += 1
    session.flush()
    return added


def save_assessment(session: Session, class_id: int, results: dict[int, bool], source: str | None = None) -> int:
    """Set each trainee's final-assessment result for the class (the latest import wins)."""
    existing = {r.trainee_id: r for r in session.scalars(select(AssessmentResult).where(AssessmentResult.class_id == class_id))}
    for trainee_id, passed in results.items():
        if trainee_id in existing:
            existing[trainee_id].passed = passed
            existing[trainee_id].source = source
        else:
            session.add(AssessmentResult(class_id=class_id, trainee_id=trainee_id, passed=passed, source=source))
    session.flush()
    return len(results)


def enrolled_trainees(session: Session, class_id: int) -> list[Trainee]:
    return list(session.scalars(select(Trainee).join(Enrollment, Enrollment.trainee_id == Trainee.id)
                                .where(Enrollment.class_id == class_id).order_by(Enrollment.id)))


def employment_records(session: Session, trainee_ids: Sequence[int], class_id: int) -> dict[int, EmploymentRecord]:
    """The longest contract record per trainee (for the roster's employer column)."""
    out: dict[int, EmploymentRecord] = {}
    for rec in session.scalars(select(EmploymentRecord).where(
            EmploymentRecord.trainee_id.in_(trainee_ids),
            (EmploymentRecord.class_id == class_id) | EmploymentRecord.class_id.is_(None))):
        if rec.trainee_id not in out or rec.contract_months > out[rec.trainee_id].contract_months:
            out[rec.trainee_id] = rec
    return out


def class_certificates(session: Session, class_id: int) -> dict[int, list[CertificateEvidence]]:
    """Certificates earned through this class. A certificate is first-time only if flagged so and the
    trainee has no earlier certificate of the same level on file (from any class)."""
    certs = list(session.scalars(select(CertificationRecord).where(CertificationRecord.class_id == class_id)
                                 .order_by(CertificationRecord.issued_date, CertificationRecord.id)))
    if not certs:
        return {}
    trainee_ids = {c.trainee_id for c in certs}
    history: dict[tuple[int, str], list[tuple[date, int]]] = defaultdict(list)
    for c in session.scalars(select(CertificationRecord).where(CertificationRecord.trainee_id.in_(trainee_ids))):
        history[(c.trainee_id, c.level)].append((c.issued_date, c.id))
    out: dict[int, list[CertificateEvidence]] = defaultdict(list)
    for c in certs:
        earlier = any(key < (c.issued_date, c.id) for key in history[(c.trainee_id, c.level)])
        out[c.trainee_id].append(CertificateEvidence(c.level, c.certificate_no, bool(c.first_time) and not earlier))
    return dict(out)


def assessment(session: Session, class_id: int) -> dict[int, bool]:
    return {r.trainee_id: bool(r.passed) for r in
            session.scalars(select(AssessmentResult).where(AssessmentResult.class_id == class_id))}


def latest_claim(session: Session, class_id: int) -> Claim | None:
    return session.scalar(select(Claim).where(Claim.class_id == class_id).order_by(Claim.version.desc()).limit(1))


def insert_claim(session: Session, cls: TrainingClass, result: ClassResult, *, actor: str, scheduled_days: int,
                 presence_run_id: int | None, has_punch_records: bool, inspection_id: int | None,
                 inspection_decision: str | None, evidence: dict[str, Any]) -> Claim:
    """A new draft version with its lines; earlier versions stay as they are."""
    version = (session.scalar(select(func.max(Claim.version)).where(Claim.class_id == cls.id)) or 0) + 1
    claim = Claim(class_id=cls.id, institution_id=cls.institution_id, version=version, state="draft", kind=result.kind,
                  total_fen=result.total_fen, payable=result.payable, presence_run_id=presence_run_id,
                  has_punch_records=has_punch_records, inspection_id=inspection_id,
                  inspection_decision=inspection_decision, scheduled_days=scheduled_days, passed_count=result.passed,
                  employed_count=result.employed, evidence=json.dumps(evidence, ensure_ascii=False, sort_keys=True),
                  created_by=actor)
    session.add(claim)
    session.flush()
    session.add_all([ClaimLine(claim_id=claim.id, trainee_id=line.trainee_id, kind=line.kind, days=line.days,
                               base_fen=line.base_fen, amount_fen=line.amount_fen,
                               reasons=",".join(r.code for r in line.reasons), level=line.level,
                               certificate_no=line.certificate_no) for line in result.lines])
    session.add(ClaimEvent(claim_id=claim.id, from_state=None, to_state="draft", actor=actor, note=f"version {version}"))
    session.flush()
    return claim


def transition(session: Session, claim: Claim, action: str, actor: str, note: str | None = None) -> Claim:
    """Move a claim along draft -> submitted -> approved | rejected and record who did it and when.
    Only the latest version of a class's claim may be submitted."""
    if action not in TRANSITIONS:
        raise ClaimStateError(f"unknown action {action!r}")
    source, target = TRANSITIONS[action]
    if claim.state != source:
        raise ClaimStateError(f"cannot {action} a claim that is {claim.state} (needs {source})")
    if action == "submit":
        latest = latest_claim(session, claim.class_id)
        if latest is not None and latest.id != claim.id:
            raise ClaimStateError(f"version {claim.version} is not the latest (version {latest.version} is)")
    now = utcnow()
    claim.state = target
    if action == "submit":
        claim.submitted_at = now
    else:
        claim.decided_at = now
    session.add(ClaimEvent(claim_id=claim.id, from_state=source, to_state=target, actor=actor, at=now, note=note))
    session.flush()
    return claim


def lines(session: Session, claim_id: int) -> list[ClaimLine]:
    return list(session.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim_id).order_by(ClaimLine.id)))


def events(session: Session, claim_id: int) -> list[ClaimEvent]:
    return list(session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)))


def list_claims(session: Session, institution_id: int | None = None, class_id: int | None = None,
                state: str | None = None) -> list[Claim]:
    query = select(Claim).order_by(Claim.class_id, Claim.version)
    if institution_id is not None:
        query = query.where(Claim.institution_id == institution_id)
    if class_id is not None:
        query = query.where(Claim.class_id == class_id)
    if state is not None:
        query = query.where(Claim.state == state)
    return list(session.scalars(query))


def verified_counts(session: Session, states: Sequence[str]) -> dict[tuple[str, int, str], int]:
    """Trainees with a paid line, per (district, year of the class's end, measure), counting each
    class's latest version in one of `states`; first-time certificates by issue year."""
    latest = (select(Claim.class_id, func.max(Claim.version).label("v")).where(Claim.state.in_(states))
              .group_by(Claim.class_id).subquery())
    rows = session.execute(
        select(Institution.district, TrainingClass.end_date, ClaimLine.kind, func.count(func.distinct(ClaimLine.trainee_id)))
        .select_from(Claim)
        .join(latest, (Claim.class_id == latest.c.class_id) & (Claim.version == latest.c.v))
        .join(ClaimLine, ClaimLine.claim_id == Claim.id)
        .join(TrainingClass, TrainingClass.id == Claim.class_id)
        .join(Institution, Institution.id == Claim.institution_id)
        .where(ClaimLine.amount_fen > 0, ClaimLine.kind != "certification")
        .group_by(Institution.district, TrainingClass.end_date, ClaimLine.kind))
    out: dict[tuple[str, int, str], int] = defaultdict(int)
    for district, end, kind, n in rows:
        measure = "enterprise" if kind == "enterprise" else "project"
        out[(district or "", end.year, measure)] += int(n)
    certs = session.execute(
        select(Institution.district, CertificationRecord.issued_date, func.count())
        .select_from(CertificationRecord)
        .join(TrainingClass, TrainingClass.id == CertificationRecord.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(CertificationRecord.first_time.is_(True))
        .group_by(Institution.district, CertificationRecord.issued_date))
    for district, issued, n in certs:
        out[(district or "", issued.year, "certificates")] += int(n)
    return dict(out)


def stamp(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
