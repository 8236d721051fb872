"""Sampling inspections of classes without punch records: plan, draw, open (legal hold), review
queue, verdicts, evaluation, close, and the monthly job.

Functions take an ORM session, flush and never commit: the CLI command or HTTP request owns the
transaction. The population (a class's sessions without punch records, with their times) comes
from the presence area through `class_population`; clips and the face pre-screen come from the
footage and faces areas through `prepare_item` and are optional: an inspection opens without them.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from punchaudit.config import Settings
from sampling import select as sel
from sampling.evaluate import FOOTAGE_PROBLEMS, Evaluation, evaluate, upper_bound_stratified
from sampling.plan import Plan, PlanError, make_plan
from sampling.switching import Discontinued, LotOutcome, step
from storage import sampling as repo
from storage.sampling import PopulationSession
from storage.schema.base import utcnow
from storage.schema.core import Enrollment, Site, Trainee, TrainingClass
from storage.schema.sampling import SamplingInspection, SamplingItem

log = logging.getLogger("punchaudit.sampling")


class SamplingError(Exception):
    """A sampling use case refused its input; the message is for the operator."""


class NotFound(SamplingError):
    pass


class Invalid(SamplingError):
    pass


class PopulationUnavailable(SamplingError):
    """No presence run (or schedule) tells which sessions of the class lack punch records."""


# --- the population -------------------------------------------------------------------------

def class_population(session: Session, settings: Settings, class_id: int, *, kind: str = "no_records") -> list[PopulationSession]:
    """The class's sessions without punch records (kind no_records) or all its sessions (spot_check),
    ordered by day and session."""
    from punchaudit.services import sampling_sources as sources

    try:
        pop = sources.presence_population(session, settings, class_id, kind=kind)
    except sources.PopulationUnavailable as exc:
        raise PopulationUnavailable(str(exc)) from None
    return sorted(pop, key=lambda p: (p.day, p.index))


# --- plan and draw (pure given the inputs) ----------------------------------------------------

@dataclass(frozen=True)
class PlanOptions:
    method: str = "hypergeometric"
    confidence: str = "0.95"
    tolerable_rate: str = "0.10"
    acceptance: int = 0
    aql: str = "2.5"
    level: str = "II"
    stratify: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, severity: str = "normal", **overrides: Any) -> PlanOptions:
        s = settings.sampling
        conf, rate = s.confidence, s.tolerable_rate
        if severity == "tightened":
            conf, rate = max(s.tightened_confidence, conf), min(s.tightened_tolerable_rate, rate)
        base = dict(method=s.method, confidence=repr(conf), tolerable_rate=repr(rate), acceptance=s.acceptance_number,
                    aql=s.iso_aql, level=s.iso_level, stratify=s.stratify_by_week)
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)  # type: ignore[arg-type]


def plan_for(population_size: int, opts: PlanOptions, severity: str = "normal") -> Plan:
    kwargs: dict[str, Any] = dict(confidence=opts.confidence, tolerable_rate=opts.tolerable_rate, acceptance=opts.acceptance)
    if opts.method == "iso2859":
        kwargs.update(aql=opts.aql, level=opts.level, severity=severity if severity != "discontinued" else "tightened")
    try:
        return make_plan(opts.method, population_size, **kwargs)
    except PlanError as exc:
        raise Invalid(str(exc)) from None
    except (ValueError, ZeroDivisionError):
        raise Invalid(f"confidence and tolerable rate must be decimals such as 0.95 and 0.10, "
                      f"got {opts.confidence!r} and {opts.tolerable_rate!r}") from None


@dataclass
class DrawResult:
    items: list[dict[str, Any]]
    draw: dict[str, Any]
    sample_size: int


def draw_sample(pop: Sequence[PopulationSession], plan: Plan, seed: str, window_minutes: int,
                stratify: bool) -> DrawResult:
    """The sampled sessions and their review windows; deterministic given the inputs."""
    n_total = len(pop)
    positions: list[tuple[int, int]] = []  # (population position 1-based, draw order)
    info: dict[str, Any] = {"algorithm": sel.ALGORITHM, "population_size": n_total, "plan_sample_size": plan.sample_size}
    if plan.census or plan.sample_size >= n_total:
        positions = [(i + 1, i + 1) for i in range(n_total)]
        info["design"] = "census"
    elif stratify and plan.method == "hypergeometric" and plan.acceptance == 0 and plan.defects:
        labels = sorted({p.stratum for p in pop})
        members = {lb: [i + 1 for i, p in enumerate(pop) if p.stratum == lb] for lb in labels}
        sizes = [len(members[lb]) for lb in labels]
        alloc, worst = sel.stratified_sizes(plan.sample_size, sizes, plan.defects, plan.alpha)
        order = 0
        skipped: dict[str, list[int]] = {}
        for label, d in sel.stratified_draw(seed, list(zip(labels, sizes)), alloc):
            skipped[label] = list(d.skipped)
            for local in d.order:
                order += 1
                positions.append((members[label][local - 1], order))
        info.update(design="stratified by ISO week, proportional allocation (largest remainder)",
                    strata=labels, stratum_sizes=sizes, allocation=alloc, worst_case_accept=str(worst),
                    worst_case_accept_float=float(worst), skipped=skipped, stratum_seed="<seed>/<stratum>",
                    note="n raised until every spread of D bad sessions over the weeks is caught with the plan's confidence")
    else:
        d = sel.sample_positions(seed, n_total, plan.sample_size)
        positions = [(pos, k + 1) for k, pos in enumerate(d.order)]
        info.update(design="simple random sample without replacement", skipped=list(d.skipped))
    info["selection_order"] = [pop[p - 1].key for p, _ in sorted(positions, key=lambda t: t[1])]
    items = []
    for pos, order in positions:
        s = pop[pos - 1]
        w0, w1 = sel.review_window(seed, s.key, s.start_utc, s.end_utc, window_minutes)
        items.append(dict(draw_order=order, population_position=pos, session_key=s.key, day=s.day,
                          session_index=s.index, stratum=s.stratum, start_utc=s.start_utc, end_utc=s.end_utc,
                          window_start_utc=w0, window_end_utc=w1))
    info["review_window_minutes"] = window_minutes
    return DrawResult(items, info, len(items))


def redraw_matches(session: Session, inspection_id: int) -> bool:
    """Re-run the stored draw from its population, plan and seed; True when it reproduces exactly."""
    row = _get(session, inspection_id)
    pop = repo.population(row)
    if sel.population_hash([p.key for p in pop]) != row.population_hash:
        return False
    draw = json.loads(row.draw_json)
    again = draw_sample(pop, Plan.from_json(json.loads(row.plan_json)), row.seed, draw["review_window_minutes"],
                        draw["design"].startswith("stratified"))
    stored = [(i.draw_order, i.session_key, i.window_start_utc, i.window_end_utc) for i in repo.items(session, row.id)]
    fresh = [(i["draw_order"], i["session_key"], i["window_start_utc"], i["window_end_utc"]) for i in again.items]
    return sorted(stored) == sorted(fresh) and again.draw["selection_order"] == draw["selection_order"]


# --- open / close -----------------------------------------------------------------------------

def _class(session: Session, class_id: int, scope: int | None = None) -> TrainingClass:
    cls = session.get(TrainingClass, class_id)
    if cls is None or (scope is not None and cls.institution_id != scope):
        raise NotFound(f"class {class_id} not found")
    return cls


def class_by_code(session: Session, code: str) -> TrainingClass:
    cls = session.scalar(select(TrainingClass).where(TrainingClass.code == code))
    if cls is None:
        raise NotFound(f"class {code!r} not found")
    return cls


def _get(session: Session, inspection_id: int, scope: int | None = None) -> SamplingInspection:
    row = repo.get(session, inspection_id)
    if row is None or (scope is not None and row.institution_id != scope):
        raise NotFound(f"inspection {inspection_id} not found")
    return row


def preview(session: Session, settings: Settings, class_id: int, *, population: Sequence[PopulationSession] | None = None,
            kind: str = "no_records", **overrides: Any) -> tuple[Plan, list[PopulationSession], str]:
    """The plan a class would get now (with its institution's switching severity), without storing."""
    cls = _class(session, class_id)
    pop = list(population) if population is not None else class_population(session, settings, class_id, kind=kind)
    if not pop:
        raise Invalid(f"class {cls.code} has no sessions without punch records: nothing to inspect")
    severity = repo.switching(session, cls.institution_id).severity
    if severity == "discontinued":
        raise Invalid(f"sampling inspection is discontinued for institution {cls.institution_id}: "
                      "its classes are not accepted by sampling until corrective action is accepted")
    opts = PlanOptions.from_settings(settings, severity, **overrides)
    return plan_for(len(pop), opts, severity), pop, severity


def open_inspection(
    session: Session, settings: Settings, class_id: int, *, actor: str, seed: str | None = None,
    population: Sequence[PopulationSession] | None = None, kind: str = "no_records", now: datetime | None = None,
    **overrides: Any,
) -> SamplingInspection:
    """Plan, draw, store, and put a legal hold on the class's footage until the inspection closes."""
    now = now or utcnow()
    cls = _class(session, class_id)
    if repo.list_inspections(session, class_id=class_id, status="open"):
        raise Invalid(f"class {cls.code} already has an open inspection")
    plan, pop, severity = preview(session, settings, class_id, population=population, kind=kind, **overrides)
    opts = PlanOptions.from_settings(settings, severity, **overrides)
    seed_source = "given" if seed else "generated"
    seed = seed or sel.new_seed()
    result = draw_sample(pop, plan, seed, settings.sampling.review_window_minutes, opts.stratify)
    row = repo.add_inspection(
        session, class_id=class_id, institution_id=cls.institution_id, kind=kind, status="open", method=plan.method,
        severity=severity, plan_json=json.dumps(plan.to_json()), population_size=len(pop),
        sample_size=result.sample_size, acceptance=plan.acceptance, algorithm=sel.ALGORITHM, seed=seed,
        seed_source=seed_source, population_hash=sel.population_hash([p.key for p in pop]),
        population_json=json.dumps([p.to_json() for p in pop]), draw_json=json.dumps(result.draw),
        opened_by=actor, opened_at=now,
    )
    repo.add_items(session, row.id, result.items)
    _hold(session, row, cls, actor, now)
    log.info("inspection opened", extra={"inspection_id": row.id, "class_id": class_id, "N": len(pop),
                                         "n": result.sample_size, "seed_source": seed_source})
    return row


def _hold(session: Session, row: SamplingInspection, cls: TrainingClass, actor: str, now: datetime) -> None:
    row.hold_reference = f"sampling:{row.id}"
    try:
        from storage import retention

        retention.set_hold(session.connection(), reason=f"sampling inspection {row.id} of class {cls.code}",
                           set_by=actor, now=now, class_id=cls.id, kind="inspection", reference=row.hold_reference)
    except ImportError as exc:  # footage area not installed: the inspection still opens, visibly
        row.hold_error = f"legal hold not set: {exc}"
        log.warning("legal hold not set", extra={"inspection_id": row.id, "error": str(exc)})
    session.flush()


def record_verdict(
    session: Session, inspection_id: int, item_id: int, *, inspector: str, held_as_declared: bool,
    head_count: int | None = None, notes: str | None = None, footage_problem: str | None = None,
    key_id: int | None = None, now: datetime | None = None,
) -> Any:
    """Append a verdict; an earlier one (this or another inspector's) stays as it is."""
    row = _get(session, inspection_id)
    if row.status != "open":
        raise Invalid(f"inspection {inspection_id} is closed")
    item = session.get(SamplingItem, item_id)
    if item is None or item.inspection_id != inspection_id:
        raise NotFound(f"sampled session {item_id} not found in inspection {inspection_id}")
    if footage_problem is not None and footage_problem not in FOOTAGE_PROBLEMS:
        raise Invalid(f"footage problem must be one of {', '.join(FOOTAGE_PROBLEMS)}")
    if head_count is not None and head_count < 0:
        raise Invalid("head count cannot be negative")
    if footage_problem:
        held_as_declared = False  # missing, unreadable or altered footage counts as a bad session
    return repo.add_verdict(session, item_id=item_id, inspection_id=inspection_id, inspector=inspector,
                            inspector_key_id=key_id, held_as_declared=held_as_declared, head_count=head_count,
                            notes=(notes or None), footage_problem=footage_problem, at=now)


def evaluation(session: Session, inspection_id: int, scope: int | None = None) -> Evaluation:
    row = _get(session, inspection_id, scope)
    plan = Plan.from_json(json.loads(row.plan_json))
    item_ids = [i.id for i in repo.items(session, row.id)]
    ev = evaluate(row.population_size, item_ids, row.acceptance, plan.alpha,
                  repo.verdict_views(repo.verdicts(session, row.id)))
    draw = json.loads(row.draw_json)
    if ev.decision == "pass" and ev.bad == 0 and "allocation" in draw:
        # a clean week-stratified sample: the bound of the design actually used, worst case over spreads
        bound = upper_bound_stratified(draw["stratum_sizes"], draw["allocation"], plan.alpha)
        ev = replace(ev, upper_bound=bound, upper_rate=Fraction(bound, row.population_size),
                     bound_method="week-stratified design, worst case over every spread of D across weeks")
    return ev


def evaluate_inspection(session: Session, inspection_id: int, *, actor: str, now: datetime | None = None) -> Evaluation:
    """Compute and record (append) the decision and the exact upper bound."""
    ev = evaluation(session, inspection_id)
    repo.add_decision(session, inspection_id=inspection_id, decided_by=actor, decision=ev.decision, bad=ev.bad,
                      reviewed=ev.reviewed, upper_bound=ev.upper_bound, evaluation_json=json.dumps(ev.to_json()), at=now)
    return ev


def close_inspection(session: Session, inspection_id: int, *, actor: str, now: datetime | None = None) -> Evaluation:
    """Close with a final decision: release the hold and advance the institution's switching state."""
    now = now or utcnow()
    row = _get(session, inspection_id)
    if row.status != "open":
        raise Invalid(f"inspection {inspection_id} is already closed")
    ev = evaluate_inspection(session, inspection_id, actor=actor, now=now)
    if ev.decision == "incomplete":
        raise Invalid(f"inspection {inspection_id} has {ev.sample_size - ev.reviewed} sampled sessions without a verdict")
    row.status, row.closed_by, row.closed_at = "closed", actor, now
    row.decision, row.upper_bound = ev.decision, ev.upper_bound
    if row.hold_reference and not row.hold_error:
        from storage import retention

        retention.release_holds_for_reference(session.connection(), row.hold_reference, released_by=actor, now=now,
                                              reason=f"sampling inspection {row.id} closed: {ev.decision}")
    if row.kind == "no_records":
        state = repo.switching(session, row.institution_id)
        try:
            state = step(state, LotOutcome(accepted=ev.decision == "pass", acceptance_number=row.acceptance))
        except Discontinued:
            pass
        repo.save_switching(session, row.institution_id, state, row.id)
    session.flush()
    log.info("inspection closed", extra={"inspection_id": row.id, "decision": ev.decision, "bound": ev.upper_bound})
    return ev


# --- the review queue -------------------------------------------------------------------------

@dataclass
class QueueItem:
    item: SamplingItem
    verdicts: list[Any] = field(default_factory=list)
    prescreen: dict[str, Any] | None = None
    presence: dict[str, Any] | None = None  # punch coverage of this session from the latest presence run


@dataclass
class Queue:
    inspection: SamplingInspection
    class_code: str
    class_name: str
    roster: list[dict[str, Any]]
    items: list[QueueItem]
    evaluation: Evaluation
    plan: dict[str, Any]
    timezone: str = "Asia/Shanghai"


def queue(session: Session, inspection_id: int, scope: int | None = None) -> Queue:
    """Everything an inspector needs: sampled sessions with clip, pre-screen and verdicts so far;
    the class roster (resident IDs masked)."""
    row = _get(session, inspection_id, scope)
    cls = _class(session, row.class_id)
    roster = [
        {"pin": e.pin, "name": t.name, "id_masked": t.id_masked}
        for e, t in session.execute(select(Enrollment, Trainee).join(Trainee, Trainee.id == Enrollment.trainee_id)
                                    .where(Enrollment.class_id == cls.id).order_by(Enrollment.pin)).tuples()
    ]
    by_item: dict[int, list[Any]] = {}
    for v in repo.verdicts(session, row.id):
        by_item.setdefault(v.item_id, []).append(v)
    from punchaudit.services.sampling_sources import presence_figures

    figures = presence_figures(session, cls.id)
    items = [QueueItem(i, by_item.get(i.id, []), json.loads(i.prescreen_json) if i.prescreen_json else None,
                       figures.get(i.session_key)) for i in repo.items(session, row.id)]
    site = session.get(Site, cls.site_id)
    return Queue(row, cls.code, cls.name, roster, items, evaluation(session, row.id), json.loads(row.plan_json),
                 site.timezone if site else "Asia/Shanghai")


def attach_clip(session: Session, item_id: int, *, clip_id: int | None, clip_path: str | None, footage_id: int | None,
                problem: str | None = None, prescreen: dict[str, Any] | None = None) -> None:
    """Record the review clip (or why there is none) and the face pre-screen for a sampled session."""
    item = session.get(SamplingItem, item_id)
    if item is None:
        raise NotFound(f"sampled session {item_id} not found")
    item.clip_id, item.clip_path, item.footage_id, item.clip_problem = clip_id, clip_path, footage_id, problem
    if prescreen is not None:
        item.prescreen_json = json.dumps(prescreen, ensure_ascii=False)
    session.flush()
