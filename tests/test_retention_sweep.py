"""Retention at the two-year boundary with a controlled clock, legal holds, refused deletions, clock
trust, and the only-extend rule."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from footage_testkit import make_world, settings_for, write_video
from punchaudit import scheduler
from punchaudit.services import footage as svc
from storage import audit, retention
from storage.db import transaction
from storage.schema.core import TrainingClass
from storage.schema.footage import Footage, RetentionDeletion

pytestmark = pytest.mark.postgres
REGISTERED = datetime(2024, 3, 8, 12, 0)
CLASS_END = date(2024, 3, 8)
KEEP_THROUGH = date(2026, 3, 8)  # 730 days after the last training day


def at_local_day(d: date) -> datetime:
    """03:00 UTC = 11:00 in Asia/Shanghai on day d."""
    return datetime(d.year, d.month, d.day, 3, 0)


@pytest.fixture
def world(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    ids = make_world(engine, class_end=CLASS_END)
    settings = settings_for(tmp_path)
    store = svc.store_for(settings)
    root = Path(settings.footage.root)
    regs = []
    for i in range(3):
        path = write_video(root / "S1" / "cam1" / f"cam1_2024030{5 + i}T080000_2024030{5 + i}T080002.mp4", seconds=2)
        regs.append(svc.register_file(engine, settings, store, path, site="S1", actor="t", now=REGISTERED))
    return ids, settings, store, [r.id for r in regs]


def _statuses(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Footage.id, Footage.status)).all())


def test_two_year_boundary_and_holds(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    ids, settings, store, fids = world
    assert all(r == KEEP_THROUGH for r in _retains(engine))
    svc.set_hold(engine, footage_id=fids[1], reason="complaint under review", set_by="inspector-wang",
                 now=REGISTERED + timedelta(days=1))
    # one day short of two years, and exactly two years: everything survives
    for day in (KEEP_THROUGH - timedelta(days=1), KEEP_THROUGH):
        res = scheduler.run_job("retention_sweep", engine, settings, now=at_local_day(day))
        assert res.status == "ok" and res.outcome["deleted"] == 0
    assert set(_statuses(engine).values()) == {"ok"}
    # one day past: purged, except the held file
    res = scheduler.run_job("retention_sweep", engine, settings, now=at_local_day(KEEP_THROUGH + timedelta(days=1)))
    assert res.outcome["deleted"] == 2 and res.outcome["files_removed"] == 2 and res.outcome["held_expired"] == 1
    st = _statuses(engine)
    assert st == {fids[0]: "deleted", fids[1]: "ok", fids[2]: "deleted"}
    with engine.connect() as conn:
        keys = {r.id: r.key for r in conn.execute(select(Footage))}
        dels = conn.execute(select(RetentionDeletion)).all()
        gone_rows = conn.execute(select(Footage).where(Footage.status == "deleted")).all()
        entries = [r for r in conn.execute(select(audit.T).order_by(audit.T.c.seq))]
        assert audit.verify(conn).ok
    assert not store.exists(keys[fids[0]]) and store.exists(keys[fids[1]])
    # one deletion record for the sweep; the deleted rows point at it by their deletion time and keep
    # what justified the deletion
    assert len(dels) == 1 and dels[0].job_run_id == res.run_id and dels[0].count == 2
    assert (dels[0].first_footage_id, dels[0].last_footage_id) == (fids[0], fids[2])
    assert dels[0].files_done_at is not None and dels[0].files_removed == 2 and dels[0].gone_ids is None
    assert sorted(r.id for r in gone_rows) == [fids[0], fids[2]]
    assert {r.deleted_at for r in gone_rows} == {dels[0].deleted_at}
    assert {r.retain_until for r in gone_rows} == {KEEP_THROUGH}
    deleted_entry = [e for e in entries if e.action == "footage.deleted"]
    assert len(deleted_entry) == 1 and '"ids":[%d,%d]' % (fids[0], fids[2]) in deleted_entry[0].payload
    # release the hold: the next sweep purges it
    with engine.connect() as conn:
        hold = retention.holds_on(conn, fids[1])[0]
    svc.release_hold(engine, hold.id, released_by="inspector-wang", now=at_local_day(KEEP_THROUGH + timedelta(days=2)),
                     reason="closed")
    res = scheduler.run_job("retention_sweep", engine, settings, now=at_local_day(KEEP_THROUGH + timedelta(days=3)))
    assert res.outcome["deleted"] == 1 and _statuses(engine)[fids[1]] == "deleted"


def _retains(engine: Engine) -> list[date]:
    with engine.connect() as conn:
        return list(conn.execute(select(Footage.retain_until)).scalars())


def test_class_hold_keeps_every_overlapping_file(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    ids, settings, store, fids = world
    svc.set_hold(engine, class_id=ids["class"], reason="sampling inspection open", set_by="sampling",
                 kind="inspection", reference="inspection:7", now=REGISTERED)
    # one file is also held on its own: held twice, counted once
    svc.set_hold(engine, footage_id=fids[2], reason="complaint", set_by="inspector-wang", now=REGISTERED)
    res = scheduler.run_job("retention_sweep", engine, settings, now=at_local_day(KEEP_THROUGH + timedelta(days=30)))
    assert res.outcome["deleted"] == 0 and res.outcome["held_expired"] == 3
    released = svc.release_holds_for(engine, "inspection:7", released_by="sampling", now=at_local_day(KEEP_THROUGH))
    assert len(released) == 1
    res = scheduler.run_job("retention_sweep", engine, settings, now=at_local_day(KEEP_THROUGH + timedelta(days=31)))
    assert res.outcome["deleted"] == 2 and res.outcome["held_expired"] == 1
    assert _statuses(engine)[fids[2]] == "ok"


def test_other_deletes_are_refused_naming_date_or_hold(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    ids, settings, store, fids = world
    with pytest.raises(retention.DeletionRefused, match=r"retained until 2026-03-08"):
        svc.delete_footage(engine, settings, store, fids[0], actor="admin", now=at_local_day(KEEP_THROUGH))
    svc.set_hold(engine, footage_id=fids[0], reason="fraud case 12", set_by="inspector-li", now=REGISTERED)
    with pytest.raises(retention.DeletionRefused, match=r"legal hold \d+ on footage .*inspector-li.*fraud case 12"):
        svc.delete_footage(engine, settings, store, fids[0], actor="admin", now=at_local_day(KEEP_THROUGH + timedelta(days=5)))
    # expired and unheld: an operator's delete goes through the sweep's path
    res = svc.delete_footage(engine, settings, store, fids[2], actor="admin", now=at_local_day(KEEP_THROUGH + timedelta(days=5)))
    assert res.deleted == 1 and _statuses(engine)[fids[2]] == "deleted"
    with pytest.raises(retention.DeletionRefused, match="already deleted"):
        svc.delete_footage(engine, settings, store, fids[2], actor="admin", now=at_local_day(KEEP_THROUGH + timedelta(days=6)))


def test_untrusted_clock_deletes_nothing(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    ids, settings, store, fids = world
    late = at_local_day(KEEP_THROUGH + timedelta(days=10))
    svc.set_hold(engine, footage_id=fids[0], reason="x", set_by="i", now=late)  # an audit entry at `late`
    res = scheduler.run_job("retention_sweep", engine, settings, now=late - timedelta(days=3))
    assert res.status == "failed" and "ClockUntrusted" in res.outcome["error"]
    assert set(_statuses(engine).values()) == {"ok"}


def test_retention_is_only_extended(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    ids, settings, store, fids = world
    with pytest.raises(retention.RetentionError, match="only be extended"):
        with transaction(engine) as conn:
            retention.extend_retention(conn, fids[0], date(2025, 1, 1), actor="a", now=REGISTERED, reason="x")
    with pytest.raises(Exception, match="only be extended"):
        with transaction(engine) as conn:
            conn.execute(update(Footage).where(Footage.id == fids[0]).values(retain_until=date(2025, 1, 1)))
    with transaction(engine) as conn:
        retention.extend_retention(conn, fids[0], date(2027, 1, 1), actor="a", now=REGISTERED, reason="court order")
    # the class runs a month longer: its footage is kept two years from the new end, even before the
    # stored dates are refreshed
    with transaction(engine) as conn:
        conn.execute(update(TrainingClass).where(TrainingClass.id == ids["class"]).values(end_date=date(2024, 4, 8)))
    res = scheduler.run_job("retention_sweep", engine, settings, now=at_local_day(KEEP_THROUGH + timedelta(days=1)))
    assert res.outcome["deleted"] == 0
    # the nightly integrity job brings the stored dates along
    res = scheduler.run_job("integrity_verify", engine, settings, now=at_local_day(KEEP_THROUGH + timedelta(days=1)))
    assert res.status == "ok" and res.outcome["retain_until_extended"] == 2
    assert sorted(_retains(engine)) == [date(2026, 4, 8), date(2026, 4, 8), date(2027, 1, 1)]
    with pytest.raises(retention.RetentionError, match="below the two-year minimum"):
        with engine.connect() as conn:
            retention.expired_unheld(conn, date(2026, 1, 1), 700)


def test_files_left_by_a_crashed_sweep_are_removed_next_time(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    ids, settings, store, fids = world
    day = at_local_day(KEEP_THROUGH + timedelta(days=1))
    # step 1 only, as if the process died before removing the files
    with transaction(engine, immediate=True) as conn:
        rows = conn.execute(update(Footage).where(retention.expired_unheld(conn, KEEP_THROUGH + timedelta(days=1), 730))
                            .values(status="deleted", deleted_at=day).returning(Footage.id, Footage.key)).all()
        conn.execute(RetentionDeletion.__table__.insert().values(
            deleted_at=day, today=KEEP_THROUGH + timedelta(days=1), actor="retention-sweep", count=len(rows),
            first_footage_id=min(r.id for r in rows), last_footage_id=max(r.id for r in rows), files_removed=0,
            files_already_gone=0))
    assert all(store.exists(r.key) for r in rows) and len(rows) == 3
    store.delete(rows[0].key)  # one vanished meanwhile
    res = svc.run_sweep(engine, settings, store, now=day + timedelta(hours=1))
    assert res.deleted == 0 and res.files_removed == 2 and res.files_already_gone == 1
    assert not any(store.exists(r.key) for r in rows)
    with engine.connect() as conn:
        rec = conn.execute(select(RetentionDeletion)).one()
    assert rec.files_done_at is not None and rec.files_removed == 2 and rec.files_already_gone == 1
    assert rec.gone_ids == f"[{rows[0].id}]" and rec.pending_ids is None
    # done: the next sweep has nothing left to remove
    res = svc.run_sweep(engine, settings, store, now=day + timedelta(hours=2))
    assert res.files_removed == 0 and res.files_already_gone == 0


def test_a_file_that_cannot_be_removed_stays_pending_and_is_retried(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    ids, settings, store, fids = world
    day = at_local_day(KEEP_THROUGH + timedelta(days=1))
    with engine.connect() as conn:
        keys = dict(conn.execute(select(Footage.id, Footage.key)).all())
    stuck = Path(settings.footage.root) / keys[fids[1]]
    stuck.unlink()
    stuck.mkdir()  # unlink() of a directory fails: the removal errors out
    (stuck / "x").write_bytes(b"x")
    res = svc.run_sweep(engine, settings, store, now=day)
    assert res.deleted == 3 and res.files_removed == 2 and len(res.errors) == 1
    with engine.connect() as conn:
        rec = conn.execute(select(RetentionDeletion)).one()
    assert rec.files_done_at is None and rec.pending_ids == f"[{fids[1]}]" and rec.files_removed == 2
    (stuck / "x").unlink()
    stuck.rmdir()
    stuck.write_bytes(b"back")
    res = svc.run_sweep(engine, settings, store, now=day + timedelta(hours=1))
    assert res.deleted == 0 and res.files_removed == 1 and not res.errors and not stuck.exists()
    with engine.connect() as conn:
        rec = conn.execute(select(RetentionDeletion)).one()
    assert rec.files_done_at is not None and rec.pending_ids is None and rec.files_removed == 3


def test_a_hold_committed_during_a_sweep_is_respected(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    """An inspector's hold whose transaction is open when the sweep starts: the sweep waits for it
    and keeps the class's footage, instead of deciding on the holds it saw before."""
    import threading
    import time

    ids, settings, store, fids = world
    day = at_local_day(KEEP_THROUGH + timedelta(days=1))
    holding = threading.Event()

    def inspector() -> None:
        with transaction(engine, immediate=True) as conn:
            retention.set_hold(conn, class_id=ids["class"], reason="late complaint", set_by="inspector", now=day)
            holding.set()
            time.sleep(0.5)  # the sweep starts meanwhile

    t = threading.Thread(target=inspector)
    t.start()
    holding.wait(10)
    res = svc.run_sweep(engine, settings, store, now=day + timedelta(seconds=1))
    t.join()
    assert res.deleted == 0 and set(_statuses(engine).values()) == {"ok"}
