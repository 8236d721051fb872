"""Presence use cases: import a roster, set a class's schedule, run presence, classify classes, report.

Like the registry, every function takes `scope` (the institution a site key is limited to, or None)
and reports another institution's class as not found. Functions flush but do not commit: the caller
(one HTTP request, one CLI command) owns the transaction, so a roster import is all or nothing.
"""
from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance import resident_id as rid
from attendance.presence import ClassSpec, ClassTable, PunchArrays, match_batch
from attendance.roster import ClassWindow, Enrolment, RosterFormatError, RowError, parse_roster, validate_roster
from attendance.rules import PresenceRule, RuleError, rule_from_config
from attendance.schedule import Schedule, ScheduleError
from punchaudit.config import Settings
from storage import presence as repo
from storage.schema.core import Enrollment, Institution, Site, Trainee, TrainingClass
from storage.schema.presence import ClassSchedule, PresenceRun

log = logging.getLogger("punchaudit.presence")
CHUNK = 500  # classes per load query (keeps IN lists and memory bounded)


class PresenceError(Exception):
    """A presence use case refused its input; the message is for the operator (never an ID number)."""


class NotFound(PresenceError):
    pass


# ------------------------------------------------------------------ roster

@dataclass
class RosterImport:
    rows: int = 0
    trainees_created: int = 0
    enrollments_created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_roster(session: Session, settings: Settings, data: bytes, filename: str = "", scope: int | None = None) -> RosterImport:
    """Validate the whole roster and, only when every row is good, create trainees and enrolments."""
    try:
        parsed = parse_roster(data, filename)
    except RosterFormatError as exc:
        return RosterImport(errors=[RowError(0, "file", str(exc))])
    key = settings.secret_key.encode()

    def hasher(valid_id: str) -> str:
        return rid.keyed_hash(valid_id, key)

    q = select(TrainingClass)
    if scope is not None:
        q = q.where(TrainingClass.institution_id == scope)  # another institution's class is "unknown"
    classes = {c.code: c for c in session.scalars(q)}
    windows = {code: ClassWindow(code, c.start_date, c.end_date) for code, c in classes.items()}
    hashes = {hasher(r.resident_id) for r in parsed if not isinstance(r, RowError)}
    existing = [Enrolment(h, code, s, e) for h, code, s, e in session.execute(
        select(Trainee.id_hash, TrainingClass.code, TrainingClass.start_date, TrainingClass.end_date)
        .join(Enrollment, Enrollment.trainee_id == Trainee.id).join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .where(Trainee.id_hash.in_(hashes)))] if hashes else []
    codes = {r.class_code for r in parsed if not isinstance(r, RowError)} & set(classes)
    pins: dict[str, set[str]] = {}
    for code, pin in session.execute(select(TrainingClass.code, Enrollment.pin).join(Enrollment, Enrollment.class_id == TrainingClass.id)
                                     .where(TrainingClass.code.in_(codes))):
        pins.setdefault(code, set()).add(pin)
    check = validate_roster(parsed, windows, existing, hasher, pins)
    registered = dict(session.execute(select(Trainee.id_hash, Trainee.name).where(Trainee.id_hash.in_(hashes))).all()) \
        if hashes else {}
    for row in check.rows:  # a mistyped ID that happens to be valid often lands on somebody else
        known_name = registered.get(hasher(row.resident_id))
        if known_name is not None and known_name != row.name:
            check.errors.append(RowError(row.row_no, "姓名", "the resident ID is registered under another name"))
    check.errors.sort(key=lambda e: (e.row_no, e.field))
    outcome = RosterImport(rows=len(check.rows), errors=check.errors)
    if not check.rows and not check.errors:
        outcome.errors.append(RowError(0, "file", "the roster has no trainee rows"))
    if not outcome.ok:
        log.info("roster refused", extra={"rows": outcome.rows, "errors": len(outcome.errors)})
        return outcome
    known = {t.id_hash: t for t in session.scalars(select(Trainee).where(Trainee.id_hash.in_(hashes)))}
    for row in check.rows:
        h = hasher(row.resident_id)
        trainee = known.get(h)
        if trainee is None:
            trainee = Trainee(name=row.name, id_masked=rid.mask(row.resident_id), id_hash=h, gender=row.gender,
                              birth_date=rid.birth_date(row.resident_id), phone=row.phone, target_group=row.target_group)
            session.add(trainee)
            session.flush()
            known[h] = trainee
            outcome.trainees_created += 1
        session.add(Enrollment(class_id=classes[row.class_code].id, trainee_id=trainee.id, pin=row.pin))
        outcome.enrollments_created += 1
    session.flush()
    log.info("roster imported", extra={"rows": outcome.rows, "trainees_created": outcome.trainees_created})
    return outcome


# ------------------------------------------------------------------ schedules

def class_by_code(session: Session, code: str, scope: int | None) -> TrainingClass:
    cls = session.scalar(select(TrainingClass).where(TrainingClass.code == code))
    if cls is None or (scope is not None and cls.institution_id != scope):
        raise NotFound(f"class {code!r} not found")
    return cls


def effective_rule(settings: Settings, overrides: dict[str, Any] | None) -> PresenceRule:
    try:
        return rule_from_config(settings.presence).merged(overrides or {})
    except RuleError as exc:
        raise PresenceError(f"presence rule: {exc}") from None


def set_schedule(session: Session, settings: Settings, code: str, *, sessions: Sequence[str], first: date | None = None,
                 last: date | None = None, days: Sequence[date] | None = None, rest_weekdays: Sequence[int] = (),
                 rest_days: Sequence[date] = (), holidays: Sequence[date] = (), rule: dict[str, Any] | None = None,
                 scope: int | None = None) -> Schedule:
    """Give a class its training days and sessions (site zone), and optionally rule overrides.
    Without dates the class's own start and end dates are used."""
    cls = class_by_code(session, code, scope)
    tz = session.scalar(select(Site.timezone).where(Site.id == cls.site_id)) or "Asia/Shanghai"
    site = session.scalar(select(Site.code).where(Site.id == cls.site_id))
    try:
        if days:
            schedule = Schedule.from_days(days, list(sessions), site=site, timezone=tz)
        else:
            schedule = Schedule.from_range(first or cls.start_date, last or cls.end_date, list(sessions),
                                           rest_weekdays=rest_weekdays, rest_days=rest_days, holidays=holidays,
                                           site=site, timezone=tz)
        presence_rule = effective_rule(settings, rule)
        # the windows of this rule must not overlap for these sessions: check now, not at the nightly run
        match_batch(PunchArrays.empty(), ClassTable.from_specs([ClassSpec(0, schedule, presence_rule)]))
    except ScheduleError as exc:
        raise PresenceError(f"schedule of {code}: {exc}") from None
    outside = [d for d in schedule.days if not cls.start_date <= d <= cls.end_date]
    if outside:
        raise PresenceError(f"schedule of {code}: {len(outside)} training day(s) outside the class dates "
                            f"{cls.start_date}..{cls.end_date}, first {outside[0]}")
    current = session.scalar(select(ClassSchedule.rule_json).where(ClassSchedule.class_id == cls.id))
    repo.save_schedule(session, cls.id, schedule, rule if rule is not None else json.loads(current or "{}"))
    return schedule


def _dates(value: Any) -> list[date]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(",", ";").split(";") if v.strip()]
    return [v if isinstance(v, date) else date.fromisoformat(str(v).strip()) for v in value]


def _list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    return [v.strip() for v in value.split(";") if v.strip()] if isinstance(value, str) else [str(v) for v in value]


def import_schedules(session: Session, settings: Settings, data: bytes, filename: str = "", scope: int | None = None) -> list[str]:
    """Schedules for several classes from YAML (`CODE: {sessions, from, to, rest_weekdays, rest_days,
    holidays, days, rule}`) or CSV (columns class_code, sessions, from, to, rest_weekdays, rest_days,
    holidays; lists separated by ';'). All or nothing, like the roster."""
    text = data.decode("utf-8-sig")
    if filename.lower().endswith(".csv"):
        entries = {r["class_code"]: r for r in csv.DictReader(io.StringIO(text))}
    else:
        loaded = yaml.safe_load(text) or {}
        entries = loaded.get("classes", loaded) if isinstance(loaded, dict) else {}
    done = []
    for code, spec in entries.items():
        set_schedule(session, settings, str(code), sessions=_list(spec.get("sessions")),
                     first=_dates(spec.get("from"))[0] if spec.get("from") else None,
                     last=_dates(spec.get("to"))[0] if spec.get("to") else None,
                     days=_dates(spec.get("days")) or None,
                     rest_weekdays=[int(w) for w in _list(spec.get("rest_weekdays"))],
                     rest_days=_dates(spec.get("rest_days")), holidays=_dates(spec.get("holidays")),
                     rule=spec.get("rule") if isinstance(spec.get("rule"), dict) else None, scope=scope)
        done.append(str(code))
    return done


# ------------------------------------------------------------------ running presence

@dataclass(frozen=True)
class RunSummary:
    class_code: str
    class_id: int
    run_id: int
    version: int
    new: bool  # False: inputs unchanged since the latest run, nothing stored
    has_records: bool
    trainees: int
    days: int
    punches: int
    coverage: float
    days_with_records: int
    sessions_without_records: int

    @property
    def classification(self) -> str:
        return "has punch records" if self.has_records else "needs sampling inspection"


def run_presence(session: Session, settings: Settings, codes: Sequence[str] | None = None, *, on_date: date | None = None,
                 trigger: str = "manual", scope: int | None = None) -> tuple[list[RunSummary], list[str]]:
    """Compute presence for the given classes (or every class with a schedule), batched: one
    matcher call per chunk of classes. Returns the runs and the codes skipped for want of a schedule.
    A class whose inputs did not change since its latest run keeps that run (no new version)."""
    if codes:
        classes = [class_by_code(session, c, scope) for c in codes]
    else:
        q = select(TrainingClass).order_by(TrainingClass.code)
        if scope is not None:
            q = q.where(TrainingClass.institution_id == scope)
        classes = list(session.scalars(q))
    schedules = repo.load_schedules(session, [c.id for c in classes])
    skipped = [c.code for c in classes if c.id not in schedules]
    if codes and skipped:
        raise PresenceError(f"class {skipped[0]} has no schedule; set one with `punchaudit presence schedule`")
    todo = [c for c in classes if c.id in schedules]
    if on_date is not None:
        todo = [c for c in todo if on_date in schedules[c.id][0].days]
    summaries: list[RunSummary] = []
    for i in range(0, len(todo), CHUNK):
        summaries += _run_chunk(session, settings, todo[i:i + CHUNK], schedules, trigger)
    return summaries, skipped


def _run_chunk(session: Session, settings: Settings, classes: list[TrainingClass],
               schedules: dict[int, tuple[Schedule, dict[str, Any]]], trigger: str) -> list[RunSummary]:
    with_days = [c for c in classes if schedules[c.id][0].days]
    first = min((schedules[c.id][0].days[0] for c in with_days), default=date.today())
    last = max((schedules[c.id][0].days[-1] for c in with_days), default=date.today())
    inputs = repo.load_inputs(session, [c.id for c in classes], first, last)
    rules = {c.id: effective_rule(settings, schedules[c.id][1]) for c in classes}
    table = ClassTable.from_specs([ClassSpec(len(inputs[c.id].trainee_ids), schedules[c.id][0], rules[c.id]) for c in classes])
    offsets = table.trainee_offsets()
    punches = _concat([inputs[c.id].punches for c in classes], offsets)
    batch = match_batch(punches, table)
    previous = repo.latest_summaries(session, [c.id for c in classes])
    out = []
    for k, cls in enumerate(classes):
        schedule, rule, inp = schedules[cls.id][0], rules[cls.id], inputs[cls.id]
        result = batch.for_class(k)
        digest = inp.inputs_hash(schedule, rule)
        latest = previous.get(cls.id)
        new = latest is None or latest.inputs_hash != digest
        run = repo.save_run(session, cls.id, result, inp.trainee_ids, schedule, rule, digest, len(inp.punches), trigger) \
            if new else latest
        assert run is not None
        out.append(RunSummary(cls.code, cls.id, run.id, run.version, new, run.has_records, run.trainee_count, run.day_count,
                              run.punch_count, run.coverage, run.days_with_records,
                              len(json.loads(run.missing_sessions_json))))
        log.info("presence run", extra={"class": cls.code, "version": run.version, "new": new,
                                        "has_records": run.has_records, "punches": run.punch_count})
    return out


def _concat(parts: list[PunchArrays], offsets: np.ndarray) -> PunchArrays:
    if not parts:
        return PunchArrays.empty()
    trainee = np.concatenate([p.trainee.astype(np.int32) + np.int32(offsets[i]) for i, p in enumerate(parts)])
    return PunchArrays(trainee, *(np.concatenate([getattr(p, f) for p in parts])
                                  for f in ("minute", "method", "site_ok", "clock_fault", "photo_status")))


def run_all(engine: Any, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Scheduler hook: recompute every class that is running or ended in the last week (late replays)."""
    from storage.db import session_scope

    today = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(settings.scheduler.timezone)).date()
    with session_scope(engine) as session:
        schedules = repo.load_schedules(session)
        running = [cid for cid, (s, _) in schedules.items()
                   if s.days and s.days[0] <= today and s.days[-1] >= today - timedelta(days=7)]
        codes = list(session.scalars(select(TrainingClass.code).where(TrainingClass.id.in_(running))))
        runs, _ = run_presence(session, settings, codes, trigger="scheduler") if codes else ([], [])
    return {"classes": len(runs), "new_versions": sum(r.new for r in runs),
            "needs_sampling": [r.class_code for r in runs if not r.has_records]}


# ------------------------------------------------------------------ reading runs

@dataclass
class RunView:
    """A stored run with the names and dates a person reads."""

    run: PresenceRun
    class_code: str
    class_name: str
    institution: str
    site: str
    days: list[date]
    sessions: list[str]
    trainee_ids: np.ndarray
    names: list[str]
    masked_ids: list[str]
    pins: list[str]
    codes: np.ndarray
    session_codes: np.ndarray
    day_coverage: list[float]


def load_run(session: Session, code: str, scope: int | None, version: int | None = None) -> RunView:
    cls = class_by_code(session, code, scope)
    q = select(PresenceRun).where(PresenceRun.class_id == cls.id)
    q = q.where(PresenceRun.version == version) if version else q.order_by(PresenceRun.version.desc()).limit(1)
    run = session.scalar(q)
    if run is None:
        raise NotFound(f"class {code} has no presence run" + (f" version {version}" if version else ""))
    ids = repo.from_npy(run.trainee_ids)
    people = {t.id: t for t in session.scalars(select(Trainee).where(Trainee.id.in_([int(i) for i in ids])))}
    pins = dict(session.execute(select(Enrollment.trainee_id, Enrollment.pin).where(Enrollment.class_id == cls.id)).all())
    schedule = json.loads(run.schedule_json)
    inst = session.scalar(select(Institution.name).where(Institution.id == cls.institution_id)) or ""
    site = session.scalar(select(Site.name).where(Site.id == cls.site_id)) or ""
    return RunView(run, cls.code, cls.name, inst, site, [date.fromisoformat(d) for d in schedule["days"]], schedule["sessions"],
                   ids, [people[int(i)].name if int(i) in people else "?" for i in ids],
                   [people[int(i)].id_masked if int(i) in people else "" for i in ids], [pins.get(int(i), "") for i in ids],
                   repo.from_npy(run.codes), repo.from_npy(run.session_codes), json.loads(run.day_coverage_json))


@dataclass(frozen=True)
class ClassStatus:
    class_code: str
    class_name: str
    institution_id: int
    version: int | None
    computed_at: datetime | None
    has_records: bool | None  # None: never computed
    coverage: float | None
    sessions_without_records: int | None

    @property
    def classification(self) -> str:
        if self.has_records is None:
            return "not computed"
        return "has punch records" if self.has_records else "needs sampling inspection"


def classification(session: Session, scope: int | None = None) -> list[ClassStatus]:
    """Every visible class with its latest run's verdict on punch records."""
    q = select(TrainingClass).order_by(TrainingClass.code)
    if scope is not None:
        q = q.where(TrainingClass.institution_id == scope)
    out = []
    classes = list(session.scalars(q))
    latest = repo.latest_summaries(session, [c.id for c in classes] if scope is not None else None)
    for cls in classes:
        run = latest.get(cls.id)
        out.append(ClassStatus(cls.code, cls.name, cls.institution_id, run.version if run else None,
                               run.computed_at if run else None, run.has_records if run else None,
                               run.coverage if run else None, len(json.loads(run.missing_sessions_json)) if run else None))
    return out


def population(session: Session, class_id: int) -> list[tuple[date, int, datetime, datetime]]:
    """The latest run's sessions without punch records as (day, session index, start UTC, end UTC)."""
    run = repo.latest_run(session, class_id)
    if run is None:
        raise NotFound("no presence run for this class yet; run presence first")
    schedule = Schedule.from_json(json.loads(run.schedule_json))
    starts, ends = schedule.session_minutes()
    zone = ZoneInfo(schedule.timezone)
    out = []
    for d, s in json.loads(run.missing_sessions_json):
        pair = []
        for minute in (int(starts[d, s]), int(ends[d, s])):
            local = datetime(1970, 1, 1) + timedelta(minutes=minute)
            pair.append(local.replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None))
        out.append((schedule.days[d], int(s), pair[0], pair[1]))
    return out


def report(session: Session, code: str, fmt: str = "xlsx", lang: str = "zh", scope: int | None = None,
           version: int | None = None) -> tuple[bytes, str, str]:
    """The sign-in sheet of the class's latest (or given) run: (bytes, file name, media type)."""
    from attendance.report import SignInSheet, sheet_csv, sheet_xlsx

    if fmt not in ("csv", "xlsx"):
        raise PresenceError("format must be csv or xlsx")
    if lang not in ("zh", "en"):
        raise PresenceError("language must be zh or en")
    v = load_run(session, code, scope, version)
    sheet = SignInSheet(v.class_code, v.class_name, v.institution, v.site, v.run.version, v.run.computed_at,
                        v.run.has_records, v.days, v.sessions, list(zip(v.names, v.masked_ids, v.pins)), v.codes,
                        v.session_codes, v.day_coverage)
    name = f"{v.class_code}-presence-v{v.run.version}.{fmt}"
    if fmt == "csv":
        return sheet_csv(sheet, lang), name, "text/csv; charset=utf-8"
    return sheet_xlsx(sheet, lang), name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
