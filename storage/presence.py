"""Load what the presence matcher needs as arrays, and store schedules and versioned runs.

Punches are read in one query per batch of classes, straight into numpy arrays: the join punch ->
device (its site) -> enrolment (the PIN within the institution) -> class gives each punch its trainee
row, whether its terminal stands at the class's site, and the face-verification outcome of its photo
when the faces area's table is installed. Times come out of SQL as UTC minutes (an integer
expression per dialect), so no per-row datetime object is ever built.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Integer, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

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
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    if dialect == "sqlite":
        return cast(func.strftime("%s", Punch.utc_time), Integer) / 60
    return func.floor(func.extract("epoch", Punch.utc_time) / 60)


def load_inputs(bind: Bind, class_ids: Sequence[int], first: date, last: date) -> dict[int, ClassInputs]:
    """Rosters and punches (UTC between the day before `first` and two days after `last`) of the
    classes, converted to each class's site-local minutes. One query for enrolments, one for punches."""
    ids = list(class_ids)
    if not ids:
        return {}
    enrol = bind.execute(
        select(Enrollment.class_id, Enrollment.trainee_id).where(Enrollment.class_id.in_(ids))
        .order_by(Enrollment.class_id, Enrollment.id)
    ).all()
    tz_of = dict(bind.execute(select(TrainingClass.id, Site.timezone).join(Site, Site.id == TrainingClass.site_id)
                              .where(TrainingClass.id.in_(ids))).all())
    e_class = np.array([r[0] for r in enrol], np.int64)
    e_trainee = np.array([r[1] for r in enrol], np.int64)

    cls = aliased(TrainingClass)
    other_cls, other_enrol = aliased(TrainingClass), aliased(Enrollment)
    site_ok = Device.site_id == cls.site_id
    # a punch at another site of the institution is WRONG_SITE for the class, unless the PIN belongs to
    # someone enrolled at that site (then it is simply theirs)
    owned_elsewhere = exists().where(and_(other_enrol.pin == Punch.pin, other_cls.id == other_enrol.class_id,
                                          other_cls.site_id == Device.site_id))
    photo = literal(0)
    fv = Base.metadata.tables.get("face_verification")
    if fv is not None:
        photo = func.coalesce(
            select(func.max(case(*[(fv.c.outcome == k, v) for k, v in PHOTO_STATUS.items()], else_=0)))
            .where(fv.c.punch_id == Punch.id).scalar_subquery(), 0)
    lo = datetime.combine(first - timedelta(days=2), time())
    hi = datetime.combine(last + timedelta(days=3), time())
    q = (
        select(Enrollment.class_id, Enrollment.trainee_id, Punch.id, _utc_minute_expr(bind), Punch.method,
               site_ok, Punch.clock_fault, photo)
        .select_from(Punch)
        .join(Device, Device.id == Punch.device_id)
        .join(Site, Site.id == Device.site_id)
        .join(Enrollment, Enrollment.pin == Punch.pin)
        .join(cls, and_(cls.id == Enrollment.class_id, cls.institution_id == Site.institution_id))
        .where(Enrollment.class_id.in_(ids), Punch.success.is_(True),
               Punch.utc_time >= lo, Punch.utc_time < hi,
               or_(site_ok, ~owned_elsewhere))
    )
    rows = _fetch_raw(bind, q)
    cols = list(zip(*rows)) if rows else [()] * 8
    p_class = np.array(cols[0], np.int64)
    p_trainee = np.array(cols[1], np.int64)
    p_id = np.array(cols[2], np.int64)
    p_utc = np.array(cols[3], np.int64)
    p_method = np.array(cols[4], np.int8)
    p_site = np.array(cols[5], bool)
    p_clock = np.array(cols[6], np.int8)
    p_photo = np.array(cols[7], np.int8)

    # enrolment row of each punch, vectorised: key (class, trainee) -> position in enrolment order
    e_key = (e_class << 32) | e_trainee
    e_order = np.argsort(e_key, kind="stable")
    p_key = (p_class << 32) | p_trainee
    pos = e_order[np.minimum(np.searchsorted(e_key[e_order], p_key), max(len(e_key) - 1, 0))] if len(e_key) else p_key
    p_order = np.argsort(p_class, kind="stable")
    out: dict[int, ClassInputs] = {}
    for cid in ids:  # slicing only; the matching itself is batched by the caller
        e0, e1 = np.searchsorted(e_class, [cid, cid + 1])  # enrolments come ordered by class
        p0, p1 = np.searchsorted(p_class[p_order], [cid, cid + 1])
        sel = p_order[p0:p1]
        local = local_minutes(p_utc[sel], tz_of.get(cid, "Asia/Shanghai"))
        arrays = PunchArrays((pos[sel] - e0).astype(np.int32), local, p_method[sel], p_site[sel], p_clock[sel], p_photo[sel])
        out[cid] = ClassInputs(cid, e_trainee[e0:e1], arrays, p_id[sel])
    return out


def _fetch_raw(bind: Bind, q: Any) -> list[tuple]:
    """Rows as plain DBAPI tuples: millions of punches should not each become a SQLAlchemy Row.
    The statement's values are all ints and datetimes we built, rendered as literals."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


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
