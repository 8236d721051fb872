"""The presence API through a real app: roles, institution isolation, roster, schedule, runs, report."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from punchaudit.config import load_settings
from storage.db import session_scope
from tests.test_presence_service import IDS, MON, add_punch, roster, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.postgres


def test_presence_over_http_with_roles(engine: Engine, world: dict) -> None:  # noqa: F811
    with session_scope(engine) as s:
        k = {"site": create_key(s, "s", "site", world["inst"]), "other": create_key(s, "o", "site", world["other"]),
             "inspector": create_key(s, "i", "inspector"), "admin": create_key(s, "a", "admin")}
    h = {n: {"X-API-Key": v} for n, v in k.items()}
    client = TestClient(create_app(load_settings(), engine))
    files = {"file": ("名册.xlsx", roster([("甲", IDS[0], "1"), ("乙", IDS[1], "2")]), "application/octet-stream")}

    assert client.get("/api/v1/presence/classification").status_code == 401
    assert client.post("/api/v1/presence/roster", files=files, headers=h["inspector"]).status_code == 403
    refused = client.post("/api/v1/presence/roster", files=files, headers=h["other"])
    assert refused.status_code == 422 and {e["reason"] for e in refused.json()["detail"]["errors"]} == {"unknown class 'C1'"}
    assert IDS[0] not in refused.text
    ok = client.post("/api/v1/presence/roster", files=files, headers=h["site"])
    assert ok.status_code == 200 and ok.json()["enrollments_created"] == 2

    body = {"sessions": ["08:30-11:30"], "to": (MON + timedelta(days=1)).isoformat(), "rule": {"late_grace_minutes": 5}}
    assert client.put("/api/v1/presence/classes/C1/schedule", json=body, headers=h["other"]).status_code == 404
    assert client.put("/api/v1/presence/classes/C1/schedule", json=body, headers=h["inspector"]).status_code == 403
    put = client.put("/api/v1/presence/classes/C1/schedule", json=body, headers=h["site"])
    assert put.status_code == 200 and put.json()["days"] == ["2026-03-02", "2026-03-03"]
    bad = client.put("/api/v1/presence/classes/C1/schedule", json={**body, "rule": {"nonsense": 1}}, headers=h["site"])
    assert bad.status_code == 422 and "nonsense" in bad.text
    assert client.get("/api/v1/presence/classes/C1/schedule", headers=h["inspector"]).json()["rule"] == {"late_grace_minutes": 5}

    with session_scope(engine) as s:
        day = datetime.combine(MON, datetime.min.time())
        add_punch(s, "ZK1", "1", day.replace(hour=8, minute=37))  # on time with grace 10, late with grace 5
        add_punch(s, "ZK1", "2", day.replace(hour=8, minute=30) + timedelta(days=1))
    assert client.post("/api/v1/presence/runs", json={"class_codes": ["C1"]}, headers=h["other"]).status_code == 404
    ran = client.post("/api/v1/presence/runs", json={"all": True}, headers=h["site"])
    assert ran.status_code == 200
    assert [r["class_code"] for r in ran.json()["runs"]] == ["C1"] and ran.json()["skipped_without_schedule"] == []
    assert ran.json()["runs"][0]["classification"] == "has punch records"
    other_view = client.get("/api/v1/presence/classification", headers=h["other"]).json()
    assert [c["class_code"] for c in other_view] == ["C9"]

    run = client.get("/api/v1/presence/classes/C1/runs/latest", headers=h["inspector"]).json()
    assert [t["reasons"] for t in run["trainees"]] == [["late", "absent"], ["absent", "present"]]
    assert run["trainees"][0]["id_masked"] != IDS[0] and IDS[0] not in str(run)
    assert client.get("/api/v1/presence/classes/C1/runs/latest", headers=h["other"]).status_code == 404
    assert client.get("/api/v1/presence/classes/C1/runs/7", headers=h["admin"]).status_code == 404
    assert len(client.get("/api/v1/presence/classes/C1/runs", headers=h["site"]).json()) == 1

    sheet = client.get("/api/v1/presence/classes/C1/report", params={"format": "csv", "language": "en"}, headers=h["site"])
    assert sheet.status_code == 200 and "C1-presence-v1.csv" in sheet.headers["content-disposition"]
    assert "Days present" in sheet.content.decode("utf-8-sig")
    assert client.get("/api/v1/presence/classes/C1/report", headers=h["other"]).status_code == 404
