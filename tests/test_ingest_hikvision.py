"""Hikvision ISAPI event pushes and spreadsheet uploads through the real app and database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from devices import hikvision
from devices.sheets import build_csv, build_xlsx
from punchaudit.api.app import create_app
from punchaudit.config import load_settings
from punchaudit.services import terminals
from punchaudit.services.quarantine import list_entries
from storage.db import session_scope
from storage.schema.core import Punch, PunchPhoto
from tests.seed import seed

pytestmark = pytest.mark.postgres
HIK = "DS-K1T673DX-001"
CST = timezone(timedelta(hours=8))


@pytest.fixture
def client(engine: Engine) -> TestClient:
    seed(engine, hik_serial=HIK)
    return TestClient(create_app(load_settings(), engine))


def _punches(engine: Engine) -> list[Punch]:
    with session_scope(engine) as s:
        return list(s.scalars(select(Punch).order_by(Punch.serial_no)))


def test_multipart_event_with_picture(client: TestClient, engine: Engine, faces_dir) -> None:  # type: ignore[no-untyped-def]
    when = datetime.now(CST).replace(microsecond=0)
    jpeg = (faces_dir / "examples" / "obama_small.jpg").read_bytes()
    body, ctype = hikvision.build_multipart(hikvision.build_event_json(pin="2001", when=when, minor=75, serial_no=10), jpeg)
    r = client.post(f"/ISAPI/events/{HIK}", content=body, headers={"content-type": ctype})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    (p,) = _punches(engine)
    assert (p.pin, p.method, p.success, p.serial_no, p.clock_fault) == ("2001", 2, True, 10, 0)
    assert p.utc_time == when.astimezone(timezone.utc).replace(tzinfo=None)
    with session_scope(engine) as s:
        photo = s.scalars(select(PunchPhoto)).one()
        assert photo.image == jpeg and photo.punch_id == p.id
    # the same event again (the terminal did not see our answer): no new punch
    r = client.post(f"/ISAPI/events/{HIK}", content=body, headers={"content-type": ctype})
    assert r.json()["duplicates"] == 1 and len(_punches(engine)) == 1


def test_failures_are_kept_as_failed_attempts_and_gaps_reported(client: TestClient, engine: Engine) -> None:
    when = datetime.now(CST).replace(microsecond=0)
    for serial_no, minor in ((1, 38), (2, 76)):  # fingerprint pass, face failure
        body = hikvision.build_event_json(pin="2002", when=when + timedelta(seconds=serial_no), minor=minor, serial_no=serial_no)
        assert client.post(f"/ISAPI/events/{HIK}", content=body, headers={"content-type": "application/json"}).status_code == 200
    body = hikvision.build_event_json(pin="2002", when=when + timedelta(seconds=9), minor=75, serial_no=6)
    r = client.post(f"/ISAPI/events/{HIK}", content=body, headers={"content-type": "application/json"})
    assert r.json()["serial_gaps"] == [[3, 5]]
    ps = _punches(engine)
    assert [(p.serial_no, p.method, p.success) for p in ps] == [(1, 1, True), (2, 2, False), (6, 2, True)]


def test_verification_without_employee_number_is_quarantined(client: TestClient, engine: Engine) -> None:
    when = datetime.now(CST).replace(microsecond=0)
    body = hikvision.build_event_json(pin=None, when=when, minor=75, serial_no=3)
    r = client.post(f"/ISAPI/events/{HIK}", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["accepted"] == 0
    (entry,) = list_entries(engine)
    assert entry.kind == "line" and "employeeNoString" in entry.reason and "serialNo=3" in (entry.text or "")


def test_malformed_event_is_quarantined(client: TestClient, engine: Engine) -> None:
    r = client.post(f"/ISAPI/events/{HIK}", content=b'{"eventType": "AccessControllerEvent", "dateTime": ',
                    headers={"content-type": "application/json"})
    assert r.status_code == 400
    (entry,) = list_entries(engine)
    assert entry.kind == "payload" and entry.reason
    assert client.post("/ISAPI/events/UNKNOWN-1", content=b"{}",
                       headers={"content-type": "application/json"}).status_code == 403


@pytest.mark.parametrize("fmt", ["xlsx", "csv-gbk", "csv-bom"])
def test_sheet_upload(client: TestClient, engine: Engine, fmt: str) -> None:
    rows = [["工号", "姓名", "打卡时间", "验证方式"],
            ["3001", "张伟", "2026-03-02 08:55:00", "人脸"],
            ["3002", "李娜", "2026-03-02 08:56:30", "指纹"],
            ["3003", "王芳", "not a time", "人脸"]]
    if fmt == "xlsx":
        data, name = build_xlsx(rows[1:], rows[0]), "export.xlsx"
    else:
        data, name = build_csv(rows, encoding="gbk" if fmt == "csv-gbk" else "utf-8", bom=fmt == "csv-bom"), "export.csv"
    result = terminals.ingest_sheet(engine, load_settings(), HIK, name, data)
    assert (result.accepted, result.quarantined) == (2, 1)
    assert {p.pin: p.method for p in _punches(engine)} == {"3001": 2, "3002": 1}
    (entry,) = list_entries(engine)
    assert entry.line_no == 4  # spreadsheet row number, header is row 1
    again = terminals.ingest_sheet(engine, load_settings(), HIK, name, data)
    assert (again.accepted, again.duplicates) == (0, 2)


def test_sheet_for_unknown_device_is_refused(engine: Engine) -> None:
    seed(engine)
    from punchaudit.services.ingest import DeviceRefused

    with pytest.raises(DeviceRefused, match="unknown device"):
        terminals.ingest_sheet(engine, load_settings(), "NOPE", "a.csv", b"PIN,Time\n1,2026-03-02 08:00:00\n")


def test_sheet_upload_api_is_scoped_to_the_site(engine: Engine) -> None:
    s = seed(engine, hik_serial=HIK)
    client = TestClient(create_app(load_settings(), engine))
    data = build_csv([["PIN", "Time", "Verify"], ["1", "2026-03-02 08:00:00", "15"]])
    files = {"file": ("log.csv", data, "text/csv")}
    assert client.post("/api/v1/ingest/sheets", data={"device": HIK}, files=files).status_code == 401
    r = client.post("/api/v1/ingest/sheets", data={"device": HIK}, files=files, headers={"X-API-Key": s.other_site_key})
    assert r.status_code == 404  # another institution's terminal does not exist for this key
    r = client.post("/api/v1/ingest/sheets", data={"device": HIK}, files=files, headers={"X-API-Key": s.site_key})
    assert r.status_code == 201 and r.json()["accepted"] == 1
    assert client.get("/api/v1/quarantine", headers={"X-API-Key": s.site_key}).status_code == 403
    assert client.get("/api/v1/quarantine", headers={"X-API-Key": s.admin_key}).json() == []
