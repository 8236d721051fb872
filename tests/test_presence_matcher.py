"""The vectorised matcher agrees with the per-punch oracle, and its reason codes mean what they say."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from attendance.presence import ClassSpec, ClassTable, PunchArrays, Reason, match_batch, match_class
from attendance.rules import PresenceRule
from attendance.schedule import Schedule, ScheduleError, Session, day_number
from devices.punch import Method
from oracle_presence import oracle_class

BASE = date(2026, 3, 2)
MINUTE_EDGE_MARGINS = (-1, 0, 1)


@st.composite
def rules(draw: st.DrawFn) -> PresenceRule:
    limit = draw(st.integers(0, 90))
    return PresenceRule(
        methods=frozenset(draw(st.sets(st.sampled_from(list(Method)), min_size=1))),
        early_window=draw(st.integers(0, 90)),
        late_grace=draw(st.integers(0, limit)),
        late_limit=limit,
        checkout_required=draw(st.booleans()),
        checkout_window=draw(st.integers(0, 40)),
        day_rule=draw(st.sampled_from(["all", "any"])),
        coverage_threshold=draw(st.sampled_from([1.0, 0.5, 0.01])),
        min_session_coverage=draw(st.sampled_from([0.0, 0.3, 1.0])),
    )


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    n_sessions = draw(st.integers(1, 3))
    # starts near midnight are likely, so windows cross it
    starts = sorted(set(draw(st.lists(st.one_of(st.integers(0, 40), st.integers(1380, 1439), st.integers(0, 1439)),
                                      min_size=n_sessions, max_size=n_sessions))))
    sessions = []
    for i, s in enumerate(starts):
        gap = (starts[i + 1] if i + 1 < len(starts) else starts[0] + 1440) - s
        length = draw(st.integers(1, max(1, min(gap, 600))))
        sessions.append(Session(s, (s + length) % 1440))
    offsets = draw(st.sets(st.integers(0, 9), max_size=6))
    days = [BASE + timedelta(days=o) for o in offsets]
    try:
        return Schedule.from_days(days, sessions)
    except ScheduleError:
        assume(False)
        raise


@st.composite
def punch_streams(draw: st.DrawFn, schedule: Schedule, rule: PresenceRule, n_trainees: int) -> list[tuple]:
    """Punches near window edges on training days and their neighbours, plus random ones and duplicates."""
    n = draw(st.integers(0, 40))
    dns = [day_number(d) for d in schedule.days] or [day_number(BASE)]
    out = []
    for _ in range(n):
        dn = draw(st.sampled_from(dns)) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        sess = draw(st.sampled_from(schedule.sessions))
        start, end = dn * 1440 + sess.start, dn * 1440 + sess.end_offset
        anchor = draw(st.sampled_from([
            start - rule.early_window, start + rule.late_grace, start + rule.late_limit, start,
            end - rule.checkout_window, end + rule.checkout_window, end,
        ]))
        minute = anchor + draw(st.one_of(st.sampled_from(MINUTE_EDGE_MARGINS), st.integers(-200, 200)))
        out.append((
            draw(st.integers(-1, max(n_trainees - 1, -1))), minute,
            draw(st.sampled_from([1, 2, 2, 3, 4, 0, 5])),
            draw(st.booleans()) or draw(st.booleans()),
            draw(st.integers(0, 6)) == 0,
            draw(st.sampled_from([0, 0, 0, 1, 2])),
        ))
    dupes = draw(st.lists(st.sampled_from(out), max_size=5)) if out else []
    return out + dupes


def to_arrays(punches: list[tuple], offset: int = 0) -> PunchArrays:
    if not punches:
        return PunchArrays.empty()
    t, m, me, so, cf, ph = zip(*punches)
    tr = np.array(t, np.int32)
    tr = np.where(tr >= 0, tr + offset, -1).astype(np.int32)
    return PunchArrays(tr, np.array(m, np.int32), np.array(me, np.int8), np.array(so, bool),
                       np.array(cf, bool), np.array(ph, np.int8))


def assert_same(result, expected) -> None:  # type: ignore[no-untyped-def]
    T, D = result.codes.shape
    assert result.session_codes.tolist() == (expected.session_codes if D else [[] for _ in range(T)]) or T * D == 0
    assert result.codes.tolist() == expected.codes
    assert result.attended.tolist() == expected.attended
    assert np.allclose(result.day_coverage, expected.day_coverage)
    assert np.allclose(result.session_coverage, np.array(expected.session_coverage).reshape(result.session_coverage.shape))
    assert result.day_has_records.tolist() == expected.day_has_records
    assert result.has_punch_records == expected.has_punch_records
    assert result.sampling_population == expected.missing_sessions


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), schedule=schedules(), rule=rules(), n_trainees=st.integers(0, 5))
def test_matcher_agrees_with_oracle(data: st.DataObject, schedule: Schedule, rule: PresenceRule, n_trainees: int) -> None:
    try:
        table = ClassTable.from_specs([ClassSpec(n_trainees, schedule, rule)])
        match_batch(PunchArrays.empty(), table)
    except ScheduleError:
        assume(False)
    punches = data.draw(punch_streams(schedule, rule, n_trainees))
    result = match_class(to_arrays(punches), n_trainees, schedule, rule)
    assert_same(result, oracle_class(punches, n_trainees, schedule, rule))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), classes=st.lists(st.tuples(schedules(), rules(), st.integers(0, 4)), min_size=1, max_size=4))
def test_batch_equals_each_class_alone(data: st.DataObject, classes: list) -> None:
    specs = [ClassSpec(n, sch, rule) for sch, rule, n in classes]
    try:
        table = ClassTable.from_specs(specs)
        match_batch(PunchArrays.empty(), table)
    except ScheduleError:
        assume(False)
    streams = [data.draw(punch_streams(sch, rule, n)) for sch, rule, n in classes]
    offsets = table.trainee_offsets()
    # the batch receives every class's punches shuffled together
    merged = [p for c, s in enumerate(streams) for p in ((p[0] + int(offsets[c]) if p[0] >= 0 else -1,) + p[1:] for p in s)]
    order = data.draw(st.permutations(range(len(merged))))
    batch = match_batch(to_arrays([merged[i] for i in order]), table)
    for c, (sch, rule, n) in enumerate(classes):
        assert_same(batch.for_class(c), oracle_class(streams[c], n, sch, rule))


def _day(d: int, hhmm: str) -> int:
    h, m = map(int, hhmm.split(":"))
    return (day_number(BASE) + d) * 1440 + h * 60 + m


def test_reason_codes_for_a_small_class() -> None:
    schedule = Schedule.from_range(BASE, BASE + timedelta(days=1), ["08:30-11:30", "13:30-17:00"])
    rule = PresenceRule(checkout_required=False)
    punches = [
        (0, _day(0, "08:00"), 2, True, False, 0), (0, _day(0, "13:40"), 1, True, False, 0),  # present (08:00 edge)
        (1, _day(0, "08:41"), 2, True, False, 0), (1, _day(0, "13:30"), 2, True, False, 0),  # late in the morning
        (2, _day(0, "08:30"), 4, True, False, 0), (2, _day(0, "13:30"), 3, True, False, 0),  # password and card only
        (3, _day(0, "08:30"), 2, False, False, 0), (3, _day(0, "13:30"), 2, True, False, 0),  # wrong site once
        (4, _day(0, "08:30"), 2, True, True, 0), (4, _day(0, "13:30"), 2, True, False, 2),  # clock fault, proxy
        (0, _day(1, "09:01"), 2, True, False, 0),  # beyond the late limit: absent
    ]
    r = match_class(to_arrays(punches), 6, schedule, rule)
    assert r.codes[:, 0].tolist() == [Reason.PRESENT, Reason.LATE, Reason.NON_BIOMETRIC_ONLY, Reason.WRONG_SITE,
                                      Reason.PROXY_SUSPECTED, Reason.ABSENT]
    assert r.session_codes[4, 0].tolist() == [Reason.CLOCK_FAULT, Reason.PROXY_SUSPECTED]
    assert r.codes[0, 1] == Reason.ABSENT
    assert r.attended.tolist() == [1, 1, 0, 0, 0, 0]
    assert r.day_coverage[0] == pytest.approx(3 / 6)  # valid punches: trainees 0, 1 and 3 (afternoon)
    assert r.day_has_records.tolist() == [True, False]
    assert not r.has_punch_records
    assert r.sampling_population == [(1, 0), (1, 1)]


def test_checkout_required_marks_left_early_and_any_day_rule() -> None:
    schedule = Schedule.from_days([BASE], ["08:30-11:30", "13:30-17:00"])
    punches = [(0, _day(0, "08:30"), 2, True, False, 0), (0, _day(0, "11:20"), 2, True, False, 0),
               (0, _day(0, "13:30"), 2, True, False, 0)]
    strict = match_class(to_arrays(punches), 1, schedule, PresenceRule(checkout_required=True, checkout_window=15))
    assert strict.session_codes[0, 0].tolist() == [Reason.PRESENT, Reason.LEFT_EARLY]
    assert strict.codes[0, 0] == Reason.LEFT_EARLY
    lenient = match_class(to_arrays(punches), 1, schedule, PresenceRule(checkout_required=True, day_rule="any"))
    assert lenient.codes[0, 0] == Reason.PRESENT


def test_session_after_midnight_takes_punches_from_the_evening_before() -> None:
    schedule = Schedule.from_days([BASE + timedelta(days=1)], ["00:10-03:00"])
    r = match_class(to_arrays([(0, _day(0, "23:45"), 2, True, False, 0)]), 1, schedule, PresenceRule(early_window=30))
    assert r.codes.tolist() == [[Reason.PRESENT]]


def test_overlapping_windows_are_refused() -> None:
    schedule = Schedule.from_days([BASE], ["08:00-08:40", "08:50-10:00"])
    with pytest.raises(ScheduleError, match="overlap"):
        match_class(PunchArrays.empty(), 1, schedule, PresenceRule(early_window=30, late_limit=30))


def test_empty_class_has_no_records() -> None:
    schedule = Schedule.from_days([BASE], ["08:30-11:30"])
    r = match_class(PunchArrays.empty(), 0, schedule, PresenceRule())
    assert r.codes.shape == (0, 1) and not r.has_punch_records and r.sampling_population == [(0, 0)]


def test_absurd_clock_fault_times_do_not_wrap_into_a_training_day() -> None:
    schedule = Schedule.from_days([BASE], ["08:30-11:30"])
    # int64 minutes of year ~10000 would wrap to an arbitrary int32 if cast blindly
    wrapped_target = _day(0, "08:30")
    far = np.int64(wrapped_target) + np.int64(2**32)
    p = PunchArrays(np.array([0], np.int32), np.array([far], np.int64), np.array([2], np.int8), np.array([True]),
                    np.array([False]))
    assert match_class(p, 1, schedule, PresenceRule()).codes.tolist() == [[Reason.ABSENT]]
