"""The claims API through a real app: roles, site isolation, build/submit/approve, package download."""
from __future__ import annotations

from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from punchaudit.config import load_settings
from storage.db import session_scope
from tests.test_claims_service import employment_csv, seed

pytestmark = pytest.mark.postgres


def keys(engine: Engine, ids: dict[str, int], other: int) -> dict[str, str]:
    with session_scope(engine) as s:
        return {"site": create_key(s, "site", "site", ids["institution"]), "other": create_key(s, "o", "site", other),
                "inspector": create_key(s, "insp", "inspector"), "admin": create_key(s, "adm", "admin")}


def test_claim_lifecycle_over_http(engine: Engine) -> None:
    ids = seed(engine)
    other = seed(engine, n=1, code="C2", inst_code="I2", district="云冈区")
    k = keys(engine, ids, other["institution"])
    client = TestClient(create_app(load_settings(), engine))
    h = {name: {"X-API-Key": key} for name, key in k.items()}

    assert client.get("/api/v1/claims").status_code == 401
    up = client.post("/api/v1/claims/records/employment", headers=h["site"],
                     files={"file": ("jobs.csv", employment_csv([(i, 12) for i in range(5)]), "text/csv")})
    assert up.status_code == 200 and up.json()["imported"] == 5
    bad = client.post("/api/v1/claims/records/employment", headers=h["other"],
                      files={"file": ("jobs.csv", employment_csv([(0, 12)]), "text/csv")})
    assert bad.status_code == 422 and "class C1 not found" in bad.json()["detail"]["errors"][0]

    assert client.post("/api/v1/claims", json={"class_code": "C1"}, headers=h["inspector"]).status_code == 403
    assert client.post("/api/v1/claims", json={"class_code": "C1"}, headers=h["other"]).status_code == 404
    built = client.post("/api/v1/claims", json={"class_code": "C1"}, headers=h["site"])
    assert built.status_code == 201
    claim = built.json()
    # no presence run in this database: no verified days, nothing payable yet, and the claim says why
    assert claim["total_fen"] == 0 and claim["reasons"][0]["code"] == "no_presence_run"
    cid = claim["id"]

    assert client.get(f"/api/v1/claims/{cid}", headers=h["other"]).status_code == 404
    assert [c["id"] for c in client.get("/api/v1/claims", headers=h["other"]).json()] == []
    assert client.post(f"/api/v1/claims/{cid}/approve", headers=h["site"]).status_code == 403
    assert client.post(f"/api/v1/claims/{cid}/approve", headers=h["inspector"]).status_code == 409
    assert client.post(f"/api/v1/claims/{cid}/submit", headers=h["site"]).json()["state"] == "submitted"
    done = client.post(f"/api/v1/claims/{cid}/reject", headers=h["inspector"], json={"note": "无打卡记录且未抽验"})
    assert done.json()["state"] == "rejected"
    assert [e["actor"] for e in done.json()["events"]] == ["site:site", "site:site", "inspector:insp"]

    pkg = client.get(f"/api/v1/claims/{cid}/package", headers=h["site"], params={"language": "zh", "bank": "工行大同分行"})
    assert pkg.status_code == 200 and pkg.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(BytesIO(pkg.content))
    assert wb["附件2 申请表"]["A2"].value == "职业技能提升培训（取证）补贴资金申请表"
    assert wb["附件2 申请表"]["B9"].value == "工行大同分行"
    assert client.get(f"/api/v1/claims/{cid}/package", headers=h["other"]).status_code == 404

    assert client.get("/api/v1/claims/targets", headers=h["site"]).status_code == 403
    report = client.get("/api/v1/claims/targets", headers=h["inspector"], params={"year": 2023}).json()
    assert len(report["rows"]) == 36 and report["rows"][0]["district"] == "平城区"
