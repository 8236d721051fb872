"""Trainees and enrolments: resident ID validation, the clear number never leaving the request it came
in, lookups through the keyed hash, and the enrolment rules (PIN unique, no overlapping classes)."""
from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import select

from attendance import resident_id as rid
from punchaudit.config import load_settings
from storage.db import session_scope
from storage.schema.core import Trainee
from test_api_rest_world import ID_A, World, world  # noqa: F401  (fixture)

NEW_ID = rid.make("140202", date(2001, 2, 28), 516)
BAD_CHECK = NEW_ID[:17] + ("0" if NEW_ID[17] != "0" else "1")


def _class(w: World, key: str, code: str, start: str, end: str, site: str = "site_A") -> int:
    body = {"code": code, "name": "电工", "site_id": w.ids[site], "start_date": start, "end_date": end}
    return w.ok("POST", "/api/v1/classes", key, 201, json=body)["id"]


@pytest.mark.postgres
def test_bad_check_digit_is_422_without_the_number(world: World) -> None:  # noqa: F811
    for bad in (BAD_CHECK, NEW_ID[:17], NEW_ID[:6] + "20011330" + NEW_ID[14:]):
        response = world.call("POST", "/api/v1/enrollments", world.keys["A"],
                              json={"class_id": world.ids["class_A"], "pin": "3", "name": "王五", "resident_id": bad})
        assert response.status_code == 422
        assert bad not in response.text and bad[:17] not in response.text
    response = world.call("POST", "/api/v1/trainees", world.admin, json={"name": "王五", "resident_id": BAD_CHECK})
    assert "check digit" in response.json()["detail"]


@pytest.mark.postgres
def test_clear_id_never_in_a_response_or_log_line(world: World, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    key, admin = world.keys["A"], world.admin
    caplog.set_level(logging.DEBUG)
    responses = [
        world.call("POST", "/api/v1/trainees", admin, json={"name": "王五", "resident_id": NEW_ID.lower()}),
        world.call("POST", "/api/v1/trainees", admin, json={"name": "王五", "resident_id": NEW_ID}),  # 409
        world.call("POST", "/api/v1/trainees", admin, json={"resident_id": NEW_ID}),  # missing name
        world.call("POST", "/api/v1/trainees", admin, json={"name": "王五", "resident_id": NEW_ID, "extra": NEW_ID}),
        world.call("POST", "/api/v1/trainees", admin, json={"name": "王五", "resident_id": NEW_ID * 2}),  # too long
        world.call("POST", "/api/v1/trainees/lookup", admin, json={"resident_id": NEW_ID}),
        world.call("POST", "/api/v1/enrollments", key, json={"class_id": world.ids["class_A"], "pin": "2",
                                                             "resident_id": NEW_ID, "name": "别人"}),  # name mismatch
        world.call("POST", "/api/v1/enrollments", key, json={"class_id": world.ids["class_A"], "pin": "2",
                                                             "resident_id": NEW_ID, "trainee_id": 1}),
        world.call("POST", "/api/v1/enrollments", key, json={"class_id": world.ids["class_A"], "pin": "2",
                                                             "resident_id": NEW_ID}),
        world.call("GET", "/api/v1/trainees", admin),
        world.call("GET", "/api/v1/enrollments", admin),
    ]
    assert [r.status_code for r in responses] == [201, 409, 422, 422, 422, 200, 422, 422, 201, 200, 200]
    for response in responses:
        assert NEW_ID not in response.text and ID_A not in response.text
    assert responses[0].json()["id_masked"] == rid.mask(NEW_ID)
    assert "id_hash" not in responses[0].json()
    assert "does not match" in responses[6].json()["detail"]
    assert responses[8].json()["trainee_id"] == responses[0].json()["id"]
    for record in caplog.records:
        text = record.getMessage() + " " + " ".join(str(v) for v in record.__dict__.values())
        assert NEW_ID not in text and ID_A not in text, record.name
    assert any(r.name == "punchaudit.registry" and getattr(r, "id_masked", None) == rid.mask(NEW_ID) for r in caplog.records)


@pytest.mark.postgres
def test_stored_as_mask_and_keyed_hash(world: World) -> None:  # noqa: F811
    created = world.ok("POST", "/api/v1/trainees", world.admin, 201,
                       json={"name": "赵六", "resident_id": NEW_ID, "phone": "13800000000"})
    secret = load_settings().secret_key.encode()
    with session_scope(world.engine) as session:
        row = session.scalars(select(Trainee).where(Trainee.id == created["id"])).one()
        stored = [str(getattr(row, c.key)) for c in Trainee.__table__.columns]
        assert row.id_hash == rid.keyed_hash(NEW_ID, secret) and row.id_masked == rid.mask(NEW_ID)
    assert all(NEW_ID not in value for value in stored)
    found = world.ok("POST", "/api/v1/trainees/lookup", world.admin, json={"resident_id": NEW_ID.lower()})
    assert found["id"] == created["id"] and found["gender"] == "F" and found["birth_date"] == "2001-02-28"


@pytest.mark.postgres
def test_overlapping_enrolment_is_refused(world: World) -> None:  # noqa: F811
    key, ids = world.keys["A"], world.ids
    overlapping = _class(world, key, "CLS-A-OVER", "2026-03-20", "2026-03-30")  # shares 20 March with CLS-A
    refused = world.call("POST", "/api/v1/enrollments", key, json={"class_id": overlapping, "pin": "1", "trainee_id": ids["trainee_A"]})
    assert refused.status_code == 409 and "CLS-A" in refused.json()["detail"] and "overlap" in refused.json()["detail"]
    later = _class(world, key, "CLS-A-LATER", "2026-03-21", "2026-03-30")
    world.ok("POST", "/api/v1/enrollments", key, 201, json={"class_id": later, "pin": "1", "trainee_id": ids["trainee_A"]})
    # across institutions too, without naming the other institution's class
    b_key = world.keys["B"]
    b_class = _class(world, b_key, "CLS-B-OVER", "2026-03-10", "2026-03-12", site="site_B")
    cross = world.call("POST", "/api/v1/enrollments", b_key, json={"class_id": b_class, "pin": "3", "resident_id": ID_A})
    assert cross.status_code == 409 and "another institution" in cross.json()["detail"] and "CLS-A" not in cross.json()["detail"]


@pytest.mark.postgres
def test_pin_rules(world: World) -> None:  # noqa: F811
    key, ids = world.keys["A"], world.ids
    person = {"resident_id": NEW_ID, "name": "钱七"}
    taken = world.call("POST", "/api/v1/enrollments", key, json={"class_id": ids["class_A"], "pin": "1", **person})
    assert taken.status_code == 409 and "PIN 1" in taken.json()["detail"]
    # the refused enrolment registered nobody
    assert world.call("POST", "/api/v1/trainees/lookup", world.admin, json={"resident_id": NEW_ID}).status_code == 404
    twice = world.call("POST", "/api/v1/enrollments", key, json={"class_id": ids["class_A"], "pin": "8", "trainee_id": ids["trainee_A"]})
    assert twice.status_code == 409 and "already enrolled" in twice.json()["detail"]
    # the same PIN in an overlapping class at the same site would make the terminals ambiguous
    parallel = _class(world, key, "CLS-A-PAR", "2026-03-05", "2026-03-06")
    clash = world.call("POST", "/api/v1/enrollments", key, json={"class_id": parallel, "pin": "1", **person})
    assert clash.status_code == 409 and "terminals" in clash.json()["detail"]
    bad_pin = world.call("POST", "/api/v1/enrollments", key, json={"class_id": parallel, "pin": "1 OR 1", **person})
    assert bad_pin.status_code == 422
    made = world.ok("POST", "/api/v1/enrollments", key, 201, json={"class_id": parallel, "pin": "2", **person})
    # enrolled now, so visible to A by id
    assert world.ok("GET", f"/api/v1/trainees/{made['trainee_id']}", key)["name"] == "钱七"


@pytest.mark.postgres
def test_enrol_by_unknown_id_needs_a_name_and_withdraw(world: World) -> None:  # noqa: F811
    key, cls = world.keys["A"], world.ids["class_A"]
    unknown = world.call("POST", "/api/v1/enrollments", key, json={"class_id": cls, "pin": "4", "resident_id": NEW_ID})
    assert unknown.status_code == 404 and "name" in unknown.json()["detail"]
    made = world.ok("POST", "/api/v1/enrollments", key, 201, json={"class_id": cls, "pin": "4", "resident_id": NEW_ID, "name": "孙八"})
    assert made["trainee_name"] == "孙八" and made["id_masked"] == rid.mask(NEW_ID)
    assert [t["name"] for t in world.ok("GET", "/api/v1/trainees", key, params={"class_id": cls})["items"]] == ["学员A", "孙八"]
    assert world.call("DELETE", f"/api/v1/enrollments/{made['id']}", key).status_code == 204
    assert world.call("GET", f"/api/v1/enrollments/{made['id']}", key).status_code == 404
    # no longer enrolled with A: the person is invisible to A again, but still registered
    assert world.call("GET", f"/api/v1/trainees/{made['trainee_id']}", key).status_code == 404
    assert world.ok("GET", f"/api/v1/trainees/{made['trainee_id']}", world.admin)["name"] == "孙八"


@pytest.mark.postgres
def test_class_rules(world: World) -> None:  # noqa: F811
    key, admin, ids = world.keys["A"], world.admin, world.ids
    backwards = world.call("POST", "/api/v1/classes", key, json={"code": "X1", "name": "x", "site_id": ids["site_A"],
                                                               "start_date": "2026-05-02", "end_date": "2026-05-01"})
    assert backwards.status_code == 422 and "ends before" in backwards.json()["detail"]
    foreign_site = world.call("POST", "/api/v1/classes", admin, json={"code": "X2", "name": "x", "institution_id": ids["inst_A"],
                                                                    "site_id": ids["site_B"], "start_date": "2026-05-01",
                                                                    "end_date": "2026-05-02"})
    assert foreign_site.status_code == 422 and "does not belong" in foreign_site.json()["detail"]
    no_institution = world.call("POST", "/api/v1/classes", admin, json={"code": "X3", "name": "x", "site_id": ids["site_A"],
                                                                      "start_date": "2026-05-01", "end_date": "2026-05-02"})
    assert no_institution.status_code == 422
    duplicate = world.call("POST", "/api/v1/classes", key, json={"code": "CLS-A", "name": "x", "site_id": ids["site_A"],
                                                               "start_date": "2026-05-01", "end_date": "2026-05-02"})
    assert duplicate.status_code == 409
    bad_kind = world.call("POST", "/api/v1/classes", key, json={"code": "X4", "name": "x", "site_id": ids["site_A"], "kind": "party",
                                                              "start_date": "2026-05-01", "end_date": "2026-05-02"})
    assert bad_kind.status_code == 422
    active = world.ok("GET", "/api/v1/classes", admin, params={"active_on": "2026-03-10"})["items"]
    assert {c["code"] for c in active} == {"CLS-A", "CLS-B"}
    assert world.ok("GET", "/api/v1/classes", admin, params={"active_on": "2026-04-10"})["items"] == []


@pytest.mark.postgres
def test_moving_class_dates_keeps_the_enrolment_rules(world: World) -> None:  # noqa: F811
    key, ids = world.keys["A"], world.ids
    later = _class(world, key, "CLS-A-APR", "2026-03-23", "2026-04-03")
    world.ok("POST", "/api/v1/enrollments", key, 201, json={"class_id": later, "pin": "1", "trainee_id": ids["trainee_A"]})
    extended = world.call("PATCH", f"/api/v1/classes/{ids['class_A']}", key, json={"end_date": "2026-03-24"})
    assert extended.status_code == 409 and "CLS-A-APR" in extended.json()["detail"]
    assert world.ok("GET", f"/api/v1/classes/{ids['class_A']}", key)["end_date"] == "2026-03-20"
    moved = world.ok("PATCH", f"/api/v1/classes/{ids['class_A']}", key, json={"end_date": "2026-03-22", "name": "育婴员(延)"})
    assert (moved["start_date"], moved["end_date"], moved["name"]) == ("2026-03-02", "2026-03-22", "育婴员(延)")
    assert world.call("PATCH", f"/api/v1/classes/{ids['class_A']}", key, json={"start_date": "2026-03-23"}).status_code == 422
    assert world.call("PATCH", f"/api/v1/classes/{ids['class_A']}", key, json={"code": "NEW"}).status_code == 422
    assert world.call("PATCH", f"/api/v1/classes/{ids['class_A']}", world.keys["B"], json={"name": "x"}).status_code == 404
