"""The footage API: site-scoped declarations, inspector holds, refused deletions, admin job runs."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import blake3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from footage_testkit import make_world, settings_for, write_video
from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from storage.db import session_scope

KEEP = (date(2026, 11, 6) + timedelta(days=730)).isoformat()  # two years after the last training day


@pytest.fixture
def api(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    a = make_world(engine, class_start=date(2026, 11, 2), class_end=date(2026, 11, 6))
    b = make_world(engine, inst_code="INST2", site_code="S2", class_code="C2")
    settings = settings_for(tmp_path)
    with session_scope(engine) as s:
        keys = {"site_a": create_key(s, "a", "site", a["institution"]), "site_b": create_key(s, "b", "site", b["institution"]),
                "inspector": create_key(s, "wang", "inspector"), "admin": create_key(s, "root", "admin")}
    root = Path(settings.footage.root)
    write_video(root / "S1" / "cam1" / "cam1_20261102T083000_20261102T083002.mp4", seconds=2)
    client = TestClient(create_app(settings, engine))
    return client, keys, a


def _h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_declare_hold_refuse_delete(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, a = api
    body = {"site": "S1", "key": "S1/cam1/cam1_20261102T083000_20261102T083002.mp4"}
    assert client.post("/api/v1/footage", json=body).status_code == 401
    assert client.post("/api/v1/footage", json=body, headers=_h(keys["site_b"])).status_code == 404  # not their site
    assert client.post("/api/v1/footage", json=body, headers=_h(keys["inspector"])).status_code == 403
    r = client.post("/api/v1/footage", json=body, headers=_h(keys["site_a"]))
    assert r.status_code == 201 and r.json()["status"] == "ok" and r.json()["retain_until"] == KEEP
    fid = r.json()["id"]
    bad = client.post("/api/v1/footage", json={"site": "S1", "key": "../etc/passwd"}, headers=_h(keys["site_a"]))
    assert bad.status_code == 422
    assert [f["id"] for f in client.get("/api/v1/footage", headers=_h(keys["site_a"])).json()] == [fid]
    assert client.get("/api/v1/footage", headers=_h(keys["site_b"])).json() == []
    assert client.get(f"/api/v1/footage/{fid}", headers=_h(keys["site_b"])).status_code == 404
    # sites cannot hold; inspectors can
    hold = {"class_id": a["class"], "reason": "sampling inspection 3 open"}
    assert client.post("/api/v1/footage/holds", json=hold, headers=_h(keys["site_a"])).status_code == 403
    r = client.post("/api/v1/footage/holds", json=hold, headers=_h(keys["inspector"]))
    assert r.status_code == 201 and r.json()["set_by"] == "inspector:wang"
    hid = r.json()["id"]
    detail = client.get(f"/api/v1/footage/{fid}", headers=_h(keys["site_a"])).json()
    assert [h["id"] for h in detail["holds"]] == [hid]
    data = (Path(client.app.state.settings.footage.root) / body["key"]).read_bytes()
    assert (detail["sha256"], detail["blake3"]) == (hashlib.sha256(data).hexdigest(), blake3.blake3(data).hexdigest())
    # deletion: sites may not; admins are refused with the hold named, then with the date
    assert client.delete(f"/api/v1/footage/{fid}", headers=_h(keys["site_a"])).status_code == 403
    r = client.delete(f"/api/v1/footage/{fid}", headers=_h(keys["admin"]))
    assert r.status_code == 409 and f"legal hold {hid}" in r.json()["detail"]
    assert client.post(f"/api/v1/footage/holds/{hid}/release", json={"reason": "closed"},
                       headers=_h(keys["inspector"])).status_code == 200
    assert client.post(f"/api/v1/footage/holds/{hid}/release", json={}, headers=_h(keys["inspector"])).status_code == 409
    r = client.delete(f"/api/v1/footage/{fid}", headers=_h(keys["admin"]))
    assert r.status_code == 409 and f"retained until {KEEP}" in r.json()["detail"]
    # coverage, status, jobs, audit
    cov = client.get("/api/v1/footage/coverage/C1", headers=_h(keys["site_a"]))
    assert cov.status_code == 200 and len(cov.json()) == 10
    assert client.get("/api/v1/footage/coverage/C1", headers=_h(keys["site_b"])).status_code == 404
    assert client.get("/api/v1/footage/status", headers=_h(keys["site_a"])).json()["counts"]["ok"]["files"] == 1
    assert client.get("/api/v1/footage/jobs", headers=_h(keys["inspector"])).status_code == 403
    assert client.get("/api/v1/footage/jobs", headers=_h(keys["admin"])).json() == []
    v = client.get("/api/v1/footage/audit/verify", headers=_h(keys["admin"])).json()
    assert v["ok"] and v["entries"] == 3  # registered, hold.set, hold.released
