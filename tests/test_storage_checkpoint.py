"""Background WAL checkpoints: the write group's commits get their pages copied back into the database
file off the writer's path, and the writers' own checkpoint still bounds the log."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from storage import db
from storage.checkpoint import Checkpointer

PAGE = db.PAGE_SIZE


def _engine(path: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    return engine


def _insert_pages(pages: int, start: int = 0):  # type: ignore[no-untyped-def]
    def fn(conn: Connection) -> None:  # about one page per row
        conn.exec_driver_sql("INSERT INTO t (id, blob) VALUES (?, zeroblob(?))", [(start + i, PAGE - 200) for i in range(pages)])
    return fn


def _wal_frames_unbackfilled(path: Path) -> tuple[int, int]:
    """(frames in the log, frames copied back), read by a PASSIVE checkpoint of an outside connection."""
    con = sqlite3.connect(path)
    try:
        _busy, log, done = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return log, done
    finally:
        con.close()


def test_write_group_checkpoints_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    engine = _engine(path)
    group = db.write_group(engine)
    assert isinstance(group.checkpointer, Checkpointer)
    db.write(engine, _insert_pages(40))
    group.checkpointer.wait(10)
    assert group.checkpointer.runs == 1
    # the pages the commit wrote were copied into the database file by the background thread (40
    # pages are far below the writers' own mark, so SQLite alone would have left them in the log)
    assert path.stat().st_size >= 40 * PAGE
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 40
    engine.dispose()


def test_one_checkpoint_at_a_time_and_spaced(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "b.db")
    group = db.write_group(engine)
    assert group.checkpointer is not None
    group.checkpointer.min_interval = group.checkpointer.max_interval = 3600  # one now, none for an hour
    threads = [threading.Thread(target=db.write, args=(engine, _insert_pages(5, 1000 * k))) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    group.checkpointer.wait(10)
    assert group.checkpointer.runs == 1
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 40
    engine.dispose()


def test_the_writers_own_checkpoint_bounds_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With background checkpoints held off, the log still starts over once it passes the mark."""
    monkeypatch.setattr(db, "WAL_AUTOCHECKPOINT_PAGES", 50)
    path = tmp_path / "c.db"
    engine = _engine(path)
    group = db.write_group(engine)
    assert group.checkpointer is not None
    group.checkpointer._last = float("inf")  # no background checkpoint at all
    for k in range(20):  # 20 commits of ~10 pages: 200 pages in all
        db.write(engine, _insert_pages(10, 1000 * k))
    wal = Path(f"{path}-wal")
    # the log is reused from its start after each checkpoint, so its file never held much more than
    # the mark plus one commit; SQLite's default mark (1,000 pages) would have let it hold all 200
    assert wal.stat().st_size < (50 + 2 * 11) * (PAGE + 24)
    log, done = _wal_frames_unbackfilled(path)
    assert log <= 50 + 11 and done == log
    assert group.checkpointer.runs == 0
    engine.dispose()


def test_spacing_follows_the_rate_the_log_grows(tmp_path: Path) -> None:
    """The next checkpoint is spaced so that it would copy about 1,000 pages at the rate the log grew
    since the previous one: a trickle spaces them out, a bulk load brings them back to the minimum."""
    path = tmp_path / "d.db"
    engine = _engine(path)
    checkpointer = db.write_group(engine).checkpointer
    assert checkpointer is not None and checkpointer.interval == checkpointer.min_interval == 0.25

    def checkpoint(seconds_since_previous: float) -> float:  # as request() would start it, on this thread
        assert checkpointer._running.acquire(blocking=False)
        checkpointer._run(seconds_since_previous)
        return checkpointer.interval

    db.write(engine, _insert_pages(2))  # the first checkpoint has no rate to go by
    checkpointer.wait(10)
    assert checkpointer.runs == 1 and checkpointer.interval == 0.25
    db.write(engine, _insert_pages(2, 100))
    assert checkpoint(1.0) == checkpointer.max_interval  # a few pages in a second: 4 s apart
    db.write(engine, _insert_pages(1500, 10_000))
    assert 0.5 < checkpoint(1.0) < 0.8  # ~1,500 pages in a second: 1,000 pages take 2/3 s
    db.write(engine, _insert_pages(1500, 20_000))
    assert checkpoint(0.3) == checkpointer.min_interval  # ~1,500 in 0.3 s: as often as allowed
    assert checkpointer.runs == 4
    engine.dispose()


def test_a_database_removed_meanwhile_is_not_recreated(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    sqlite3.connect(path).close()
    checkpointer = Checkpointer(str(path))
    path.unlink()
    checkpointer.request()
    checkpointer.wait(10)
    assert checkpointer.runs == 0 and not path.exists()


def test_memory_databases_have_no_checkpointer() -> None:
    engine = db.make_engine("sqlite://")
    assert db.write_group(engine).checkpointer is None
