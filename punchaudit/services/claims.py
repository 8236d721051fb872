"""Claims use cases: build a class's claim from its evidence, move it through its states, write the
claim package, import employment / certificate / assessment records, and report district targets.

Evidence comes from other areas through two narrow loaders (`load_presence`, `load_inspection`);
`build_claim` accepts them ready-made too, which is how the tests drive classes whose presence was
computed elsewhere. Amounts are frozen once a claim is submitted: rebuilding makes a new version.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance import resident_id as rid
from punchaudit.config import Settings
from storage import claims as repo
from storage.schema.claims import Claim
from storage.schema.core import Institution, Trainee, TrainingClass
from subsidy import forms, records, targets
from subsidy.claim import ClassEvidence, ClassResult, Line, TraineeEvidence, evaluate_class
from subsidy.reasons import by_code
from subsidy.rules import Rates, format_yuan

log = logging.getLogger("punchaudit.claims")
ClaimStateError = repo.ClaimStateError


class NotFound(LookupError):
    """No such class or claim, or one the caller may not see."""


class ImportRejected(ValueError):
    """Nothing was imported; `errors` lists every bad row with its number and reason."""

    def __init__(self, errors: list[Any]) -> None:
        self.errors = [str(e) for e in errors]
        super().__init__(f"{len(errors)} bad row(s): " + "; ".join(self.errors[:10]))


@dataclass(frozen=True)
class PresenceEvidence:
    """What a claim needs from a presence run."""

    run_id: int | None
    scheduled_days: int
    has_punch_records: bool
    attended_days: dict[int, int] = field(default_factory=dict)  # trainee id -> verified attended days
    computed_at: str | None = None
    days_without_records: int | None = None  # None: no day has punch records


@dataclass(frozen=True)
class InspectionEvidence:
    inspection_id: int | None = None
    decision: str | None = None  # pass | fail | None (none, open or incomplete)
    closed_at: str | None = None


def rates(settings: Settings) -> Rates:
    return Rates.from_config(settings.subsidy)


def _class(session: Session, class_code: str, scope: int | None) -> TrainingClass:
    cls = session.scalar(select(TrainingClass).where(TrainingClass.code == class_code))
    if cls is None or (scope is not None and cls.institution_id != scope):
        raise NotFound(f"class {class_code} not found")
    return cls


def _claim(session: Session, claim_id: int, scope: int | None) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None or (scope is not None and claim.institution_id != scope):
        raise NotFound(f"claim {claim_id} not found")
    return claim


def load_presence(session: Session, cls: TrainingClass) -> PresenceEvidence:
    """The latest presence run of the class, through the presence area's `claim_evidence` (attended
    days = days coded present or late). Without a run: no verified days and no punch records."""
    try:
        from storage import presence as presence_repo
        from storage.schema.presence import PresenceRun
    except ImportError:  # presence area not installed
        return PresenceEvidence(None, 0, False)
    found = presence_repo.claim_evidence(session, cls.id)
    if found is None:
        return PresenceEvidence(None, 0, False)
    run = session.get(PresenceRun, found["run_id"])
    without = None if run is None else int(run.day_count) - int(run.days_with_records)
    return PresenceEvidence(int(found["run_id"]), int(found["scheduled_days"]), bool(found["has_punch_records"]),
                            {int(t): int(a) for t, a in found["attended_days"].items()}, found.get("computed_at"),
                            without)


def load_inspection(session: Session, cls: TrainingClass) -> InspectionEvidence:
    """The latest sampling inspection of the class for missing punch records (sampling area)."""
    try:
        from storage.schema.sampling import SamplingInspection
    except ImportError:
        return InspectionEvidence()
    insp = session.scalar(select(SamplingInspection)
                          .where(SamplingInspection.class_id == cls.id, SamplingInspection.kind == "no_records")
                          .order_by(SamplingInspection.id.desc()).limit(1))
    if insp is None:
        return InspectionEvidence()
    decision = insp.decision if insp.status == "closed" and insp.decision in ("pass", "fail") else None
    return InspectionEvidence(insp.id, decision, repo.stamp(insp.closed_at))


def build_claim(session: Session, settings: Settings, class_code: str, actor: str, *, scope: int | None = None,
                presence: PresenceEvidence | None = None, inspection: InspectionEvidence | None = None) -> Claim:
    """A new draft version of the class's claim from the latest evidence. Earlier versions, whatever
    their state, are left exactly as they were."""
    cls = _class(session, class_code, scope)
    presence = presence or load_presence(session, cls)
    inspection = inspection or load_inspection(session, cls)
    people = repo.enrolled_trainees(session, cls.id)
    ids = [t.id for t in people]
    jobs = repo.employment_records(session, ids, cls.id)
    results = repo.assessment(session, cls.id)
    certs = repo.class_certificates(session, cls.id)
    evidence = ClassEvidence(
        cls.id, cls.kind if cls.kind in ("project", "enterprise", "certification") else "project",  # type: ignore[arg-type]
        presence.scheduled_days, presence.has_punch_records, presence.run_id, inspection.inspection_id,
        inspection.decision,  # type: ignore[arg-type]
        tuple(TraineeEvidence(t.id, presence.attended_days.get(t.id, 0), results.get(t.id, not results),
                              jobs[t.id].contract_months if t.id in jobs else None,
                              tuple(certs.get(t.id, ()))) for t in people),
        presence.days_without_records)
    r = rates(settings)
    result = evaluate_class(evidence, r)
    claim = repo.insert_claim(
        session, cls, result, actor=actor, scheduled_days=presence.scheduled_days, presence_run_id=presence.run_id,
        has_punch_records=presence.has_punch_records, inspection_id=inspection.inspection_id,
        inspection_decision=inspection.decision,
        evidence=_evidence_json(result, r, presence, inspection, assessed=bool(results))
        | {"trainees": _trainee_evidence(ids, jobs, results)})
    log.info("claim built", extra={"class": cls.code, "claim": claim.id, "version": claim.version,
                                   "total_fen": claim.total_fen, "payable": claim.payable})
    return claim


def _trainee_evidence(ids: list[int], jobs: dict[int, Any], results: dict[int, bool]) -> dict[str, Any]:
    """What each trainee's figures rested on, frozen with the claim: a later correction of a
    contract or an assessment result changes the next version, not this one's package."""
    return {str(t): {"passed": results.get(t) if results else None,
                     "employer": jobs[t].employer if t in jobs else None,
                     "contract_months": jobs[t].contract_months if t in jobs else None,
                     "contract_start": jobs[t].contract_start.isoformat() if t in jobs else None,
                     "evidence_ref": jobs[t].evidence_ref if t in jobs else None} for t in ids}


def _evidence_json(result: ClassResult, r: Rates, presence: PresenceEvidence, inspection: InspectionEvidence,
                   assessed: bool) -> dict[str, Any]:
    rate = result.employment_rate
    return {
        "class_reasons": [x.code for x in result.class_reasons],
        "notes": list(result.notes) + ([] if assessed else ["no_assessment_results"]),
        "employment_rate": None if rate is None else [result.employed, result.passed],
        "employment_met": result.employment_met,
        "presence_computed_at": presence.computed_at,
        "inspection_closed_at": inspection.closed_at,
        "rates": {k: (str(v) if not isinstance(v, (int, bool, tuple)) else v) for k, v in r.__dict__.items()},
    }


def transition(session: Session, claim_id: int, action: str, actor: str, *, scope: int | None = None,
               note: str | None = None) -> Claim:
    claim = repo.transition(session, _claim(session, claim_id, scope), action, actor, note)
    log.info("claim %s", claim.state, extra={"claim": claim.id, "actor": actor})
    return claim


def list_claims(session: Session, *, scope: int | None = None, class_code: str | None = None,
                state: str | None = None) -> list[dict[str, Any]]:
    class_id = _class(session, class_code, scope).id if class_code else None
    codes = dict(session.execute(select(TrainingClass.id, TrainingClass.code)).all())
    return [summary(c, codes.get(c.class_id, "?")) for c in repo.list_claims(session, scope, class_id, state)]


def summary(claim: Claim, class_code: str) -> dict[str, Any]:
    ev = json.loads(claim.evidence)
    rate = ev.get("employment_rate")
    return {
        "id": claim.id, "class_code": class_code, "class_id": claim.class_id, "institution_id": claim.institution_id,
        "version": claim.version, "state": claim.state, "kind": claim.kind, "total_fen": claim.total_fen,
        "total_yuan": format_yuan(claim.total_fen), "payable": claim.payable, "presence_run_id": claim.presence_run_id,
        "has_punch_records": claim.has_punch_records, "inspection_id": claim.inspection_id,
        "inspection_decision": claim.inspection_decision, "passed": claim.passed_count,
        "employed": claim.employed_count, "employment_rate": None if rate is None else f"{rate[0]}/{rate[1]}",
        "reasons": [by_code(c).as_dict() for c in ev["class_reasons"]], "notes": ev["notes"],
        "created_by": claim.created_by, "created_at": repo.stamp(claim.created_at),
        "submitted_at": repo.stamp(claim.submitted_at), "decided_at": repo.stamp(claim.decided_at),
    }


def detail(session: Session, claim_id: int, *, scope: int | None = None) -> dict[str, Any]:
    """Summary, lines with reasons (trainees by masked ID) and the state history."""
    claim = _claim(session, claim_id, scope)
    cls = session.get(TrainingClass, claim.class_id)
    people = {t.id: t for t in session.scalars(select(Trainee).where(
        Trainee.id.in_([l.trainee_id for l in repo.lines(session, claim.id)])))}
    out = summary(claim, cls.code if cls else "?")
    out["lines"] = [{"trainee_id": l.trainee_id, "name": people[l.trainee_id].name,
                     "id_masked": people[l.trainee_id].id_masked, "kind": l.kind, "days": l.days,
                     "base_fen": l.base_fen, "amount_fen": l.amount_fen, "level": l.level,
                     "certificate_no": l.certificate_no,
                     "reasons": [by_code(c).as_dict() for c in l.reasons.split(",") if c]}
                    for l in repo.lines(session, claim.id)]
    out["events"] = [{"from": e.from_state, "to": e.to_state, "actor": e.actor, "at": repo.stamp(e.at), "note": e.note}
                     for e in repo.events(session, claim.id)]
    return out


def _package(session: Session, claim: Claim, language: str, applicant: forms.Applicant | None) -> forms.Package:
    cls = session.get(TrainingClass, claim.class_id)
    inst = session.get(Institution, claim.institution_id)
    assert cls is not None and inst is not None
    stored = repo.lines(session, claim.id)
    ids = list(dict.fromkeys(l.trainee_id for l in stored))
    people = {t.id: t for t in session.scalars(select(Trainee).where(Trainee.id.in_(ids)))}
    frozen = json.loads(claim.evidence).get("trainees", {})
    lines = [Line(l.trainee_id, l.kind, l.days, l.base_fen, l.amount_fen,  # type: ignore[arg-type]
                  tuple(by_code(c) for c in l.reasons.split(",") if c), l.level, l.certificate_no) for l in stored]
    roster = []
    for t in ids:
        ev = frozen.get(str(t), {})
        roster.append(forms.RosterRow(
            people[t].name, people[t].gender, people[t].id_masked, people[t].target_group, people[t].phone,
            max((l.days for l in lines if l.trainee_id == t), default=0), ev.get("passed"), ev.get("employer"),
            ev.get("contract_months"), tuple(l for l in lines if l.trainee_id == t), ev.get("evidence_ref")))
    events = tuple((repo.stamp(e.at) or "", e.from_state or "", e.to_state, e.actor, e.note or "")
                   for e in repo.events(session, claim.id))
    r = Rates.from_config(_RatesView(json.loads(claim.evidence)["rates"]))
    return forms.Package(inst.name, cls.code, cls.name, claim.kind, cls.occupation, cls.start_date, cls.end_date, r,
                         tuple(roster), _evidence_rows(claim, cls, inst, language), events,
                         applicant or forms.Applicant())


class _RatesView:
    """The rates frozen in a claim's evidence, read back as a config section."""

    def __init__(self, data: dict[str, Any]) -> None:
        for k, v in data.items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)


def _evidence_rows(claim: Claim, cls: TrainingClass, inst: Institution, lang: str) -> tuple[tuple[str, str], ...]:
    ev = json.loads(claim.evidence)
    zh = lang != "en"
    yes, no = ("是", "否") if zh else ("yes", "no")
    rate = ev.get("employment_rate")
    rate_text = ("—" if rate is None else
                 f"{rate[0]}/{rate[1]} = {targets.percent(Fraction(rate[0], rate[1]))}")
    decision = {"pass": "合格" if zh else "pass", "fail": "不合格" if zh else "fail"}.get(
        claim.inspection_decision or "", ("不需要（有打卡记录）" if zh else "not needed (punch records)")
        if claim.has_punch_records else ("未完成" if zh else "not decided"))
    reasons = "；".join(by_code(c).text(lang) for c in ev["class_reasons"]) or ("无" if zh else "none")
    notes = {"days_from_schedule": ("打卡记录不完整，抽验合格：有记录的日期按核验出勤、无记录的日期按计划计算" if zh else
                                    "punch records incomplete, inspection passed: verified days where records "
                                    "exist plus every day without records"),
             "no_assessment_results": ("未导入结业考核成绩：全部学员按合格计" if zh else
                                       "no final assessment results imported: every trainee counted as passed")}
    rows = [
        ("班级" if zh else "Class", f"{cls.code} {cls.name}"),
        ("培训机构" if zh else "Institution", f"{inst.name}（{inst.district or '—'}）"),
        ("申请版本 / 状态" if zh else "Claim version / state", f"v{claim.version} / {claim.state}"),
        ("生成时间（UTC） / 生成人" if zh else "Built (UTC) / by", f"{repo.stamp(claim.created_at)} / {claim.created_by}"),
        ("出勤核验运算编号" if zh else "Presence run used", str(claim.presence_run_id or ("无" if zh else "none"))),
        ("出勤运算时间" if zh else "Presence computed at", ev.get("presence_computed_at") or "—"),
        ("每日打卡记录" if zh else "Daily punch records", yes if claim.has_punch_records else no),
        ("计划培训天数" if zh else "Scheduled training days", str(claim.scheduled_days)),
        ("抽验编号" if zh else "Sampling inspection", str(claim.inspection_id or "—")),
        ("抽验结论" if zh else "Inspection decision", decision),
        ("结业考核合格人数" if zh else "Trainees who passed", str(claim.passed_count)),
        ("就业人数（合同≥6个月）" if zh else "Employed (contract >= 6 months)", str(claim.employed_count)),
        ("就业率" if zh else "Employment rate", rate_text),
        ("达到就业率要求" if zh else "Employment rate reached",
         "—" if ev.get("employment_met") is None else (yes if ev["employment_met"] else no)),
        ("班级扣减原因" if zh else "Class-level reductions", reasons),
        ("申请补贴合计（元）" if zh else "Total claimed (CNY)", format_yuan(claim.total_fen)),
        ("身份证号说明" if zh else "Resident IDs",
         "名册中身份证号为脱敏显示：系统只保存脱敏号码和密钥哈希，不保存完整号码" if zh else
         "masked in the roster: the service stores only the masked number and a keyed hash"),
    ]
    rows += [("说明" if zh else "Note", notes[n]) for n in ev["notes"] if n in notes]
    return tuple(rows)


def package_bytes(session: Session, settings: Settings, claim_id: int, *, scope: int | None = None,
                  language: str | None = None, applicant: forms.Applicant | None = None) -> tuple[str, bytes]:
    """(file name, XLSX bytes) of the claim package in the settings' language unless given. Bank
    details and textbooks (annex 2 fields the service does not hold) are blank unless given."""
    claim = _claim(session, claim_id, scope)
    lang = language or settings.language
    p = _package(session, claim, lang, applicant)
    return f"claim_{p.class_code}_v{claim.version}_{lang}.xlsx", forms.workbook_bytes(p, lang)


def write_package(session: Session, settings: Settings, claim_id: int, out_dir: Path, *,
                  language: str | None = None, applicant: forms.Applicant | None = None) -> Path:
    name, data = package_bytes(session, settings, claim_id, language=language, applicant=applicant)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_bytes(data)
    return path


def import_records(session: Session, settings: Settings, kind: records.RecordKind, filename: str, data: bytes, *,
                   scope: int | None = None) -> int:
    """Import employment, certificate or assessment rows; all or nothing. Trainees are found by the
    keyed hash of their resident ID and must be visible to the caller; class codes must exist."""
    rows, errors = records.parse(kind, data, filename)
    key = settings.secret_key.encode()
    resolved: list[tuple[records.Row, int, int | None]] = []
    for row in rows:
        trainee = session.scalar(select(Trainee).where(Trainee.id_hash == rid.keyed_hash(row.resident_id, key)))
        if trainee is None:
            errors.append(records.RowError(row.row_no, f"unknown trainee {rid.mask(row.resident_id)}"))
            continue
        class_id = None
        if row.values.get("class_code"):
            try:
                class_id = _class(session, row.values["class_code"], scope).id
            except NotFound as exc:
                errors.append(records.RowError(row.row_no, str(exc)))
                continue
        elif scope is not None:
            errors.append(records.RowError(row.row_no, "class_code is required for a site key"))
            continue
        resolved.append((row, trainee.id, class_id))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.row_no))
    source = Path(filename).name
    if kind == "employment":
        return repo.save_employment(session, [repo.EmploymentRow(
            t, r.values["employer"], r.values["contract_start"], r.values["contract_months"], c,
            r.values.get("evidence_ref")) for r, t, c in resolved], source)
    if kind == "certificates":
        return repo.save_certificates(session, [repo.CertificateRow(
            t, r.values["level"], r.values["certificate_no"], r.values["issued_date"], r.values["first_time"], c,
            r.values.get("occupation")) for r, t, c in resolved], source)
    by_class: dict[int, dict[int, bool]] = {}
    for r, t, c in resolved:
        by_class.setdefault(c or 0, {})[t] = r.values["passed"]
    return sum(repo.save_assessment(session, c, res, source) for c, res in by_class.items())


def targets_report(session: Session, settings: Settings, years: list[int] | None = None
                   ) -> tuple[list[targets.TargetRow], dict[str, int]]:
    """Rows per district, year and measure, and verified counts of districts not in annex 1."""
    counts = repo.verified_counts(session, settings.subsidy.claim_count_states)
    unknown: dict[str, int] = {}
    for (district, _year, _m), n in counts.items():
        if district not in targets.ANNEX1:
            unknown[district or "—"] = unknown.get(district or "—", 0) + n
    return targets.report(counts, years), unknown  # type: ignore[arg-type]
