"""Claims read the other areas' real evidence: the sampling inspection decision (open, passed,
failed) and the latest presence run."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from punchaudit.config import load_settings
from punchaudit.services import claims as svc
from punchaudit.services import presence as presence_svc
from punchaudit.services import sampling as sampling_svc
from storage import sampling as sampling_repo
from storage.db import session_scope
from storage.sampling import PopulationSession
from storage.schema.core import Device, Punch, TrainingClass
from tests.test_claims_service import presence, seed

pytestmark = pytest.mark.postgres
SETTINGS = load_settings()


def population(days: int = 20) -> list[PopulationSession]:
    out, d = [], date(2023, 3, 1)
    while len(out) < 2 * days:
        if d.isoweekday() <= 5:
            base = datetime(d.year, d.month, d.day) - timedelta(hours=8)
            out += [PopulationSession(d, 0, base + timedelta(hours=8, minutes=30), base + timedelta(hours=11, minutes=30)),
                    PopulationSession(d, 1, base + timedelta(hours=14), base + timedelta(hours=17))]
        d += timedelta(days=1)
    return out


def inspect(engine: Engine, class_id: int, bad: int, *, close: bool = True) -> int:
    with session_scope(engine) as s:
        row = sampling_svc.open_inspection(s, SETTINGS, class_id, actor="insp", population=population(), seed="s1")
        for n, item in enumerate(sampling_repo.items(s, row.id)):
            sampling_svc.record_verdict(s, row.id, item.id, inspector="insp", held_as_declared=n >= bad)
        if close:
            sampling_svc.close_inspection(s, row.id, actor="insp")
        return row.id


@pytest.mark.parametrize(("bad", "close", "decision", "total"), [
    (0, True, "pass", 3 * 100000),  # no contracts: general subsidy, 1,000 each
    (1, True, "fail", 0),
    (0, False, None, 0),  # reviewed but not closed: no decision yet
])
def test_claim_uses_the_inspection_decision(engine: Engine, bad: int, close: bool, decision: str | None,
                                            total: int) -> None:
    ids = seed(engine, n=3)
    inspection_id = inspect(engine, ids["class"], bad, close=close)
    with session_scope(engine) as s:
        claim = svc.build_claim(s, SETTINGS, "C1", "ops", presence=presence(ids, [0, 0, 0], records=False))
        assert (claim.inspection_id, claim.inspection_decision, claim.total_fen) == (inspection_id, decision, total)
        reasons = [r["code"] for r in svc.summary(claim, "C1")["reasons"]]
    expected = {"pass": ["general_cap"], "fail": ["inspection_failed", "general_cap"],
                None: ["inspection_pending", "general_cap"]}[decision]
    assert reasons == expected




def weekdays(first: date, n: int) -> list[date]:
    out, d = [], first
    while len(out) < n:
        if d.isoweekday() <= 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def punch(s, device_id: int, pin: str, day: date, hour: int, minute: int, **kw) -> None:  # type: ignore[no-untyped-def]
    local = datetime(day.year, day.month, day.day, hour, minute)
    s.add(Punch(device_id=device_id, source="zkteco", pin=pin, local_time=local, tz_name="Asia/Shanghai",
                utc_time=local - timedelta(hours=8), method=2, verify_code=15, status_code=0, received_at=local, **kw))


def test_claim_from_a_real_presence_run_and_a_late_replay(engine: Engine) -> None:
    ids = seed(engine, n=3)
    days = weekdays(date(2023, 3, 1), 12)
    with session_scope(engine) as s:
        site_id = s.get(TrainingClass, ids["class"]).site_id
        device = Device(serial="ZK-C1", vendor="zkteco", site_id=site_id, timezone="Asia/Shanghai")
        s.add(device)
        s.flush()
        presence_svc.set_schedule(s, SETTINGS, "C1", sessions=["08:30-11:30"], days=days)
        for n, day in enumerate(days):
            punch(s, device.id, "1", day, 8, 25)  # trainee 0: present every day
            if n < 11:  # trainee 1: 9 days on time, 2 late (late counts as present), 1 absent
                punch(s, device.id, "2", day, 8, 45 if n >= 9 else 25)
            if n < 5:  # trainee 2: 5 days, then 2 days on a terminal with a wrong clock (do not count)
                punch(s, device.id, "3", day, 8, 20)
            elif n < 7:
                punch(s, device.id, "3", day, 8, 20, clock_fault=1)
        device_id = device.id
    with session_scope(engine) as s:
        [run], _ = presence_svc.run_presence(s, SETTINGS, ["C1"], trigger="test")
        assert run.has_records
        first = svc.build_claim(s, SETTINGS, "C1", "ops")
        lines = svc.detail(s, first.id)["lines"]
        assert first.presence_run_id == run.run_id and first.has_punch_records and first.scheduled_days == 12
        svc.transition(s, first.id, "submit", "site")
    assert [line["days"] for line in lines] == [12, 11, 5]
    # no contracts on file: general subsidy capped at 1,000 (12 days = 1,700; 11 = 1,600; 5 = 750)
    assert [line["base_fen"] for line in lines] == [170000, 160000, 75000]
    assert [line["amount_fen"] for line in lines] == [100000, 100000, 75000]
    with session_scope(engine) as s:  # a late replay brings trainee 2's punches of two more days
        for day in days[7:9]:
            punch(s, device_id, "3", day, 8, 29)
    with session_scope(engine) as s:
        [run2], _ = presence_svc.run_presence(s, SETTINGS, ["C1"], trigger="test")
        assert run2.version == 2
        second = svc.build_claim(s, SETTINGS, "C1", "ops")
        assert second.presence_run_id == run2.run_id and second.version == 2
        assert [line["days"] for line in svc.detail(s, second.id)["lines"]] == [12, 11, 7]
        kept = svc.detail(s, first.id)
        assert kept["presence_run_id"] == run.run_id and [line["days"] for line in kept["lines"]] == [12, 11, 5]
