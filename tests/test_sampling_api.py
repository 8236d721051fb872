"""The sampling API and the inspector pages through the ASGI app: roles, site isolation, the
verdict flow, the reports and authenticated clip serving with Range requests."""
from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from punchaudit.api.app import create_app
from punchaudit.config import load_settings
from punchaudit.services import sampling as svc
from storage import sampling as repo
from storage.db import session_scope
from tests.sampling_testkit import make_class
from tests.seed import seed


def _sessions(pop):  # type: ignore[no-untyped-def]
    return [{"day": p.day.isoformat(), "index": p.index, "start_utc": p.start_utc.isoformat(),
             "end_utc": p.end_utc.isoformat()} for p in pop]


@pytest.fixture
def ctx(engine: Engine):  # type: ignore[no-untyped-def]
    s = seed(engine)
    class_id, pop = make_class(engine, s.institution_id, s.site_id)
    client = TestClient(create_app(load_settings(), engine))
    return client, s, pop


@pytest.mark.postgres
def test_api_flow_roles_and_isolation(ctx) -> None:  # type: ignore[no-untyped-def]
    client, s, pop = ctx
    insp = {"X-API-Key": s.inspector_key}
    body = {"class_code": "C-SAMPLE", "sessions": _sessions(pop), "seed": "ceremony-2026-04"}
    assert client.post("/api/v1/sampling/plan", json=body).status_code == 401
    assert client.post("/api/v1/sampling/plan", json=body, headers={"X-API-Key": s.site_key}).status_code == 403
    r = client.post("/api/v1/sampling/plan", json=body, headers=insp)
    assert r.status_code == 200 and r.json()["plan"]["population"] == 40
    iso = client.post("/api/v1/sampling/plan", json={**body, "method": "iso2859"}, headers=insp).json()["plan"]
    assert (iso["sample_size"], iso["acceptance"], iso["conventions"]["code_letter"]) == (5, 0, "D")  # 26-50 -> D, 2.5 -> C
    bad = client.post("/api/v1/sampling/plan", json={**body, "confidence": "ninety"}, headers=insp)
    assert bad.status_code == 422 and "decimals" in bad.text
    assert client.post("/api/v1/sampling/plan", json={**body, "class_code": "NOPE"}, headers=insp).status_code == 404
    r = client.post("/api/v1/sampling/inspections", json=body, headers=insp)
    assert r.status_code == 201, r.text
    iid, defects = r.json()["id"], r.json()["plan"]["defects"]
    assert r.json()["seed"] == "ceremony-2026-04" and r.json()["hold_reference"] == f"sampling:{iid}"
    # a site key reads its own class's inspection, not another institution's
    assert client.get(f"/api/v1/sampling/inspections/{iid}", headers={"X-API-Key": s.site_key}).status_code == 200
    assert client.get(f"/api/v1/sampling/inspections/{iid}", headers={"X-API-Key": s.other_site_key}).status_code == 404
    assert client.get("/api/v1/sampling/inspections", headers={"X-API-Key": s.other_site_key}).json() == []
    assert client.get(f"/api/v1/sampling/inspections/{iid}/queue", headers={"X-API-Key": s.site_key}).status_code == 403
    q = client.get(f"/api/v1/sampling/inspections/{iid}/queue", headers=insp).json()
    assert len(q["roster"]) == 5 and all("id_masked" in t and "*" in t["id_masked"] for t in q["roster"])
    for item in q["items"]:
        r = client.post(f"/api/v1/sampling/inspections/{iid}/items/{item['id']}/verdicts", headers=insp,
                        json={"held_as_declared": True, "head_count": 5})
        assert r.status_code == 201
    assert client.get(f"/api/v1/sampling/inspections/{iid}/verify-draw", headers=insp).json()["reproduced"] is True
    ev = client.post(f"/api/v1/sampling/inspections/{iid}/close", headers=insp).json()
    assert ev["decision"] == "pass" and ev["bad"] == 0
    assert "stratified" in ev["bound_method"] and ev["upper_bound"] < defects
    got = client.get(f"/api/v1/sampling/inspections/{iid}", headers={"X-API-Key": s.site_key}).json()
    assert got["decision"] == "pass" and got["status"] == "closed"
    html = client.get(f"/api/v1/sampling/inspections/{iid}/report", headers=insp).text
    assert "培训班视频抽样检查报告" in html and "ceremony-2026-04" in html and got["population_hash"] in html
    en = client.get(f"/api/v1/sampling/inspections/{iid}/report?lang=en", headers=insp).text
    assert "Class video sampling inspection report" in en
    x = client.get(f"/api/v1/sampling/inspections/{iid}/report?format=xlsx", headers=insp)
    wb = load_workbook(io.BytesIO(x.content))
    values = [c.value for row in wb.worksheets[0].iter_rows() for c in row]
    assert "ceremony-2026-04" in values and got["population_hash"] in values
    assert wb.worksheets[1].max_row == 1 + got["sample_size"]


def test_inspector_pages_need_a_session_and_serve_ranges(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client, s, pop = ctx
    with session_scope(client.app.state.engine) as ses:
        class_id = svc.class_by_code(ses, "C-SAMPLE").id
        row = svc.open_inspection(ses, load_settings(), class_id, actor="t", population=pop[:6])
        item = repo.items(ses, row.id)[0]
        clip = tmp_path / "clip.webm"
        clip.write_bytes(bytes(range(256)) * 40)
        svc.attach_clip(ses, item.id, clip_id=None, clip_path=str(clip), footage_id=None)
        iid, item_id = row.id, item.id
    # nothing without signing in
    r = client.get(f"/inspector/inspections/{iid}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/inspector/login"
    assert client.get(f"/inspector/clips/{item_id}").status_code == 401
    # a site key cannot sign in
    r = client.post("/inspector/login", data={"key": s.site_key})
    assert "密钥无效" in r.text
    r = client.post("/inspector/login", data={"key": s.inspector_key}, follow_redirects=False)
    assert r.status_code == 303 and s.inspector_key not in r.headers["set-cookie"]
    page = client.get(f"/inspector/inspections/{iid}")
    assert page.status_code == 200 and "待审课次" in page.text and f"/inspector/clips/{item_id}" in page.text
    part = client.get(f"/inspector/clips/{item_id}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == (bytes(range(256)) * 40)[100:200]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    bad = client.post(f"/inspector/inspections/{iid}/items/{item_id}/verdict", data={"csrf": "x", "held": "yes"})
    assert bad.status_code == 403
    ok = client.post(f"/inspector/inspections/{iid}/items/{item_id}/verdict",
                     data={"csrf": csrf, "held": "no", "head_count": "2", "notes": "只有两人"})
    assert ok.status_code == 200 and "结论已保存" in ok.text
    ev = client.post(f"/inspector/inspections/{iid}/evaluate", data={"csrf": csrf})
    assert 'data-decision="fail"' in ev.text
    assert "培训班视频抽样检查报告" in client.get(f"/inspector/inspections/{iid}/report.html").text
    x = client.get(f"/inspector/inspections/{iid}/report.xlsx?lang=en")
    assert load_workbook(io.BytesIO(x.content)).worksheets[0]["A1"].value == "Class video sampling inspection report"
    assert client.get("/inspector/inspections/999/report.xlsx").status_code == 404
