"""Registry use cases called directly: scope enforcement, conflicts, keys, and the enrolment race."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from attendance import resident_id as rid
from punchaudit.api.auth import hash_key
from punchaudit.services import registry as reg
from punchaudit.services import registry_devices as devices
from punchaudit.services import registry_people as people
from storage.db import session_scope
from storage.schema.core import ApiKey, Enrollment

SECRET = b"test-secret-key-0123456789"
PERSON = rid.make("140202", date(1993, 8, 8), 77)


@pytest.fixture
def two(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        a = reg.create_institution(s, None, "A", "A school", district="平城区")
        b = reg.create_institution(s, None, "B", "B school")
        sa = reg.create_site(s, None, a.id, "SA", "site A")
        sb = reg.create_site(s, None, b.id, "SB", "site B")
        ca = people.create_class(s, None, a.id, sa.id, "CA", "class A", date(2026, 3, 1), date(2026, 3, 31))
        return {"a": a.id, "b": b.id, "sa": sa.id, "sb": sb.id, "ca": ca.id}


@pytest.mark.postgres
def test_scope_is_enforced_by_every_lookup(engine: Engine, two: dict[str, int]) -> None:
    a, b = two["a"], two["b"]
    with session_scope(engine) as s:
        with pytest.raises(reg.NotFound):
            reg.create_institution(s, a, "C", "site keys cannot create institutions")
        with pytest.raises(reg.NotFound):
            reg.create_site(s, a, b, "S2", "under B")
        with pytest.raises(reg.NotFound):
            devices.create_device(s, a, "SN", "zkteco", two["sb"])
        with pytest.raises(reg.NotFound):
            people.create_class(s, b, b, two["sa"], "CB", "B class at A's site", date(2026, 3, 1), date(2026, 3, 2))
        with pytest.raises(reg.NotFound):
            people.class_by_code(s, b, "CA")
        with pytest.raises(reg.NotFound):
            reg.site_by_code(s, b, "SA")
        assert reg.site_by_code(s, a, "SA").id == two["sa"]
        assert [i.code for i in reg.list_institutions(s, b).items] == ["B"]
        assert [x.code for x in reg.list_sites(s, None).items] == ["SA", "SB"]
        device = devices.create_device(s, None, "SN-A", "zkteco", two["sa"], token="tok-12345678")
        assert devices.device_by_serial(s, a, "SN-A").id == device.id
        with pytest.raises(reg.NotFound):
            devices.device_by_serial(s, b, "SN-A")
        with pytest.raises(reg.Invalid, match="name cannot be changed|cannot be changed"):
            reg.update_site(s, a, two["sa"], institution_id=b)


@pytest.mark.postgres
def test_trainee_conflict_names_the_id_only_to_those_who_may_see_it(engine: Engine, two: dict[str, int]) -> None:
    with session_scope(engine) as s:
        enrolment = people.enroll(s, two["a"], SECRET, two["ca"], "3", resident_id=PERSON, name="陈九")
        assert people.find_trainee(s, two["a"], SECRET, PERSON.lower()).id == enrolment.trainee_id
        with pytest.raises(reg.NotFound):
            people.find_trainee(s, two["b"], SECRET, PERSON)
        with pytest.raises(reg.Conflict, match=f"as trainee {enrolment.trainee_id}"):
            people.register_trainee(s, two["a"], SECRET, "陈九", PERSON)
        with pytest.raises(reg.Conflict) as hidden:
            people.register_trainee(s, two["b"], SECRET, "陈九", PERSON)
        assert "as trainee" not in str(hidden.value)
        with pytest.raises(reg.Invalid, match="either"):
            people.enroll(s, None, SECRET, two["ca"], "4")


@pytest.mark.postgres
def test_keys(engine: Engine, two: dict[str, int]) -> None:
    with session_scope(engine) as s:
        row, clear = reg.issue_key(s, "office", "site", two["a"])
        assert row.key_hash == hash_key(clear) and clear not in (row.key_hash, row.name)
        first = reg.revoke_key(s, row.id).revoked_at
        assert first is not None and reg.revoke_key(s, row.id).revoked_at == first
        assert reg.list_keys(s) == [] and [k.id for k in reg.list_keys(s, include_revoked=True)] == [row.id]
        with pytest.raises(reg.Invalid):
            reg.issue_key(s, " ", "admin")
        with pytest.raises(reg.NotFound):
            reg.revoke_key(s, 999)
        assert s.scalar(select(func.count()).select_from(ApiKey)) == 1


@pytest.mark.postgres
def test_concurrent_enrolments_in_overlapping_classes_store_one(engine: Engine, two: dict[str, int]) -> None:
    """Two operators enrol the same person in two overlapping classes at the same moment: one wins."""
    with session_scope(engine) as s:
        trainee = people.register_trainee(s, None, SECRET, "林十", PERSON).id
        other = people.create_class(s, None, two["a"], two["sa"], "CA2", "class A2", date(2026, 3, 15), date(2026, 4, 15)).id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(class_id: int, pin: str) -> None:
        try:
            with session_scope(engine) as s:
                barrier.wait(timeout=10)
                people.enroll(s, None, SECRET, class_id, pin, trainee_id=trainee)
            outcomes.append("enrolled")
        except reg.Conflict:
            outcomes.append("conflict")
        except DBAPIError:  # SQLite: the later writer's snapshot is stale ("database is locked")
            outcomes.append("retry")

    threads = [threading.Thread(target=attempt, args=(two["ca"], "1")), threading.Thread(target=attempt, args=(other, "2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if engine.dialect.name == "postgresql":  # the trainee row lock makes the second one wait, then see the first
        assert sorted(outcomes) == ["conflict", "enrolled"]
    else:
        assert sorted(outcomes) in (["conflict", "enrolled"], ["enrolled", "retry"])
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.trainee_id == trainee)) == 1
