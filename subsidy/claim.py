"""A class's claim computed from its evidence: the narrow interface between verification (presence
runs, sampling decisions, employment and certificate records) and money.

The service fills `ClassEvidence` from the database; everything here is pure so that each figure on
a claim form can be recomputed and explained from the evidence alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from subsidy import reasons as R
from subsidy import rules
from subsidy.reasons import Reason
from subsidy.rules import Decision, Rates

ClassKind = Literal["project", "enterprise", "certification"]
LineKind = Literal["project", "general", "enterprise", "certification"]


@dataclass(frozen=True)
class CertificateEvidence:
    level: str  # junior | intermediate | senior
    certificate_no: str
    first_time: bool  # no certificate of this level before


@dataclass(frozen=True)
class TraineeEvidence:
    trainee_id: int
    attended_days: int  # verified by the presence run
    passed: bool = True  # 结业考核 passed
    contract_months: int | None = None  # longest labour contract / employment agreement on record
    certificates: tuple[CertificateEvidence, ...] = ()


@dataclass(frozen=True)
class ClassEvidence:
    class_id: int
    kind: ClassKind
    scheduled_days: int
    has_punch_records: bool
    presence_run_id: int | None = None
    inspection_id: int | None = None
    inspection_decision: Decision | None = None
    trainees: tuple[TraineeEvidence, ...] = ()
    days_without_records: int | None = None  # None: no day has records (all scheduled days)


@dataclass(frozen=True)
class Line:
    """One amount for one trainee; `base_fen` is the rate-card figure before class-level reductions."""

    trainee_id: int
    kind: LineKind
    days: int
    base_fen: int
    amount_fen: int
    reasons: tuple[Reason, ...] = ()
    level: str | None = None
    certificate_no: str | None = None


@dataclass(frozen=True)
class ClassResult:
    class_id: int
    kind: ClassKind
    lines: tuple[Line, ...]
    payable: bool
    class_reasons: tuple[Reason, ...]
    passed: int
    employed: int
    employment_rate: Fraction | None
    employment_met: bool | None  # None for kinds without the employment condition
    days_from_schedule: bool = False  # records incomplete, inspection passed: days without records are paid
    notes: tuple[str, ...] = field(default=())

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def _project_line(t: TraineeEvidence, days: int, day_reasons: list[Reason], met: bool, blocked: Reason | None,
                  rates: Rates) -> Line:
    base, why = rules.project_training_fen(days, rates)
    why = day_reasons + why
    kind: LineKind = "project" if met else "general"
    amount = base
    if blocked is not None:
        return Line(t.trainee_id, kind, days, base, 0, tuple(why + [blocked]))
    if not t.passed:
        return Line(t.trainee_id, kind, days, base, 0, tuple(why + [R.NOT_PASSED]))
    if met:
        if rates.settle_employed_only and not rules.qualifying_employment(t.contract_months, rates):
            amount, why = 0, why + [R.NOT_EMPLOYED]
    else:
        amount, capped = rules.general_subsidy_fen(amount, rates)
        why += capped
    return Line(t.trainee_id, kind, days, base, amount, tuple(why))


def _cert_lines(t: TraineeEvidence, rates: Rates) -> list[Line]:
    out = []
    for cert in t.certificates:
        amount, why = rules.certification_fen(cert.level, cert.first_time, rates)
        base = rates.cert_fen(cert.level) or 0
        out.append(Line(t.trainee_id, "certification", 0, base, amount, tuple(why), cert.level, cert.certificate_no))
    return out


def evaluate_class(ev: ClassEvidence, rates: Rates) -> ClassResult:
    """Every trainee's lines and the class-level verdicts (payability, employment rate)."""
    blocked = rules.payability(ev.has_punch_records, ev.inspection_decision) if ev.kind != "certification" else None
    if blocked is R.INSPECTION_PENDING and ev.presence_run_id is None:
        blocked = R.NO_PRESENCE_RUN  # nothing verified yet: say so rather than wait for an inspection
    # without complete punch records the declared days are the verified days plus the days without
    # records; they are paid only once the inspection passed, otherwise shown as refused
    declared = not ev.has_punch_records and ev.kind != "certification"
    from_schedule = declared and ev.inspection_decision == "pass"
    passed = sum(1 for t in ev.trainees if t.passed)
    employed = sum(1 for t in ev.trainees if t.passed and rules.qualifying_employment(t.contract_months, rates))
    rate = rules.employment_rate(passed, employed)
    met: bool | None = None
    class_reasons: list[Reason] = [blocked] if blocked else []
    lines: list[Line] = []
    if ev.kind == "project":
        met = rules.employment_condition_met(rate, rates)
        if not met:
            class_reasons.append(R.GENERAL_CAP)
    for t in ev.trainees:
        if declared:
            missing = ev.scheduled_days if ev.days_without_records is None else ev.days_without_records
            days, day_reasons = rules.inspected_days(t.attended_days, missing, ev.scheduled_days), []
        else:
            days, day_reasons = rules.counted_days(t.attended_days, ev.scheduled_days, rates)
        if ev.kind == "project":
            lines.append(_project_line(t, days, day_reasons, bool(met), blocked, rates))
        elif ev.kind == "enterprise":
            base, why = rules.enterprise_training_fen(days, rates)
            amount = 0 if blocked else base
            lines.append(Line(t.trainee_id, "enterprise", days, base, amount,
                              tuple(day_reasons + why + ([blocked] if blocked else []))))
        lines.extend(_cert_lines(t, rates))
    notes = ("days_from_schedule",) if from_schedule else ()
    return ClassResult(ev.class_id, ev.kind, tuple(lines), blocked is None, tuple(class_reasons), passed, employed,
                       rate, met, from_schedule, notes)
