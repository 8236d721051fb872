"""A site key sees and writes only its own institution's data; another institution's objects are 404
(not 403), so their ids cannot even be confirmed."""
from __future__ import annotations

import pytest

from test_api_rest_world import ID_B, World, world  # noqa: F401  (fixture)

NOUNS = {"inst": "institutions", "site": "sites", "device": "devices", "class": "classes",
         "trainee": "trainees", "enrollment": "enrollments"}


@pytest.mark.postgres
def test_other_institutions_objects_are_not_found(world: World) -> None:  # noqa: F811
    key = world.keys["A"]
    for tag, noun in NOUNS.items():
        own = world.call("GET", f"/api/v1/{noun}/{world.ids[f'{tag}_A']}", key)
        assert own.status_code == 200, noun
        other = world.call("GET", f"/api/v1/{noun}/{world.ids[f'{tag}_B']}", key)
        assert other.status_code == 404, f"{noun}: {other.status_code}"
        missing = world.call("GET", f"/api/v1/{noun}/987654", key)
        assert missing.status_code == 404 and other.json().keys() == missing.json().keys()


@pytest.mark.postgres
def test_listings_hold_only_own_data(world: World) -> None:  # noqa: F811
    key = world.keys["A"]
    expected = {"institutions": ("code", ["INST-A"]), "sites": ("code", ["SITE-A"]), "devices": ("serial", ["SN-A"]),
                "classes": ("code", ["CLS-A"]), "trainees": ("name", ["学员A"]), "enrollments": ("class_code", ["CLS-A"])}
    for noun, (field, values) in expected.items():
        assert [i[field] for i in world.ok("GET", f"/api/v1/{noun}", key)["items"]] == values, noun
    # filters naming the other institution's objects find nothing rather than leaking
    assert world.ok("GET", "/api/v1/sites", key, params={"institution_id": world.ids["inst_B"]})["items"] == []
    assert world.ok("GET", "/api/v1/trainees", key, params={"class_id": world.ids["class_B"]})["items"] == []
    assert world.call("GET", "/api/v1/punches", key, params={"class_id": world.ids["class_B"]}).status_code == 404
    assert world.call("GET", "/api/v1/punches", key, params={"device_id": world.ids["device_B"]}).status_code == 404


@pytest.mark.postgres
def test_site_key_cannot_write_into_another_institution(world: World) -> None:  # noqa: F811
    key, ids = world.keys["A"], world.ids
    attempts = [
        ("POST", "/api/v1/sites", {"institution_id": ids["inst_B"], "code": "EVIL", "name": "x"}),
        ("POST", "/api/v1/devices", {"serial": "EVIL", "vendor": "zkteco", "site_id": ids["site_B"]}),
        ("POST", "/api/v1/classes", {"institution_id": ids["inst_B"], "site_id": ids["site_B"], "code": "EVIL",
                                     "name": "x", "start_date": "2026-06-01", "end_date": "2026-06-02"}),
        ("POST", "/api/v1/classes", {"site_id": ids["site_B"], "code": "EVIL", "name": "x",
                                     "start_date": "2026-06-01", "end_date": "2026-06-02"}),
        ("POST", "/api/v1/enrollments", {"class_id": ids["class_B"], "pin": "77", "trainee_id": ids["trainee_A"]}),
        ("POST", "/api/v1/enrollments", {"class_id": ids["class_A"], "pin": "77", "trainee_id": ids["trainee_B"]}),
        ("PATCH", f"/api/v1/sites/{ids['site_B']}", {"name": "x"}),
        ("PATCH", f"/api/v1/classes/{ids['class_B']}", {"end_date": "2026-12-31"}),
        ("PATCH", f"/api/v1/devices/{ids['device_B']}", {"enabled": False}),
        ("PATCH", f"/api/v1/devices/{ids['device_A']}", {"site_id": ids["site_B"]}),
        ("PATCH", f"/api/v1/trainees/{ids['trainee_B']}", {"name": "x"}),
        ("DELETE", f"/api/v1/enrollments/{ids['enrollment_B']}", None),
    ]
    for method, path, body in attempts:
        response = world.call(method, path, key, json=body)
        assert response.status_code == 404, f"{method} {path} {body}: {response.status_code} {response.text}"
    admin = world.admin
    assert world.ok("GET", f"/api/v1/devices/{ids['device_B']}", admin)["enabled"] is True
    assert world.ok("GET", f"/api/v1/devices/{ids['device_A']}", admin)["site_id"] == ids["site_A"]
    assert world.ok("GET", f"/api/v1/sites/{ids['site_B']}", admin)["name"] == "B 教学点"
    assert len(world.ok("GET", "/api/v1/enrollments", admin)["items"]) == 2
    assert {c["code"] for c in world.ok("GET", "/api/v1/classes", admin)["items"]} == {"CLS-A", "CLS-B"}


@pytest.mark.postgres
def test_site_key_finds_foreign_trainee_only_by_knowing_the_id_number(world: World) -> None:  # noqa: F811
    key = world.keys["A"]
    # a lookup does not reveal who is enrolled elsewhere
    assert world.call("POST", "/api/v1/trainees/lookup", key, json={"resident_id": ID_B}).status_code == 404
    # registering the same person again is a conflict that names no id the caller cannot see
    assert world.call("POST", "/api/v1/trainees", key, json={"name": "学员B", "resident_id": ID_B}).status_code == 403
    # enrolling the person in an overlapping class is refused without naming B's class
    clash = world.call("POST", "/api/v1/enrollments", key, json={"class_id": world.ids["class_A"], "pin": "5", "resident_id": ID_B})
    assert clash.status_code == 409 and "CLS-B" not in clash.json()["detail"]
    # a class in June does not overlap B's March class, so A may enrol the person by ID number
    cls = world.ok("POST", "/api/v1/classes", key, 201, json={"code": "CLS-A2", "name": "电工", "site_id": world.ids["site_A"],
                                                             "start_date": "2026-06-01", "end_date": "2026-06-10"})
    enrolled = world.ok("POST", "/api/v1/enrollments", key, 201, json={"class_id": cls["id"], "pin": "5", "resident_id": ID_B})
    assert enrolled["trainee_id"] == world.ids["trainee_B"]
    assert world.ok("POST", "/api/v1/trainees/lookup", key, json={"resident_id": ID_B})["name"] == "学员B"
