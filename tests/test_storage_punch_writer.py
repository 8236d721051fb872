"""The punch writer stores the same rows whichever path a batch takes: shared values written into the
SQL as literals and times derived in SQLite from the wire text (SQLite's fast path), or every value
bound (a batch with mixed offsets, zones or outcomes, and PostgreSQL). Rows are compared column by
column with what the ORM reads back, so the unique key sees equal text whatever path wrote it."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, select

from devices import zkteco
from devices.punch import Method, PunchColumns, PunchSource
from devices.punch import Punch as PunchRecord
from storage import punches as repo
from storage.db import transaction
from storage.schema.core import Device, Punch
from tests.seed import seed

pytestmark = pytest.mark.postgres
# below repo._LITERALS_FROM every column is bound; from it on, shared values become literals
SIZES = pytest.mark.parametrize("n", [5, 2 * repo._LITERALS_FROM])

COLUMNS = ("source", "pin", "local_time", "tz_name", "utc_time", "method", "verify_code", "status_code", "success",
           "clock_fault", "serial_no", "work_code", "line_no", "received_at")
RECEIVED = datetime(2026, 3, 2, 9, 30, 0, 123456)


def _devices(engine: Engine) -> tuple[int, int]:
    s = seed(engine)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Device.serial, Device.id)).all())
    return ids[s.zk_serial], ids[s.hik_serial]


def _write(engine: Engine, device_id: int, punches: list[PunchRecord], faults: list[int] | None = None) -> int:
    with transaction(engine, immediate=True) as conn:
        return repo.insert_punches(conn, device_id=device_id, raw_payload_id=None, punches=punches,
                                   clock_faults=np.array(faults or [0] * len(punches), dtype=np.int8),
                                   received_at=RECEIVED)


def _stored(engine: Engine, device_id: int) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(*(getattr(Punch, c) for c in COLUMNS)).where(Punch.device_id == device_id)
                            .order_by(Punch.line_no)).all()
    return [tuple(r) for r in rows]


def _attlog(lines: list[str], tz: str = "Asia/Shanghai") -> list[PunchRecord]:
    punches, rejected = zkteco.parse_attlog(("\n".join(lines) + "\n").encode(), "SN", tz)
    assert not rejected
    return punches


def _without_wire_time(punches: list[PunchRecord]) -> list[PunchRecord]:
    return [dataclasses.replace(p, wire_time=None) for p in punches]


def _expected(punches: list[PunchRecord], faults: list[int] | None = None) -> list[tuple[object, ...]]:
    faults = faults or [0] * len(punches)
    return [(p.source.value, p.pin, p.local_time, p.tz_name, p.utc_time, int(p.method),
             -1 if p.verify_code is None else p.verify_code, -1 if p.status_code is None else p.status_code,
             p.success, f, p.serial_no, p.work_code, p.line_no, RECEIVED) for p, f in zip(punches, faults)]


@SIZES
def test_wire_time_path_stores_what_the_bound_path_stores(engine: Engine, n: int) -> None:
    zk, other = _devices(engine)
    lines = [f"{100 + i}\t2026-03-02 {7 + i % 3:02d}:{i % 60:02d}:{(7 * i) % 60:02d}\t{i % 2}\t{(1, 15, 4)[i % 3]}\t{i % 4}\t\t"
             for i in range(n)]
    fast = _attlog(lines)
    assert all(p.wire_time for p in fast)
    assert isinstance(fast, PunchColumns) is (n >= zkteco._COLUMNS_FROM_LINES)  # columns vs Punch objects
    assert _write(engine, zk, fast) == n
    assert _write(engine, other, _without_wire_time(fast)) == n
    assert _stored(engine, zk) == _stored(engine, other) == _expected(fast)
    # a resend through either path is a duplicate of what the other wrote
    assert _write(engine, zk, _without_wire_time(fast)) == 0
    assert _write(engine, other, fast) == 0


@SIZES
def test_a_batch_across_a_dst_switch_keeps_each_punch_its_own_offset(engine: Engine, n: int) -> None:
    zk, _ = _devices(engine)
    # Europe/Berlin leaves summer time at 03:00 on 2026-10-25: two offsets in one batch
    punches = _attlog([f"{i}\t2026-10-{24 + i % 2} 12:00:00\t0\t15" for i in range(n)], tz="Europe/Berlin")
    assert len({p.local_time - p.utc_time for p in punches}) == 2
    assert _write(engine, zk, punches) == n
    stored = _stored(engine, zk)
    assert [r[4] for r in stored[:2]] == [datetime(2026, 10, 24, 10, 0), datetime(2026, 10, 25, 11, 0)]
    assert stored == _expected(punches)


@SIZES
def test_values_that_differ_within_a_batch_are_bound_per_row(engine: Engine, n: int) -> None:
    zk, _ = _devices(engine)
    base = datetime(2026, 3, 2, 8, 0, 0, 250_000)  # sub-second times have no wire text form
    punches = [
        PunchRecord(PunchSource.HIKVISION if i % 3 else PunchSource.SHEET, "SN", str(i), base + timedelta(minutes=i), base + timedelta(minutes=i, hours=-8),
                    "O'Brien/Zone" if i % 2 else "+08:00", Method.FACE, None if i == 0 else 75, None,
                    success=i % 3 != 0, serial_no=1000 + i, work_code=None, line_no=i + 1)
        for i in range(n)
    ]
    faults = [(0, 2, 0, 1, 0)[i % 5] for i in range(n)]
    assert _write(engine, zk, punches, faults) == n
    assert _stored(engine, zk) == _expected(punches, faults)


@SIZES
def test_a_uniform_batch_keeps_its_shared_values(engine: Engine, n: int) -> None:
    zk, _ = _devices(engine)
    punches = _attlog([f"{i}\t2026-03-02 08:{i // 60:02d}:{i % 60:02d}\t0\t1" for i in range(n)])
    faults = [3] * n  # every punch the same clock fault: written once into the statement
    assert _write(engine, zk, punches, faults) == n
    assert _stored(engine, zk) == _expected(punches, faults)


@SIZES
def test_clock_faults_that_differ_within_a_batch_are_bound_per_row(engine: Engine, n: int) -> None:
    zk, other = _devices(engine)
    punches = _attlog([f"{i}\t2026-03-02 08:{i // 60:02d}:{i % 60:02d}\t0\t15\t3" for i in range(n)], tz="+05:30")
    faults = [(0, 2, 1)[i % 3] for i in range(n)]
    assert _write(engine, zk, punches, faults) == n
    assert _write(engine, other, _without_wire_time(punches), faults) == n
    assert _stored(engine, zk) == _stored(engine, other) == _expected(punches, faults)
    assert _stored(engine, zk)[0][4] == datetime(2026, 3, 2, 2, 30)


def test_raw_payload_is_stored_as_received(engine: Engine) -> None:
    """The raw body and its metadata read back through the ORM exactly as given (SQLite writes them
    through the driver, in SQLAlchemy's own datetime text form)."""
    from storage.schema.core import RawPayload

    zk, _ = _devices(engine)
    body = "1\t2026-03-02 08:00:00\t0\t15\n".encode() + bytes(range(256))
    received = datetime(2026, 3, 2, 0, 0, 1, 654321)
    with transaction(engine, immediate=True) as conn:
        ref = repo.store_raw(conn, source="zkteco", device_serial="SN-1", device_id=zk, table_name="ATTLOG", body=body,
                             query="SN=SN-1&table=ATTLOG", content_type="text/plain", remote_addr="10.0.0.7",
                             received_at=received, status="accepted")
    with engine.connect() as conn:
        row = conn.execute(select(RawPayload.__table__).where(RawPayload.id == ref.id)).one()
    import hashlib

    assert (row.source, row.device_serial, row.device_id, row.table_name, row.query, row.content_type,
            row.remote_addr, bytes(row.body), row.sha256, row.received_at, row.status) == (
        "zkteco", "SN-1", zk, "ATTLOG", "SN=SN-1&table=ATTLOG", "text/plain", "10.0.0.7", body,
        hashlib.sha256(body).hexdigest(), received, "accepted")
    assert ref.sha256 == row.sha256


def test_a_push_sets_the_device_last_seen_time(engine: Engine) -> None:
    zk, other = _devices(engine)
    seen = datetime(2026, 3, 2, 0, 0, 2, 5)
    with transaction(engine, immediate=True) as conn:
        repo.touch_device(conn, zk, seen)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(Device.id, Device.last_seen_at).where(Device.id.in_([zk, other]))).all())
    assert rows == {zk: seen, other: None}
