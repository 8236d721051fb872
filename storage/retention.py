"""Two-year retention with legal holds, modelled on S3 Object Lock in compliance mode.

* Footage is kept through `retain_until`: the last training day of every class at its site whose dates
  overlap it (or its own last day, if none does), plus `retention_days` (never below 730). The stored
  date may only grow (trigger in migration 0004); the sweep does not trust it alone but re-derives the
  condition from the classes in the same statement, so a class whose end date moved later protects its
  footage even before the stored date is refreshed.
* A legal hold (on one footage file, or on a class: every footage overlapping it) keeps footage
  regardless of date until released. Holds are independent of retention and of each other.
* Only the sweep deletes, and only footage that is expired and not held, selected in one set-based
  statement inside a write transaction (no stale list). Every other deletion is refused with the
  retain-until date or the hold named. If the clock looks wrong (earlier than the newest audit entry
  or registration) nothing is deleted: fail closed.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, union, update
from sqlalchemy.sql.elements import ColumnElement

from storage import audit
from storage.db import transaction
from storage.footage_store import FootageStore
from storage.schema.core import TrainingClass
from storage.schema.footage import Footage, LegalHold, RetentionDeletion

log = logging.getLogger("punchaudit.retention")
MIN_RETENTION_DAYS = 730
F, C, H, D = Footage.__table__, TrainingClass.__table__, LegalHold.__table__, RetentionDeletion.__table__


class RetentionError(Exception):
    """A deletion or retention change was refused; the message says why, for an operator."""


class DeletionRefused(RetentionError):
    pass


class ClockUntrusted(RetentionError):
    pass


def check_days(retention_days: int) -> int:
    if retention_days < MIN_RETENTION_DAYS:
        raise RetentionError(f"retention of {retention_days} days is below the two-year minimum ({MIN_RETENTION_DAYS})")
    return retention_days


def _overlaps_class() -> ColumnElement[bool]:
    return and_(C.c.site_id == F.c.site_id, C.c.start_date <= F.c.last_day, C.c.end_date >= F.c.first_day)


def _in_ranges(ranges: Sequence[Any]) -> ColumnElement[bool] | None:
    """Footage at one of these (site, first day, last day) class ranges, as literal conditions."""
    if not ranges:
        return None
    return or_(*[and_(F.c.site_id == r.site_id, F.c.last_day >= r.start_date, F.c.first_day <= r.end_date)
                 for r in ranges])


def expired_unheld(conn: Connection, today: date, retention_days: int) -> ColumnElement[bool]:
    """The whole deletion rule as one SQL condition on footage rows: kept through `retain_until`
    (inclusive) and through two years after the end of every class overlapping it, and never while
    a hold covers it. The class and class-hold conditions are read in the caller's transaction and
    inlined as literal ranges: only classes straddling the cutoff can protect a file whose own last
    day is before it, and active class holds are few, so each row is tested against a handful of
    ranges instead of running correlated subqueries a million times."""
    return and_(_expired_by_date(conn, today, retention_days), ~_held(conn))


def count_held_expired(conn: Connection, today: date, retention_days: int) -> int:
    """How many footage rows the date rule would delete but a hold keeps. Holds are few, so each kind
    is its own query starting from the held rows (primary key; site index), united, instead of one
    OR that makes the database test every row."""
    expired = _expired_by_date(conn, today, retention_days)
    on_file, by_class = _hold_conditions(conn)
    parts = [select(F.c.id).where(on_file, expired)]
    if by_class is not None:
        parts.append(select(F.c.id).where(by_class, expired))
    return conn.execute(select(func.count()).select_from(union(*parts).subquery())).scalar_one()


def _held(conn: Connection) -> ColumnElement[bool]:
    """Under an active hold: on the file itself, or on a class it overlaps."""
    on_file, by_class = _hold_conditions(conn)
    return or_(on_file, by_class) if by_class is not None else on_file


def _hold_conditions(conn: Connection) -> tuple[ColumnElement[bool], ColumnElement[bool] | None]:
    """(held on the file, held by a class it overlaps as literal ranges, or None without class holds)."""
    held = conn.execute(select(C.c.site_id, C.c.start_date, C.c.end_date).select_from(
        H.join(C, H.c.class_id == C.c.id)).where(H.c.released_at.is_(None))).all()
    footage_holds = select(H.c.footage_id).where(H.c.footage_id.is_not(None), H.c.released_at.is_(None))
    return F.c.id.in_(footage_holds), _in_ranges(held)


def _expired_by_date(conn: Connection, today: date, retention_days: int) -> ColumnElement[bool]:
    cutoff = today - timedelta(days=check_days(retention_days))
    protecting = conn.execute(select(C.c.site_id, C.c.start_date, C.c.end_date).where(
        C.c.end_date >= cutoff, C.c.start_date < cutoff)).all()
    parts = [F.c.deleted_at.is_(None), F.c.retain_until < today, F.c.last_day < cutoff]
    cond = _in_ranges(protecting)
    return and_(*parts, ~cond) if cond is not None else and_(*parts)


def retain_until_for(conn: Connection, site_id: int, first_day: date, last_day: date, retention_days: int) -> date:
    """The last training day of any overlapping class at the site (at least the footage's own last
    day), plus the retention period."""
    latest = conn.execute(select(func.max(C.c.end_date)).where(
        C.c.site_id == site_id, C.c.start_date <= last_day, C.c.end_date >= first_day)).scalar()
    base = max(last_day, latest) if latest else last_day
    return base + timedelta(days=check_days(retention_days))


def refresh_retain_until(conn: Connection, retention_days: int, today: date) -> int:
    """Extend stored dates to the current classes (a class created or lengthened after its footage
    was registered). Never shortens: only rows whose date would grow are touched. Only classes whose
    protection reaches today or later matter; one UPDATE each. Returns rows extended. The sweep does
    not depend on this (it re-derives the rule from the classes); it keeps the shown dates right."""
    days = timedelta(days=check_days(retention_days))
    changed = 0
    for cls in conn.execute(select(C.c.id, C.c.site_id, C.c.start_date, C.c.end_date)
                            .where(C.c.end_date >= today - days)).all():
        target = cls.end_date + days
        changed += conn.execute(update(F).where(
            F.c.site_id == cls.site_id, F.c.first_day <= cls.end_date, F.c.last_day >= cls.start_date,
            F.c.deleted_at.is_(None), F.c.retain_until < target).values(retain_until=target)).rowcount or 0
    return changed


def extend_retention(conn: Connection, footage_id: int, new_date: date, *, actor: str, now: datetime,
                     reason: str) -> None:
    """Move a footage's retain-until date later. Shortening is refused, as in compliance mode."""
    row = conn.execute(select(F.c.retain_until).where(F.c.id == footage_id)).first()
    if row is None:
        raise RetentionError(f"footage {footage_id} not found")
    if new_date < row.retain_until:
        raise RetentionError(f"footage {footage_id} is retained until {row.retain_until}; retention may only be "
                             f"extended, never shortened (asked for {new_date})")
    conn.execute(update(F).where(F.c.id == footage_id).values(retain_until=new_date))
    audit.append(conn, actor=actor, action="retention.extended", subject=f"footage:{footage_id}",
                 payload={"from": row.retain_until.isoformat(), "to": new_date.isoformat(), "reason": reason}, at=now)


# --- holds ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hold:
    id: int
    class_id: int | None
    footage_id: int | None
    reason: str
    kind: str
    reference: str | None
    set_by: str
    set_at: datetime

    def describe(self) -> str:
        scope = f"class {self.class_id}" if self.class_id is not None else f"footage {self.footage_id}"
        return f"legal hold {self.id} on {scope} ({self.kind}, set by {self.set_by} on {self.set_at:%Y-%m-%d}: {self.reason})"


def _hold(row: Any) -> Hold:
    return Hold(row.id, row.class_id, row.footage_id, row.reason, row.kind, row.reference, row.set_by, row.set_at)


def set_hold(conn: Connection, *, reason: str, set_by: str, now: datetime, class_id: int | None = None,
             footage_id: int | None = None, kind: str = "inspector", reference: str | None = None) -> Hold:
    """Place a hold on a class's footage or on one file; recorded in the audit log."""
    if (class_id is None) == (footage_id is None):
        raise RetentionError("a hold names exactly one of a class or a footage file")
    if not reason.strip():
        raise RetentionError("a hold needs a reason")
    target_table, target_id = (C, class_id) if class_id is not None else (F, footage_id)
    if conn.execute(select(target_table.c.id).where(target_table.c.id == target_id)).first() is None:
        raise RetentionError(f"{'class' if class_id is not None else 'footage'} {target_id} not found")
    now = now.replace(tzinfo=None)
    audit.lock(conn)  # a sweep in progress finishes first; the next one sees this hold
    hold_id = conn.execute(insert(H).values(class_id=class_id, footage_id=footage_id, reason=reason, kind=kind,
                                            reference=reference, set_by=set_by, set_at=now).returning(H.c.id)).scalar_one()
    subject = f"class:{class_id}" if class_id is not None else f"footage:{footage_id}"
    audit.append(conn, actor=set_by, action="hold.set", subject=subject,
                 payload={"hold_id": hold_id, "kind": kind, "reason": reason, "reference": reference}, at=now)
    log.info("legal hold set", extra={"hold_id": hold_id, "subject": subject, "kind": kind})
    return Hold(hold_id, class_id, footage_id, reason, kind, reference, set_by, now)


def release_hold(conn: Connection, hold_id: int, *, released_by: str, now: datetime, reason: str = "") -> Hold:
    row = conn.execute(select(H).where(H.c.id == hold_id)).first()
    if row is None:
        raise RetentionError(f"legal hold {hold_id} not found")
    if row.released_at is not None:
        raise RetentionError(f"legal hold {hold_id} was already released on {row.released_at:%Y-%m-%d} by {row.released_by}")
    now = now.replace(tzinfo=None)
    conn.execute(update(H).where(H.c.id == hold_id).values(released_by=released_by, released_at=now,
                                                           release_reason=reason or None))
    subject = f"class:{row.class_id}" if row.class_id is not None else f"footage:{row.footage_id}"
    audit.append(conn, actor=released_by, action="hold.released", subject=subject,
                 payload={"hold_id": hold_id, "reason": reason}, at=now)
    return _hold(row)


def release_holds_for_reference(conn: Connection, reference: str, *, released_by: str, now: datetime,
                                reason: str = "") -> list[Hold]:
    """Release every active hold placed with `reference` (e.g. when a sampling inspection closes)."""
    ids = conn.execute(select(H.c.id).where(H.c.reference == reference, H.c.released_at.is_(None))).scalars().all()
    return [release_hold(conn, i, released_by=released_by, now=now, reason=reason) for i in ids]


def holds_on(conn: Connection, footage_id: int) -> list[Hold]:
    """Active holds keeping this footage: on the file itself or on a class overlapping it."""
    direct = select(H).where(H.c.footage_id == footage_id, H.c.released_at.is_(None))
    via_class = (select(H).select_from(H.join(C, H.c.class_id == C.c.id).join(F, F.c.id == footage_id))
                 .where(H.c.released_at.is_(None), _overlaps_class()))
    rows = list(conn.execute(direct)) + list(conn.execute(via_class))
    return [_hold(r) for r in sorted(rows, key=lambda r: r.id)]


def active_holds(conn: Connection) -> list[Hold]:
    return [_hold(r) for r in conn.execute(select(H).where(H.c.released_at.is_(None)).order_by(H.c.id))]


# --- deletion -------------------------------------------------------------------------------

def check_clock(conn: Connection, now: datetime) -> None:
    """Fail closed: a clock earlier than something already recorded is not trusted to expire data."""
    now = now.replace(tzinfo=None)
    latest_registration = conn.execute(select(F.c.registered_at).order_by(F.c.id.desc()).limit(1)).scalar()
    newest = max(filter(None, [audit.newest_at(conn), latest_registration]), default=None)
    if newest is not None and now < newest:
        raise ClockUntrusted(f"the clock reads {now:%Y-%m-%d %H:%M:%S} UTC, earlier than an entry already recorded "
                             f"({newest:%Y-%m-%d %H:%M:%S} UTC); refusing to delete anything until the clock is fixed")


def check_deletable(conn: Connection, footage_id: int, *, today: date, retention_days: int) -> None:
    """Raise DeletionRefused naming the retain-until date or the hold unless the footage may go."""
    row = conn.execute(select(F).where(F.c.id == footage_id)).first()
    if row is None:
        raise DeletionRefused(f"footage {footage_id} not found")
    if row.deleted_at is not None:
        raise DeletionRefused(f"footage {footage_id} was already deleted on {row.deleted_at:%Y-%m-%d}")
    holds = holds_on(conn, footage_id)
    if holds:
        raise DeletionRefused(f"footage {footage_id} is under {holds[0].describe()}; it cannot be deleted until "
                              f"the hold is released")
    effective = max(row.retain_until, retain_until_for(conn, row.site_id, row.first_day, row.last_day, retention_days))
    if effective >= today:
        raise DeletionRefused(f"footage {footage_id} must be retained until {effective.isoformat()} "
                              f"(two years after the class's last training day); it cannot be deleted before")


@dataclass
class SweepResult:
    today: date
    deleted: int = 0
    files_removed: int = 0
    files_already_gone: int = 0
    bytes_freed: int = 0
    held_expired: int = 0
    errors: list[str] = field(default_factory=list)
    # wall time of the three steps: the deciding transaction (with its commit), removing the files,
    # and recording their outcome
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "deleted": self.deleted, "files_removed": self.files_removed,
                "files_already_gone": self.files_already_gone, "bytes_freed": self.bytes_freed,
                "held_expired": self.held_expired, "errors": self.errors[:20],
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


def sweep(engine: Engine, store: FootageStore, *, now: datetime, today: date, retention_days: int,
          actor: str = "retention-sweep", job_run_id: int | None = None, only_ids: Sequence[int] | None = None,
          audit_batch: int = 10_000) -> SweepResult:
    """Delete expired, unheld footage in two steps, so bytes are only ever removed for a deletion that
    is already committed with its record and audit entry:
    1. one write transaction: check the clock; mark every eligible row deleted (one UPDATE, the rule
       evaluated inside the transaction, no stale list); add the sweep's deletion record (one row,
       files pending) and audit entries listing the ids;
    2. remove the files (this run's, as the UPDATE returned them, and any of a record left pending by
       a run that crashed between the steps or could not remove a file), then record on the deletion
       record how many were removed and which were already gone."""
    now = now.replace(tzinfo=None)
    result = SweepResult(today)
    started = time.perf_counter()
    with transaction(engine, immediate=True) as conn:
        audit.lock(conn)  # no hold can be committed between reading the holds and the UPDATE
        check_clock(conn, now)
        cond = expired_unheld(conn, today, retention_days)
        if only_ids is not None:
            cond = and_(cond, F.c.id.in_(list(only_ids)))
        mine = sorted(_raw(conn.execute(update(F).where(cond).values(status="deleted", deleted_at=now)
                                        .returning(F.c.id, F.c.key, F.c.size))))
        ids = [r[0] for r in mine]
        record_id = None
        if ids:
            record_id = conn.execute(insert(D).values(
                deleted_at=now, today=today, actor=actor, job_run_id=job_run_id, count=len(ids),
                first_footage_id=ids[0], last_footage_id=ids[-1], files_removed=0, files_already_gone=0)
                .returning(D.c.id)).scalar_one()
            audit.append_many(conn, [
                (actor, "footage.deleted", f"footage:{part[0]}..{part[-1]}",
                 {"count": len(part), "ids": part, "deletion_id": record_id, "job_run_id": job_run_id,
                  "today": today.isoformat()})
                for part in (ids[i:i + audit_batch] for i in range(0, len(ids), audit_batch))], at=now)
        if only_ids is None:  # after the UPDATE, what the date rule still selects is held
            result.held_expired = count_held_expired(conn, today, retention_days)
    result.deleted = len(ids)
    result.seconds["decide"] = time.perf_counter() - started
    _remove_pending_files(engine, store, result, now=now, record_id=record_id, mine=mine)
    log.info("retention sweep", extra=result.as_dict())
    return result


def _raw(result: Any) -> list[tuple[Any, ...]]:
    """Plain tuples straight from the DBAPI cursor: building SQLAlchemy rows for hundreds of
    thousands of ids costs more than the query."""
    cursor = result.cursor
    return cursor.fetchall() if cursor is not None else [tuple(r) for r in result]


def _pending_files(conn: Connection, record: Any) -> list[tuple[Any, ...]]:
    """(id, key, size) of the files a pending deletion record still has to remove: those whose removal
    failed, or, if the run died before trying, every footage row it deleted."""
    cols = select(F.c.id, F.c.key, F.c.size).where(F.c.status == "deleted")
    if record.pending_ids is not None:
        ids = json.loads(record.pending_ids)
        return [r for i in range(0, len(ids), 30_000)
                for r in _raw(conn.execute(cols.where(F.c.id.in_(ids[i:i + 30_000]))))]
    return _raw(conn.execute(cols.where(F.c.deleted_at == record.deleted_at)))


def _remove_pending_files(engine: Engine, store: FootageStore, result: SweepResult, *, now: datetime,
                          record_id: int | None, mine: list[tuple[Any, ...]]) -> None:
    """Remove this run's files (`mine`: id, key, size as the UPDATE returned them) and those of any
    earlier record still pending, then write each record's file outcome."""
    with engine.connect() as conn:
        earlier = conn.execute(select(D).where(D.c.files_done_at.is_(None), D.c.id != (record_id or 0))
                               .order_by(D.c.id)).all()
        work = [(r.id, json.loads(r.gone_ids or "[]"), _pending_files(conn, r)) for r in earlier]
    if record_id is not None:
        work.append((record_id, [], mine))
    if not work:
        return
    started = time.perf_counter()
    outcomes = store.delete_many([f[1] for _rec, _gone, files in work for f in files])
    result.seconds["files"] = time.perf_counter() - started
    started = time.perf_counter()
    position = 0
    with transaction(engine, immediate=True) as conn:
        for rec_id, gone, files in work:
            removed, failed, newly_gone = 0, [], []
            for (footage_id, _key, size), outcome in zip(files, outcomes[position:position + len(files)]):
                if outcome is True:
                    removed += 1
                    result.bytes_freed += size
                elif outcome is False:
                    newly_gone.append(footage_id)
                else:  # stays pending; the next sweep retries
                    failed.append(footage_id)
                    result.errors.append(f"footage {footage_id}: {outcome}")
            position += len(files)
            result.files_removed += removed
            result.files_already_gone += len(newly_gone)
            gone += newly_gone
            conn.execute(update(D).where(D.c.id == rec_id).values(
                files_removed=D.c.files_removed + removed, files_already_gone=len(gone),
                gone_ids=json.dumps(sorted(gone), separators=(",", ":")) if gone else None,
                pending_ids=json.dumps(failed, separators=(",", ":")) if failed else None,
                files_done_at=None if failed else now))
    result.seconds["outcome"] = time.perf_counter() - started
