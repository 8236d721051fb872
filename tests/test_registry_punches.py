"""Punch listing: the PIN names the trainee enrolled at the terminal's site on the punch's local day;
filters, inclusive local-day ranges, pagination and the caller's scope."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from attendance import resident_id as rid
from punchaudit.services import registry as reg
from punchaudit.services import registry_devices as devices
from punchaudit.services import registry_people as people
from punchaudit.services.registry_punches import list_punches
from storage.db import session_scope
from storage.schema.core import Enrollment, Punch

SECRET = b"test-secret-key-0123456789"


def _punch(device_id: int, pin: str, local: datetime) -> Punch:
    return Punch(device_id=device_id, source="zkteco", pin=pin, local_time=local, tz_name="Asia/Shanghai",
                 utc_time=local - timedelta(hours=8), method=2, verify_code=15, status_code=0, success=True,
                 clock_fault=0, received_at=local)


@pytest.fixture
def setup(engine: Engine) -> dict[str, int]:
    """Institution A: one site, two terminals, a March and an April class where PIN 1 names different
    people. Institution B: one terminal with a punch by PIN 1 too."""
    ids: dict[str, int] = {}
    with session_scope(engine) as s:
        a = reg.create_institution(s, None, "A", "A school")
        b = reg.create_institution(s, None, "B", "B school")
        site_a = reg.create_site(s, None, a.id, "SA", "site A")
        site_b = reg.create_site(s, None, b.id, "SB", "site B")
        ids["inst_a"], ids["inst_b"] = a.id, b.id
        ids["dev1"] = devices.create_device(s, None, "D1", "zkteco", site_a.id).id
        ids["dev2"] = devices.create_device(s, None, "D2", "hikvision", site_a.id).id
        ids["dev_b"] = devices.create_device(s, None, "DB", "zkteco", site_b.id).id
        march = people.create_class(s, None, a.id, site_a.id, "MAR", "March", date(2026, 3, 2), date(2026, 3, 20))
        april = people.create_class(s, None, a.id, site_a.id, "APR", "April", date(2026, 4, 1), date(2026, 4, 10))
        b_class = people.create_class(s, None, b.id, site_b.id, "BMAR", "B March", date(2026, 3, 2), date(2026, 3, 20))
        ids["march"], ids["april"] = march.id, april.id
        for n, (cls, name) in enumerate(((march, "周一"), (april, "吴二"), (b_class, "郑三"))):
            people.enroll(s, None, SECRET, cls.id, "1", resident_id=rid.make("140202", date(1990, 1, 1 + n), 10 + n), name=name)
        s.add_all([
            _punch(ids["dev1"], "1", datetime(2026, 3, 5, 8, 1)),
            _punch(ids["dev2"], "1", datetime(2026, 3, 20, 23, 59)),  # last day of the March class
            _punch(ids["dev1"], "1", datetime(2026, 4, 3, 8, 2)),
            _punch(ids["dev1"], "9", datetime(2026, 3, 5, 8, 3)),  # nobody enrolled under PIN 9
            _punch(ids["dev1"], "1", datetime(2026, 3, 25, 8, 0)),  # between the classes
            _punch(ids["dev_b"], "1", datetime(2026, 3, 5, 8, 0)),
        ])
    return ids


def _rows(engine: Engine, scope: int | None, **filters: object) -> list[tuple[str, str, str | None, str | None]]:
    with session_scope(engine) as s:
        page = list_punches(s, scope, **filters)  # type: ignore[arg-type]
        return [(r.device_serial, f"{r.punch.local_time:%m-%d %H:%M}", r.class_code, r.trainee_name) for r in page.items]


@pytest.mark.postgres
def test_pin_names_the_trainee_of_that_day(engine: Engine, setup: dict[str, int]) -> None:
    assert _rows(engine, setup["inst_a"]) == [
        ("D1", "03-05 08:01", "MAR", "周一"),
        ("D1", "03-05 08:03", None, None),
        ("D2", "03-20 23:59", "MAR", "周一"),
        ("D1", "03-25 08:00", None, None),
        ("D1", "04-03 08:02", "APR", "吴二"),
    ]
    assert _rows(engine, setup["inst_b"]) == [("DB", "03-05 08:00", "BMAR", "郑三")]
    assert len(_rows(engine, None)) == 6


@pytest.mark.postgres
def test_filters(engine: Engine, setup: dict[str, int]) -> None:
    a = setup["inst_a"]
    assert [r[1] for r in _rows(engine, a, class_id=setup["march"])] == ["03-05 08:01", "03-20 23:59"]
    assert [r[1] for r in _rows(engine, a, device_id=setup["dev2"])] == ["03-20 23:59"]
    assert [r[1] for r in _rows(engine, a, pin="9")] == ["03-05 08:03"]
    # both ends of a local-day range are included, whatever the hour
    days = _rows(engine, a, date_from=date(2026, 3, 20), date_to=date(2026, 3, 25))
    assert [r[1] for r in days] == ["03-20 23:59", "03-25 08:00"]
    with pytest.raises(reg.Invalid):
        _rows(engine, a, date_from=date(2026, 3, 20), date_to=date(2026, 3, 19))
    with pytest.raises(reg.NotFound):
        _rows(engine, setup["inst_b"], class_id=setup["march"])
    with pytest.raises(reg.NotFound):
        _rows(engine, setup["inst_b"], device_id=setup["dev1"])


@pytest.mark.postgres
def test_pages(engine: Engine, setup: dict[str, int]) -> None:
    with session_scope(engine) as s:
        first = list_punches(s, None, limit=4)
        second = list_punches(s, None, limit=4, offset=first.next_offset or 0)
        with pytest.raises(reg.Invalid):
            list_punches(s, None, limit=reg.MAX_LIMIT + 1)
    assert len(first.items) == 4 and first.next_offset == 4
    assert len(second.items) == 2 and second.next_offset is None
    assert {r.punch.id for r in first.items}.isdisjoint({r.punch.id for r in second.items})


@pytest.mark.postgres
def test_one_row_per_punch_even_when_imported_data_makes_a_pin_ambiguous(engine: Engine, setup: dict[str, int]) -> None:
    with session_scope(engine) as s:  # written around the registry's checks, as a bulk import might
        other = people.create_class(s, None, setup["inst_a"], people.get_class(s, None, setup["march"]).site_id,
                                    "MAR2", "March bis", date(2026, 3, 1), date(2026, 3, 31))
        intruder = people.register_trainee(s, None, SECRET, "冒名", rid.make("140202", date(1991, 1, 1), 99))
        s.add(Enrollment(class_id=other.id, trainee_id=intruder.id, pin="1"))
    rows = _rows(engine, setup["inst_a"])
    assert len(rows) == 5  # not one more per extra enrolment
    assert rows[0] == ("D1", "03-05 08:01", "MAR", "周一")  # the earliest enrolment names the punch
    assert rows[3] == ("D1", "03-25 08:00", "MAR2", "冒名")  # only MAR2 runs that day
