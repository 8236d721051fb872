"""ZKTeco PUSH end to end through the HTTP app and a real database (SQLite, and PostgreSQL when set)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from devices.zkteco_client import AttlogRecord, build_attlog, build_attphoto, build_devicecmd_results
from punchaudit.api.app import create_app
from punchaudit.config import load_settings
from punchaudit.services import terminals
from punchaudit.services.quarantine import list_entries, replay
from storage.db import session_scope
from storage.schema.base import utcnow
from storage.schema.core import Device, DeviceCommand, Punch, PunchPhoto, Quarantine, RawPayload
from tests.seed import seed

pytestmark = pytest.mark.postgres
SN = "0316144680030"


@pytest.fixture
def app(engine: Engine):
    settings = load_settings()
    seeded = seed(engine, zk_serial=SN)
    client = TestClient(create_app(settings, engine))
    client.seeded = seeded  # type: ignore[attr-defined]
    return client


def _count(engine: Engine, model, *where) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _now_local() -> datetime:
    return (utcnow() + timedelta(hours=8)).replace(microsecond=0)


def test_handshake_answers_options_in_spec_layout(app: TestClient) -> None:
    r = app.get("/iclock/cdata", params={"SN": SN, "options": "all", "pushver": "2.4.1", "language": "83"})
    assert r.status_code == 200
    lines = r.text.split("\n")
    assert lines[0] == f"GET OPTION FROM: {SN}"
    assert "Realtime=1" in lines and "TimeZone=8" in lines and "Delay=10" in lines
    assert any(ln.startswith("TransFlag=TransData AttLog\tOpLog\tAttPhoto") for ln in lines)
    # .aspx alias of older firmware
    assert app.get("/iclock/cdata.aspx", params={"SN": SN, "options": "all"}).text == r.text


def test_attlog_batch_is_stored_once_and_resends_are_duplicates(app: TestClient, engine: Engine) -> None:
    base = datetime(2026, 3, 2, 8, 55, 0)
    records = [AttlogRecord(pin=str(100 + i), local_time=base + timedelta(seconds=7 * i), verify=15 if i % 2 else 1)
               for i in range(50)]
    body = build_attlog(records, line_ending="\r\n", field_count=9, trailing_tabs=2)
    r = app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG", "Stamp": "9999"}, content=body)
    assert r.status_code == 200 and r.text.strip() == "OK: 50"
    assert _count(engine, Punch) == 50
    r2 = app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG", "Stamp": "9999"}, content=body)
    assert r2.text.strip() == "OK: 50"  # the terminal may drop its buffer: all 50 are safely stored
    assert _count(engine, Punch) == 50
    assert _count(engine, RawPayload) == 2  # every body is kept as received
    with session_scope(engine) as s:
        p = s.scalars(select(Punch).where(Punch.pin == "101")).one()
        assert p.local_time == base + timedelta(seconds=7)
        assert p.utc_time == p.local_time - timedelta(hours=8)
        assert (p.verify_code, p.method, p.tz_name) == (15, 2, "Asia/Shanghai")  # Method.FACE


def test_malformed_lines_are_quarantined_with_line_numbers(app: TestClient, engine: Engine) -> None:
    good = build_attlog([AttlogRecord("1", datetime(2026, 3, 2, 9, 0)), AttlogRecord("2", datetime(2026, 3, 2, 9, 1))])
    body = good + b"3\t2026-13-45 99:00:00\t0\t15\n\t2026-03-02 09:02:00\t0\t1\n"
    r = app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"}, content=body)
    assert r.status_code == 200 and r.text.strip() == "OK: 2"
    entries = list_entries(app.app.state.engine)
    assert [(e.kind, e.line_no) for e in entries] == [("line", 3), ("line", 4)]
    assert all(e.reason for e in entries)
    assert _count(engine, Punch) == 2
    with session_scope(engine) as s:
        assert s.scalars(select(RawPayload.status)).one() == "partial"


def test_unknown_device_is_refused_quarantined_once_and_replayed_after_registration(app: TestClient, engine: Engine) -> None:
    body = build_attlog([AttlogRecord("7", datetime(2026, 3, 2, 9, 0), verify=1)])
    for _ in range(3):  # terminals retry refused pushes
        r = app.post("/iclock/cdata", params={"SN": "NEWSN001", "table": "ATTLOG"}, content=body)
        assert r.status_code == 403 and "unknown device" in r.text
    entries = list_entries(engine)
    assert len(entries) == 1 and entries[0].kind == "payload" and entries[0].device_serial == "NEWSN001"
    assert _count(engine, Punch) == 0
    out = replay(engine, load_settings(), entries[0].id)
    assert not out.ok and "unknown device" in out.message  # still unregistered: stays quarantined
    with session_scope(engine) as s:
        s.add(Device(serial="NEWSN001", vendor="zkteco", site_id=app.seeded.site_id))  # type: ignore[attr-defined]
    out = replay(engine, load_settings(), entries[0].id)
    assert out.ok, out.message
    assert _count(engine, Punch) == 1
    assert list_entries(engine) == []
    assert _count(engine, RawPayload) == 1  # the replay reused the stored body


def test_disabled_device_is_refused(app: TestClient, engine: Engine) -> None:
    with session_scope(engine) as s:
        s.scalars(select(Device).where(Device.serial == SN)).one().enabled = False
    r = app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"},
                 content=build_attlog([AttlogRecord("1", datetime(2026, 3, 2, 9, 0))]))
    assert r.status_code == 403 and "disabled" in r.text
    assert _count(engine, Punch) == 0 and len(list_entries(engine)) == 1


def test_device_token_and_allowlist(app: TestClient, engine: Engine) -> None:
    import hashlib

    with session_scope(engine) as s:
        d = s.scalars(select(Device).where(Device.serial == SN)).one()
        d.token_hash = hashlib.sha256(b"s3cret").hexdigest()
    body = build_attlog([AttlogRecord("1", datetime(2026, 3, 2, 9, 0))])
    assert app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"}, content=body).status_code == 403
    assert app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG", "token": "wrong"}, content=body).status_code == 403
    assert app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG", "token": "s3cret"}, content=body).status_code == 200
    with session_scope(engine) as s:
        s.scalars(select(Device).where(Device.serial == SN)).one().ip_allowlist = "10.1.0.0/16"
    params = {"SN": SN, "table": "ATTLOG", "token": "s3cret"}
    outside = TestClient(app.app, client=("10.2.0.9", 40000))
    r = outside.post("/iclock/cdata", params=params, content=body)
    assert r.status_code == 403 and "allowlist" in r.text
    inside = TestClient(app.app, client=("10.1.7.9", 40000))
    assert inside.post("/iclock/cdata", params=params, content=body).status_code == 200


def test_clock_faults_are_kept_but_flagged(app: TestClient, engine: Engine) -> None:
    now = _now_local()
    app.get("/iclock/getrequest", params={"SN": SN})  # the terminal is polling: its pushes are realtime
    body = build_attlog([AttlogRecord("1", datetime(1999, 12, 31, 23, 0)),  # before 2000
                         AttlogRecord("2", now + timedelta(days=3)),  # in the future
                         AttlogRecord("3", now)])
    assert app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"}, content=body).text.strip() == "OK: 3"
    with session_scope(engine) as s:
        faults = dict(s.execute(select(Punch.pin, Punch.clock_fault)).all())
    assert faults["1"] != 0 and faults["2"] != 0 and faults["3"] == 0
    # a realtime single push whose time is hours off the receive time: the terminal's clock was reset
    reset = build_attlog([AttlogRecord("4", now - timedelta(hours=5))])
    app.get("/iclock/getrequest", params={"SN": SN})
    app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"}, content=reset)
    with session_scope(engine) as s:
        assert s.scalar(select(Punch.clock_fault).where(Punch.pin == "4")) != 0


def test_body_over_limit_gets_413(engine: Engine) -> None:
    seed(engine, zk_serial=SN)
    settings = load_settings(ingest={"max_body_bytes": 1000})
    client = TestClient(create_app(settings, engine))
    body = build_attlog([AttlogRecord(str(i), datetime(2026, 3, 2, 9, 0)) for i in range(100)])
    assert len(body) > 1000
    assert client.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"}, content=body).status_code == 413
    assert _count(engine, Punch) == 0


def test_attphoto_is_kept_and_linked_to_its_punch(app: TestClient, engine: Engine, faces_dir) -> None:  # type: ignore[no-untyped-def]
    when = datetime(2026, 3, 2, 8, 58, 12)
    app.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"},
             content=build_attlog([AttlogRecord("1001", when, verify=15)]))
    jpeg = (faces_dir / "examples" / "obama_small.jpg").read_bytes()
    r = app.post("/iclock/cdata", params={"SN": SN, "table": "ATTPHOTO"}, content=build_attphoto("1001", when, jpeg, sn=SN))
    assert r.status_code == 200 and r.text.startswith("OK")
    with session_scope(engine) as s:
        photo = s.scalars(select(PunchPhoto)).one()
        punch = s.scalars(select(Punch)).one()
        assert photo.image == jpeg and photo.pin == "1001" and photo.punch_id == punch.id


def test_operlog_flags_clock_and_tamper_events(app: TestClient, engine: Engine) -> None:
    from devices.zkteco_client import OplogRecord, build_operlog
    from storage.schema.core import DeviceLog

    body = build_operlog([OplogRecord(op_code=21, when=datetime(2026, 3, 2, 7, 0)),
                          OplogRecord(op_code=0, when=datetime(2026, 3, 2, 7, 5))])
    r = app.post("/iclock/cdata", params={"SN": SN, "table": "OPERLOG"}, content=body)
    assert r.status_code == 200 and r.text.strip() == "OK: 2"
    with session_scope(engine) as s:
        flags = [row.flag for row in s.scalars(select(DeviceLog).order_by(DeviceLog.id))]
    assert flags[0] is not None and flags[1] is None


def test_command_queue_round_trip(app: TestClient, engine: Engine) -> None:
    ids = terminals.enqueue_backfill(engine, SN, datetime(2026, 3, 1), datetime(2026, 3, 2))
    r = app.get("/iclock/getrequest", params={"SN": SN, "INFO": "Ver 6.60,10,5,120,192.168.1.201,10,7,12,11,111"})
    lines = r.text.strip().split("\n")
    assert lines[0].startswith(f"C:{ids[0]}:DATA QUERY ATTLOG StartTime=2026-03-01 00:00:00\tEndTime=")
    assert lines[1].startswith(f"C:{ids[1]}:VERIFY SUM ATTLOG")
    assert app.get("/iclock/getrequest", params={"SN": SN}).text == "OK"  # each command is sent once
    body = build_devicecmd_results([(ids[0], 0, "DATA"), (ids[1], 0, "VERIFY SUM")])
    assert app.post("/iclock/devicecmd", params={"SN": SN}, content=body).text == "OK"
    with session_scope(engine) as s:
        assert {c.id: c.return_code for c in s.scalars(select(DeviceCommand))} == {ids[0]: 0, ids[1]: 0}


def test_concurrent_pushes_of_the_same_batch_store_it_once(app: TestClient, engine: Engine) -> None:
    body = build_attlog([AttlogRecord(str(i), datetime(2026, 3, 2, 9, 0) + timedelta(seconds=i)) for i in range(300)])
    replies: list[str] = []

    def push() -> None:
        with TestClient(app.app) as c:
            replies.append(c.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"}, content=body).text.strip())

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert replies == ["OK: 300"] * 4
    assert _count(engine, Punch) == 300
