"""Load what the presence matcher needs as arrays, and store schedules and versioned runs.

Punches are read in one query per batch of classes, straight into numpy arrays: the join punch ->
device (its site) -> enrolment (the PIN within the institution) -> class gives each punch its trainee
row, whether its terminal stands at the class's site, and the face-verification outcome of its photo
when the faces area's table is installed. Times come out of SQL as UTC minutes (an integer
expression per dialect), so no per-row datetime object is ever built.
"""
from __future__ import annotations

import gc
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Connection, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session

from attendance.presence import PresenceResult, PunchArrays
from attendance.rules import PresenceRule
from attendance.schedule import Schedule, local_minutes
from storage.schema.base import Base, utcnow
from storage.schema.core import Device, Enrollment, Punch, Site, TrainingClass
from storage.schema.presence import ClassSchedule, PresenceRun

Bind = Session | Connection

# face_verification.outcome -> attendance.presence.PhotoStatus
PHOTO_STATUS = {"mismatch": 1, "proxy_suspected": 2, "replay_suspected": 2}


# ------------------------------------------------------------------ schedules

def save_schedule(session: Session, class_id: int, schedule: Schedule, overrides: dict[str, Any] | None = None) -> ClassSchedule:
    """Create or replace the class's schedule (and its rule overrides, when given)."""
    row = session.scalar(select(ClassSchedule).where(ClassSchedule.class_id == class_id))
    data = schedule.to_json()
    if row is None:
        row = ClassSchedule(class_id=class_id, rule_json="{}")
        session.add(row)
    row.timezone = schedule.timezone
    row.days_json = json.dumps(data["days"])
    row.sessions_json = json.dumps(data["sessions"])
    row.rest_days_json = json.dumps(data["rest_days"])
    row.holidays_json = json.dumps(data["holidays"])
    if overrides is not None:
        row.rule_json = json.dumps(overrides, sort_keys=True)
    row.updated_at = utcnow()
    session.flush()
    return row


def _schedule_of(row: Any) -> Schedule:
    return Schedule.from_json({
        "days": json.loads(row.days_json), "sessions": json.loads(row.sessions_json), "timezone": row.timezone,
        "rest_days": json.loads(row.rest_days_json or "[]"), "holidays": json.loads(row.holidays_json or "[]"),
    })


def load_schedule(bind: Bind, class_id: int) -> Schedule | None:
    """The class's stored schedule, or None. Works on a Session or a Core Connection."""
    row = bind.execute(select(ClassSchedule.__table__).where(ClassSchedule.class_id == class_id)).first()
    return None if row is None else _schedule_of(row)


def load_schedules(bind: Bind, class_ids: Sequence[int] | None = None) -> dict[int, tuple[Schedule, dict[str, Any]]]:
    """class id -> (schedule, rule overrides) for the given classes (all when None)."""
    q = select(ClassSchedule.__table__)
    if class_ids is not None:
        q = q.where(ClassSchedule.class_id.in_(list(class_ids)))
    return {r.class_id: (_schedule_of(r), json.loads(r.rule_json or "{}")) for r in bind.execute(q)}


# ------------------------------------------------------------------ punches as arrays

@dataclass
class ClassInputs:
    """One class's roster order and punches, ready for the matcher (trainee = row in `trainee_ids`)."""

    class_id: int
    trainee_ids: np.ndarray  # int64, enrolment order
    punches: PunchArrays
    punch_ids: np.ndarray  # int64, parallel to punches (for the inputs hash)

    def inputs_hash(self, schedule: Schedule, rule: PresenceRule) -> str:
        """Changes when a punch, a photo outcome, the roster, the schedule or the rule changes."""
        order = np.argsort(self.punch_ids, kind="stable")
        h = hashlib.sha256()
        h.update(self.trainee_ids.astype("<i8").tobytes())
        for arr in (self.punch_ids, self.punches.trainee, self.punches.minute, self.punches.method,
                    self.punches.site_ok, self.punches.clock_fault, self.punches.photo_status):
            if arr is not None:
                h.update(np.ascontiguousarray(np.asarray(arr)[order]).astype("<i8").tobytes())
        h.update(json.dumps(schedule.to_json(), sort_keys=True).encode())
        h.update(json.dumps(rule.snapshot(), sort_keys=True).encode())
        return h.hexdigest()


def _utc_minute_expr(bind: Bind) -> Any:
    """UTC minutes since the epoch as an integer, computed by the database (exact to the second)."""
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    if dialect == "sqlite":
        seconds = func.round((func.julianday(Punch.utc_time) - 2440587.5) * 86400)
        return cast(seconds, Integer) // 60
    return cast(func.floor(func.extract("epoch", Punch.utc_time) / 60), BigInteger)


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """values[keys == w] for each w (keys unique); -1 where absent."""
    if not len(keys):
        return np.full(len(wanted), -1, np.int64)
    order = np.argsort(keys)
    at = np.minimum(np.searchsorted(keys[order], wanted), len(keys) - 1)
    found = keys[order][at] == wanted
    return np.where(found, values[order][at], -1)


def load_inputs(bind: Bind, class_ids: Sequence[int], first: date, last: date) -> dict[int, ClassInputs]:
    """Rosters and punches (UTC between two days before `first` and three after `last`) of the
    classes, converted to each class's site-local minutes.

    The punch query joins only punch -> enrolment (by PIN) and filters by the terminals of the
    classes' institutions; sites, institutions and face outcomes are mapped in numpy afterwards,
    which keeps the per-row work in the database to two index lookups.
    """
    ids = list(class_ids)
    if not ids:
        return {}
    classes = bind.execute(select(TrainingClass.id, TrainingClass.site_id, TrainingClass.institution_id, Site.timezone)
                           .join(Site, Site.id == TrainingClass.site_id).where(TrainingClass.id.in_(ids))).all()
    tz_of = {r[0]: r[3] for r in classes}
    c_ids = np.array([r[0] for r in classes], np.int64)
    c_site, c_inst = np.array([r[1] for r in classes], np.int64), np.array([r[2] for r in classes], np.int64)
    institutions = sorted({int(x) for x in c_inst})
    devices = bind.execute(select(Device.id, Device.site_id, Site.institution_id).join(Site, Site.id == Device.site_id)
                           .where(Site.institution_id.in_(institutions))).all()
    d_ids = np.array([r[0] for r in devices], np.int64)
    d_site, d_inst = np.array([r[1] for r in devices], np.int64), np.array([r[2] for r in devices], np.int64)
    enrol = bind.execute(select(Enrollment.id, Enrollment.class_id, Enrollment.trainee_id, Enrollment.pin)
                         .where(Enrollment.class_id.in_(ids)).order_by(Enrollment.class_id, Enrollment.id)).all()
    e_ids = np.array([r[0] for r in enrol], np.int64)
    e_class = np.array([r[1] for r in enrol], np.int64)
    e_trainee = np.array([r[2] for r in enrol], np.int64)

    lo = datetime.combine(first - timedelta(days=2), time())
    hi = datetime.combine(last + timedelta(days=3), time())
    in_scope = and_(Punch.success.is_(True), Punch.utc_time >= lo, Punch.utc_time < hi,
                    Punch.device_id.in_([int(d) for d in d_ids] or [-1]))
    table = _fetch_ints(bind, select(Enrollment.id, Punch.id, _utc_minute_expr(bind), Punch.method, Punch.device_id,
                                     Punch.clock_fault)
                        .select_from(Punch).join(Enrollment, Enrollment.pin == Punch.pin)
                        .where(Enrollment.class_id.in_(ids), in_scope), 6)
    pos = _lookup(e_ids, np.arange(len(e_ids)), table[:, 0])  # row in enrolment order
    p_id, p_utc = table[:, 1].copy(), table[:, 2].copy()
    p_method, p_clock = table[:, 3].astype(np.int8), table[:, 5].astype(np.int8)
    p_dev = _lookup(d_ids, np.arange(len(d_ids)), table[:, 4])
    del table
    p_cls = _lookup(c_ids, np.arange(len(c_ids)), e_class[pos])
    # a terminal of another institution that knows the same PIN is someone else's terminal: drop
    keep = d_inst[p_dev] == c_inst[p_cls]
    site_ok = d_site[p_dev] == c_site[p_cls]
    # a punch at another site of the institution is WRONG_SITE for the class, unless the PIN belongs to
    # someone enrolled at that site (then it is simply theirs)
    wrong = np.flatnonzero(keep & ~site_ok)
    if len(wrong):
        sites = sorted({int(x) for x in d_site[p_dev[wrong]]})
        owned = set(bind.execute(select(TrainingClass.site_id, Enrollment.pin).join(Enrollment, Enrollment.class_id == TrainingClass.id)
                                 .where(TrainingClass.site_id.in_(sites))).all())
        pins = [enrol[int(i)][3] for i in pos[wrong]]
        keep[wrong] = [(int(site), pin) not in owned for site, pin in zip(d_site[p_dev[wrong]], pins)]
    photo = np.zeros(len(p_id), np.int8)
    fv = Base.metadata.tables.get("face_verification")
    if fv is not None and len(p_id):
        outcome = case(*[(fv.c.outcome == k, v) for k, v in PHOTO_STATUS.items()], else_=0)
        found = bind.execute(select(fv.c.punch_id, func.max(outcome)).join(Punch, Punch.id == fv.c.punch_id)
                             .where(in_scope).group_by(fv.c.punch_id)).all()
        if found:
            status = _lookup(np.array([r[0] for r in found], np.int64), np.array([r[1] for r in found], np.int64), p_id)
            photo = np.maximum(status, 0).astype(np.int8)

    local_all = np.zeros(len(p_id), np.int32)
    zone_names = sorted(set(tz_of.values()))
    zone_of_class = np.array([zone_names.index(tz_of[int(c)]) for c in c_ids], np.int64)
    p_zone = zone_of_class[p_cls]
    for z, zone in enumerate(zone_names):  # one conversion per time zone, not per class
        m = p_zone == z
        local_all[m] = local_minutes(p_utc[m], zone)
    sel_all = np.flatnonzero(keep)
    order = sel_all[np.argsort(e_class[pos[sel_all]], kind="stable")]
    p_class_sorted = e_class[pos[order]]
    out: dict[int, ClassInputs] = {}
    for cid in ids:  # slicing only; the matching itself is batched by the caller
        e0, e1 = np.searchsorted(e_class, [cid, cid + 1])  # enrolments come ordered by class
        p0, p1 = np.searchsorted(p_class_sorted, [cid, cid + 1])
        sel = order[p0:p1]
        arrays = PunchArrays((pos[sel] - e0).astype(np.int32), local_all[sel], p_method[sel], site_ok[sel], p_clock[sel],
                             photo[sel])
        out[cid] = ClassInputs(cid, e_trainee[e0:e1], arrays, p_id[sel])
    return out


def _fetch_ints(bind: Bind, q: Any, width: int, block: int = 200_000) -> np.ndarray:
    """An all-integer result as an int64 (rows, width) array, fetched from the DBAPI cursor in blocks:
    millions of punches never become SQLAlchemy Rows, nor all at once Python tuples.
    The statement's values are ints and datetimes we built, rendered as literals."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    collecting = gc.isenabled()
    gc.disable()  # many small tuples: the cyclic collector would rescan them over and over
    parts = []
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(block):
            parts.append(np.array(rows, np.int64).reshape(len(rows), width))
    finally:
        cur.close()
        if collecting:
            gc.enable()
    return np.concatenate(parts) if parts else np.zeros((0, width), np.int64)


# ------------------------------------------------------------------ runs

def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def from_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def latest_run(bind: Bind, class_id: int) -> PresenceRun | None:
    if isinstance(bind, Session):
        return bind.scalar(select(PresenceRun).where(PresenceRun.class_id == class_id)
                           .order_by(PresenceRun.version.desc()).limit(1))
    return bind.execute(select(PresenceRun.__table__).where(PresenceRun.class_id == class_id)
                        .order_by(PresenceRun.version.desc()).limit(1)).first()  # type: ignore[return-value]


_SUMMARY = (PresenceRun.id, PresenceRun.class_id, PresenceRun.version, PresenceRun.computed_at, PresenceRun.inputs_hash,
            PresenceRun.has_records, PresenceRun.trainee_count, PresenceRun.day_count, PresenceRun.punch_count,
            PresenceRun.coverage, PresenceRun.days_with_records, PresenceRun.missing_sessions_json)


def latest_summaries(bind: Bind, class_ids: Sequence[int] | None = None) -> dict[int, Any]:
    """class id -> the latest run's figures (no matrices), for many classes in one query."""
    newest = select(PresenceRun.class_id, func.max(PresenceRun.version).label("v")).group_by(PresenceRun.class_id)
    if class_ids is not None:
        newest = newest.where(PresenceRun.class_id.in_(list(class_ids)))
    sub = newest.subquery()
    q = select(*_SUMMARY).join(sub, and_(sub.c.class_id == PresenceRun.class_id, sub.c.v == PresenceRun.version))
    return {r.class_id: r for r in bind.execute(q)}


def runs_of(session: Session, class_id: int) -> list[PresenceRun]:
    return list(session.scalars(select(PresenceRun).where(PresenceRun.class_id == class_id).order_by(PresenceRun.version)))


def save_run(session: Session, class_id: int, result: PresenceResult, trainee_ids: np.ndarray, schedule: Schedule,
             rule: PresenceRule, inputs_hash: str, punch_count: int, trigger: str) -> PresenceRun:
    """Store a new version; earlier versions stay untouched."""
    version = (session.scalar(select(func.max(PresenceRun.version)).where(PresenceRun.class_id == class_id)) or 0) + 1
    run = PresenceRun(
        class_id=class_id, version=version, computed_at=utcnow(), trigger=trigger,
        rule_json=json.dumps(rule.snapshot(), sort_keys=True), schedule_json=json.dumps(schedule.to_json()),
        inputs_hash=inputs_hash, punch_count=int(punch_count), trainee_count=int(result.codes.shape[0]),
        day_count=int(result.codes.shape[1]), session_count=len(schedule.sessions),
        has_records=bool(result.has_punch_records), days_with_records=int(result.day_has_records.sum()),
        coverage=float(result.day_coverage.mean()) if result.day_coverage.size else 0.0,
        present_cells=int(result.present.sum()),
        day_coverage_json=json.dumps([round(float(x), 6) for x in result.day_coverage]),
        session_coverage_json=json.dumps([[round(float(x), 6) for x in row] for row in result.session_coverage]),
        missing_sessions_json=json.dumps(result.sampling_population),
        trainee_ids=_npy(trainee_ids.astype(np.int64)), codes=_npy(result.codes.astype(np.int8)),
        session_codes=_npy(result.session_codes.astype(np.int8)),
    )
    session.add(run)
    session.flush()
    return run


def claim_evidence(session: Session, class_id: int) -> dict[str, Any] | None:
    """What the claims area needs from the latest run: days scheduled, punch records, days per trainee."""
    run = latest_run(session, class_id)
    if run is None:
        return None
    ids = from_npy(run.trainee_ids)
    codes = from_npy(run.codes)
    attended = (codes <= 1).sum(axis=1) if codes.size else np.zeros(len(ids), np.int64)
    return {"run_id": run.id, "version": run.version, "scheduled_days": run.day_count,
            "has_punch_records": run.has_records, "attended_days": {int(t): int(a) for t, a in zip(ids, attended)},
            "computed_at": run.computed_at.isoformat() if run.computed_at else None}
