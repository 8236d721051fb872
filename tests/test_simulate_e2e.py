"""The terminal simulator against a real server on a loopback port: the whole ingest path over HTTP."""
from __future__ import annotations

import socket
import threading
import time
from datetime import date

import pytest
import uvicorn
from sqlalchemy import Engine, func, select

from punchaudit import simulate as sim
from punchaudit.api.app import create_app
from punchaudit.config import load_settings
from storage.db import session_scope
from storage.schema.core import Punch, Quarantine
from tests.seed import seed


@pytest.fixture
def server(engine: Engine):  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(load_settings(), engine), host="127.0.0.1", port=port,
                                        log_config=None, access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_simulated_terminals_lose_nothing_and_count_nothing_twice(engine: Engine, server: str) -> None:
    s = seed(engine, zk_serial="ZK-SIM-1", hik_serial="HIK-SIM-1")
    pins = tuple(f"{i:04d}" for i in range(1, 13))
    plan = sim.SimPlan(
        terminals=(sim.SimTerminal("ZK-SIM-1", "zkteco", pins), sim.SimTerminal("HIK-SIM-1", "hikvision", pins[:5])),
        days=sim.recent_weekdays(3, date(2026, 3, 7)), batch_lines=7, absent_rate=0.0, seed=5)
    reports = {r.serial: r for r in sim.run(server, plan)}
    zk, hik, rogue = reports["ZK-SIM-1"], reports["HIK-SIM-1"], reports["ZK-UNREGISTERED-01"]
    assert zk.errors == [] and hik.errors == []
    assert zk.lines_acked == zk.lines_sent and hik.lines_acked == hik.lines_sent
    assert zk.resent_lines == 7 and rogue.refused == 2
    with session_scope(engine) as ss:
        stored = ss.scalar(select(func.count()).select_from(Punch))
        faults = ss.scalars(select(Punch.local_time).where(Punch.clock_fault != 0)).all()
        quarantined = ss.execute(select(Quarantine.kind, Quarantine.device_serial)).all()
    # every acknowledged line is stored exactly once, except the resent batch and the garbled line
    assert stored == zk.lines_acked + hik.lines_acked - zk.resent_lines - 1
    assert [f.year for f in faults] == [2000]  # the clock reset, kept and flagged
    assert sorted(quarantined) == [("line", "ZK-SIM-1"), ("payload", "ZK-UNREGISTERED-01")]
    assert s.site_id
