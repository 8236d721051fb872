"""Schedules, local minutes and presence rules: the small pure pieces the matcher relies on."""
from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest

from attendance.rules import PresenceRule, RuleError, parse_methods, rule_from_config
from attendance.schedule import Schedule, ScheduleError, Session, day_number, local_minutes
from devices.punch import Method
from punchaudit.config import load_settings


def test_range_minus_weekends_rest_days_and_holidays() -> None:
    s = Schedule.from_range(date(2026, 4, 1), date(2026, 4, 10), ["08:30-11:30"], rest_weekdays=[6, 7],
                            rest_days=[date(2026, 4, 2)], holidays=[date(2026, 4, 6), date(2026, 5, 1)])
    assert [d.day for d in s.days] == [1, 3, 7, 8, 9, 10]
    assert s.day_numbers().tolist() == [day_number(d) for d in s.days]
    assert Schedule.from_json(s.to_json()) == s


def test_session_minutes_and_a_session_past_midnight() -> None:
    s = Schedule.from_days([date(2026, 4, 1)], ["19:00-23:30", "23:40-01:10"])
    starts, ends = s.session_offsets()
    assert starts.tolist() == [1140, 1420] and ends.tolist() == [1410, 1510]
    abs_start, abs_end = s.session_minutes()
    assert abs_start[0, 1] == day_number(date(2026, 4, 1)) * 1440 + 1420 and abs_end[0, 1] - abs_start[0, 1] == 90


@pytest.mark.parametrize("bad, message", [
    (["08:30-11:30", "11:00-12:00"], "overlap"),
    (["13:30-17:00", "08:30-11:30"], "order"),
    (["08:30"], "START-END"),
    (["8.30-11"], "time of day"),
    (["25:00-26:00"], "time of day"),
    ([], "at least one session"),
])
def test_bad_schedules_are_refused(bad: list[str], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        Schedule.from_days([date(2026, 4, 1)], bad)


def test_local_minutes_follow_daylight_saving() -> None:
    # Berlin switched to summer time on 2026-03-29 at 01:00 UTC
    utc = np.array([datetime(2026, 3, 29, 0, 30), datetime(2026, 3, 29, 1, 30)], dtype="datetime64[m]").astype(np.int64)
    local = local_minutes(utc, "Europe/Berlin")
    assert (local - utc).tolist() == [60, 120]
    assert (local_minutes(utc, "Asia/Shanghai") - utc).tolist() == [480, 480]
    s = Schedule.from_days([date(2026, 3, 29)], ["08:00-09:00"], timezone="Europe/Berlin")
    assert s.local_minute(datetime(2026, 3, 29, 6, 0, tzinfo=timezone.utc)) == day_number(date(2026, 3, 29)) * 1440 + 480


def test_rules_from_config_and_class_overrides() -> None:
    base = rule_from_config(load_settings().presence)
    assert base.methods == {Method.FACE, Method.FINGERPRINT} and base.late_grace == 10
    strict = base.merged({"late_grace_minutes": 5, "checkout_required": "yes", "methods": ["face", "card"]})
    assert strict.late_grace == 5 and strict.checkout_required and strict.methods == {Method.FACE, Method.CARD}
    assert PresenceRule.from_snapshot(strict.snapshot()) == strict
    assert strict.methods_mask == (1 << Method.FACE) | (1 << Method.CARD)
    with pytest.raises(RuleError, match="not a presence rule field"):
        base.merged({"late": 5})
    with pytest.raises(RuleError, match="late_grace"):
        base.merged({"late_grace": 40})  # beyond the late limit
    with pytest.raises(RuleError, match="unknown method"):
        parse_methods(["iris"])
    assert Session.parse("08:30-11:30").label() == "08:30-11:30"
