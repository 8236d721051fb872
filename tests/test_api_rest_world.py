"""A small registry built through the REST API, shared by the test_api_rest_* and test_api_auth_* files:
two institutions (A, B), a site, terminal, class and enrolled trainee each, and keys of every role.

Also the happy path of each resource, so a broken create or list shows up here first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from attendance import resident_id as rid
from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from punchaudit.config import load_settings
from storage.db import session_scope

ID_A = rid.make("140202", date(1990, 5, 17), 123)  # a man in institution A's class
ID_B = rid.make("140211", date(1985, 11, 2), 244)  # a woman in institution B's class


@dataclass
class World:
    client: TestClient
    engine: Engine
    admin: str
    inspector: str
    keys: dict[str, str] = field(default_factory=dict)  # "A"/"B" -> site key
    ids: dict[str, int] = field(default_factory=dict)  # e.g. "inst_A", "site_B", "class_A", "trainee_B"

    def call(self, method: str, path: str, key: str | None, **kwargs: Any) -> Any:
        headers = {"X-API-Key": key} if key else {}
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, key: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, key, **kwargs)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None


def build_world(engine: Engine) -> World:
    with session_scope(engine) as session:
        admin = create_key(session, "test admin", "admin")
        inspector = create_key(session, "test inspector", "inspector")
    client = TestClient(create_app(load_settings(), engine))
    w = World(client, engine, admin, inspector)
    for tag, district in (("A", "平城区"), ("B", "云冈区")):
        inst = w.ok("POST", "/api/v1/institutions", admin, 201,
                    json={"code": f"INST-{tag}", "name": f"培训学校{tag}", "district": district})
        w.ids[f"inst_{tag}"] = inst["id"]
        w.keys[tag] = w.ok("POST", "/api/v1/keys", admin, 201,
                           json={"name": f"site key {tag}", "role": "site", "institution_id": inst["id"]})["key"]
        key = w.keys[tag]
        site = w.ok("POST", "/api/v1/sites", key, 201, json={"code": f"SITE-{tag}", "name": f"{tag} 教学点"})
        w.ids[f"site_{tag}"] = site["id"]
        device = w.ok("POST", "/api/v1/devices", key, 201,
                      json={"serial": f"SN-{tag}", "vendor": "zkteco", "site_id": site["id"]})
        w.ids[f"device_{tag}"] = device["id"]
        cls = w.ok("POST", "/api/v1/classes", key, 201,
                   json={"code": f"CLS-{tag}", "name": "育婴员", "site_id": site["id"],
                         "start_date": "2026-03-02", "end_date": "2026-03-20"})
        w.ids[f"class_{tag}"] = cls["id"]
        enrolment = w.ok("POST", "/api/v1/enrollments", key, 201,
                         json={"class_id": cls["id"], "pin": "1", "resident_id": ID_A if tag == "A" else ID_B,
                               "name": f"学员{tag}"})
        w.ids[f"enrollment_{tag}"] = enrolment["id"]
        w.ids[f"trainee_{tag}"] = enrolment["trainee_id"]
    return w


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


@pytest.mark.postgres
def test_world_builds_through_the_api(world: World) -> None:
    admin = world.admin
    assert [i["code"] for i in world.ok("GET", "/api/v1/institutions", admin)["items"]] == ["INST-A", "INST-B"]
    trainee = world.ok("GET", f"/api/v1/trainees/{world.ids['trainee_A']}", admin)
    assert trainee["name"] == "学员A"
    assert trainee["id_masked"] == rid.mask(ID_A) and trainee["gender"] == "M" and trainee["birth_date"] == "1990-05-17"
    assert world.ok("GET", f"/api/v1/trainees/{world.ids['trainee_B']}", admin)["gender"] == "F"
    roster = world.ok("GET", "/api/v1/enrollments", admin, params={"class_id": world.ids["class_A"]})["items"]
    assert [(e["pin"], e["trainee_name"], e["class_code"]) for e in roster] == [("1", "学员A", "CLS-A")]
    cls = world.ok("GET", f"/api/v1/classes/{world.ids['class_A']}", world.keys["A"])
    assert cls["institution_id"] == world.ids["inst_A"] and cls["kind"] == "project"
    site = world.ok("GET", f"/api/v1/sites/{world.ids['site_B']}", world.inspector)
    assert site["institution_id"] == world.ids["inst_B"] and site["timezone"] == "Asia/Shanghai"


@pytest.mark.postgres
def test_corrections_through_patch(world: World) -> None:
    key, ids = world.keys["A"], world.ids
    assert world.ok("PATCH", f"/api/v1/institutions/{ids['inst_A']}", world.admin, json={"name": "新名"})["name"] == "新名"
    site = world.ok("PATCH", f"/api/v1/sites/{ids['site_A']}", key, json={"address": "平城区新建路1号", "timezone": "Asia/Urumqi"})
    assert site["address"] == "平城区新建路1号" and site["timezone"] == "Asia/Urumqi" and site["name"] == "A 教学点"
    assert world.call("PATCH", f"/api/v1/sites/{ids['site_A']}", key, json={"timezone": "Nowhere/City"}).status_code == 422
    trainee = world.ok("PATCH", f"/api/v1/trainees/{ids['trainee_A']}", key, json={"phone": "13900000000", "name": "学员甲"})
    assert trainee["phone"] == "13900000000" and trainee["name"] == "学员甲" and trainee["id_masked"] == rid.mask(ID_A)
    assert world.call("PATCH", f"/api/v1/trainees/{ids['trainee_A']}", key, json={"resident_id": ID_B}).status_code == 422
    assert world.ok("GET", f"/api/v1/trainees/{ids['trainee_A']}", world.admin)["id_masked"] == rid.mask(ID_A)
