"""The hash-chained audit log: append-only in the database, and any edit, removal, rewrite or
truncation detected."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from storage import audit
from storage.db import transaction

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 1, 1, 2, 30)


def _fill(engine: Engine, n: int = 6) -> None:
    with transaction(engine, immediate=True) as conn:
        for i in range(n):
            audit.append(conn, actor="t", action="hold.set", subject=f"footage:{i}",
                         payload={"i": i, "reason": "证据保全"}, at=T0 + timedelta(minutes=i))


def _without_triggers(engine: Engine, sql: str) -> None:
    with transaction(engine) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
            conn.exec_driver_sql(sql)
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            conn.exec_driver_sql(sql)
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def test_chain_verifies_and_database_refuses_changes(engine: Engine) -> None:
    _fill(engine)
    with engine.connect() as conn:
        v = audit.verify(conn)
    assert v.ok and v.entries == 6 and v.head is not None and v.head.seq == 6
    for sql in ("UPDATE audit_log SET actor = 'x' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 6"):
        with pytest.raises(Exception, match="append-only"):
            with transaction(engine) as conn:
                conn.exec_driver_sql(sql)


@pytest.mark.parametrize("sql,problem", [
    ("UPDATE audit_log SET payload = '{\"i\":2,\"reason\":\"none\"}' WHERE seq = 3", "entry 3: content does not match"),
    ("DELETE FROM audit_log WHERE seq = 4", "entry 5: expected sequence 4"),
    ("UPDATE audit_log SET at = at + interval '1 day' WHERE seq = 2", "entry 2: content"),
])
def test_tampering_is_detected(engine: Engine, sql: str, problem: str) -> None:
    _fill(engine)
    if "interval" in sql and engine.dialect.name == "sqlite":
        sql = "UPDATE audit_log SET at = '2026-01-02 02:31:00.000000' WHERE seq = 2"
    _without_triggers(engine, sql)
    with engine.connect() as conn:
        v = audit.verify(conn)
    assert not v.ok and any(p.startswith(problem) for p in v.problems), v.problems


def test_exported_head_detects_rewrite_and_truncation(engine: Engine, tmp_path: Path) -> None:
    _fill(engine)
    head_file = tmp_path / "head.json"
    with engine.connect() as conn:
        exported = audit.export_head(conn, head_file, now=T0)
    anchor = audit.read_head(head_file)
    assert anchor == exported and anchor.seq == 6
    # someone with the rights to drop triggers rewrites entry 3 and re-chains everything after it
    with engine.connect() as conn:
        rows = conn.execute(audit.select(audit.T).order_by(audit.T.c.seq)).all()
    prev = rows[1].hash
    stmts = []
    for r in rows[2:]:
        payload = '{"i":99}' if r.seq == 3 else r.payload
        h = audit.entry_hash(prev, r.seq, r.at, r.actor, r.action, r.subject, payload)
        stmts.append(f"UPDATE audit_log SET payload = '{payload}', prev_hash = '{prev}', hash = '{h}' WHERE seq = {r.seq}")
        prev = h
    for s in stmts:
        _without_triggers(engine, s)
    with engine.connect() as conn:
        assert audit.verify(conn).ok  # consistent on its own ...
        v = audit.verify(conn, anchor)  # ... but not with the exported head
    assert not v.ok and "rewritten" in v.problems[0]
    _without_triggers(engine, "DELETE FROM audit_log WHERE seq >= 5")
    with engine.connect() as conn:
        v = audit.verify(conn, anchor)
    assert not v.ok and "truncated" in v.problems[-1]


def test_appends_from_two_threads_keep_one_chain(engine: Engine) -> None:
    import threading

    def worker(k: int) -> None:
        for i in range(10):
            with transaction(engine, immediate=True) as conn:
                audit.append(conn, actor=f"w{k}", action="x", subject=str(i), payload={}, at=T0)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        v = audit.verify(conn)
    assert v.ok and v.entries == 30
