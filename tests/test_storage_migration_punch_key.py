"""Migration 0007 re-orders the punch dedupe key on a database that already holds punches: what was a
duplicate before is one after, and downgrading restores the old order."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from devices import zkteco
from storage import punches as repo
from storage.db import make_engine, transaction
from storage.migrate import downgrade, upgrade
from tests.seed import seed


def _key_columns(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[2] for r in conn.exec_driver_sql("PRAGMA index_info('uq_punch_device_key')")]


def _store(engine: Engine, body: bytes) -> int:
    punches, _ = zkteco.parse_attlog(body, "SN", "Asia/Shanghai")
    with transaction(engine, immediate=True) as conn:
        return repo.insert_punches(conn, device_id=1, raw_payload_id=None, punches=punches,
                                   clock_faults=np.zeros(len(punches), np.int8), received_at=datetime(2026, 3, 3))


def test_the_key_is_time_first_and_keeps_deduplicating_stored_punches(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    assert _key_columns(engine) == ["device_id", "pin", "local_time", "verify_code", "status_code"]
    seed(engine, zk_serial="SN")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id FROM device WHERE serial = 'SN'").scalar() == 1
    body = "".join(f"{100 + i}\t2026-03-02 08:{i:02d}:00\t0\t15\t0\n" for i in range(40)).encode()
    assert _store(engine, body) == 40

    upgrade(engine)
    assert _key_columns(engine) == ["device_id", "local_time", "pin", "verify_code", "status_code"]
    assert _store(engine, body) == 0  # the resend stored before the migration is still a duplicate
    assert _store(engine, body.replace(b"\t0\t15\t", b"\t1\t15\t")) == 40  # another status is another punch

    downgrade(engine, "punch_key@-1")
    assert _key_columns(engine) == ["device_id", "pin", "local_time", "verify_code", "status_code"]
    assert _store(engine, body) == 0
