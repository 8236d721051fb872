"""Group commit on SQLite: concurrent writes share transactions, each returns only after the commit
that holds it, a failing write is rolled back alone, and a failed commit fails every write of its group."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from storage.db import WriteGroup
from storage.schema.core import Institution

I = Institution.__table__


def _add(code: str):  # type: ignore[no-untyped-def]
    def fn(conn: Connection) -> int:
        return conn.execute(insert(I).values(code=code, name=code).returning(I.c.id)).scalar_one()
    return fn


def _codes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(I.c.code)).scalars())


def _when_queued(group: WriteGroup, n: int, timeout: float = 10.0) -> None:
    """Block the current group's leader until `n` more writes wait, so they form the next group."""
    deadline = time.monotonic() + timeout
    while len(group._queue) < n:
        assert time.monotonic() < deadline, "writes did not queue"
        time.sleep(0.001)


def test_concurrent_writes_are_committed_in_shared_transactions(engine: Engine) -> None:
    group = WriteGroup(engine)
    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(lambda i: group.run(_add(f"C{i:03d}")), range(200)))
    assert len(set(ids)) == 200
    assert _codes(engine) == {f"C{i:03d}" for i in range(200)}
    assert 1 <= group.groups < 200


def test_a_failing_write_is_rolled_back_alone(engine: Engine) -> None:
    group = WriteGroup(engine)
    outcomes: dict[str, object] = {}

    def first(conn: Connection) -> int:
        _when_queued(group, 4)
        return _add("FIRST")(conn)

    def duplicate(conn: Connection) -> int:  # half done when it fails: its savepoint undoes both
        _add("HALF")(conn)
        return _add("FIRST")(conn)

    def call(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        try:
            outcomes[name] = group.run(fn)
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[name] = exc

    leader = threading.Thread(target=call, args=("first", first))
    leader.start()
    while not group._leading:
        time.sleep(0.001)
    followers = [threading.Thread(target=call, args=(name, fn)) for name, fn in
                 (("a", _add("A")), ("dup", duplicate), ("b", _add("B")), ("c", _add("C")))]
    for t in followers:
        t.start()
    for t in [leader, *followers]:
        t.join(10)
    assert isinstance(outcomes["dup"], IntegrityError)
    assert all(isinstance(outcomes[k], int) for k in ("first", "a", "b", "c"))
    assert _codes(engine) == {"FIRST", "A", "B", "C"}
    assert group.groups == 2  # the leader's own, then the four queued behind it together


def test_a_failed_commit_fails_every_write_of_its_group(engine: Engine) -> None:
    group = WriteGroup(engine)

    def orphan(conn: Connection) -> None:
        # a deferred foreign-key violation passes the statement and fails at COMMIT
        conn.execute(text("PRAGMA defer_foreign_keys=ON"))
        conn.execute(text("INSERT INTO site (institution_id, code, name, timezone) VALUES (999999, 'S', 'orphan', 'Asia/Shanghai')"))

    errors: list[BaseException] = []

    def first(conn: Connection) -> None:
        _when_queued(group, 2)

    def call(fn) -> None:  # type: ignore[no-untyped-def]
        try:
            group.run(fn)
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            errors.append(exc)

    leader = threading.Thread(target=call, args=(first,))
    leader.start()
    while not group._leading:
        time.sleep(0.001)
    followers = [threading.Thread(target=call, args=(fn,)) for fn in (_add("KEPT?"), orphan)]
    for t in followers:
        t.start()
    for t in [leader, *followers]:
        t.join(10)
    assert len(errors) == 2 and all(isinstance(e, IntegrityError) for e in errors)
    assert _codes(engine) == set()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(text("site"))).scalar_one() == 0
    # the group is usable afterwards
    assert group.run(_add("AFTER")) > 0


@pytest.mark.parametrize("n", [1, 3])
def test_a_lone_write_is_its_own_group(engine: Engine, n: int) -> None:
    group = WriteGroup(engine)
    for i in range(n):
        group.run(_add(f"L{i}"))
    assert group.groups == n


def test_a_write_that_opens_another_write_fails_instead_of_waiting_forever(engine: Engine) -> None:
    group = WriteGroup(engine)

    def nested(conn: Connection) -> int:
        _add("OUTER")(conn)
        return group.run(_add("INNER"))

    with pytest.raises(RuntimeError, match="another write"):
        group.run(nested)
    assert _codes(engine) == set()
    assert group.run(_add("NEXT")) > 0
