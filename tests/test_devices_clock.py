"""Clock-fault codes for punch times (vectorised)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from devices.clock import CLOCK_BEFORE_MIN_YEAR, CLOCK_FUTURE, CLOCK_OK, CLOCK_REALTIME_SKEW, clock_faults

RECEIVED = datetime(2026, 3, 2, 0, 5)
KW = dict(min_year=2020, future_tolerance=timedelta(minutes=10), realtime_skew=timedelta(minutes=5))


def test_codes_for_each_fault() -> None:
    times = [datetime(2026, 3, 2, 0, 4), datetime(2000, 1, 1), datetime(1970, 1, 1), datetime(2026, 3, 2, 0, 16),
             datetime(2026, 3, 2, 0, 14), datetime(2026, 3, 1, 23, 0), datetime(2019, 12, 31, 23, 59, 59),
             datetime(2020, 1, 1)]
    codes = clock_faults(times, RECEIVED, realtime=False, **KW)
    assert codes.dtype == np.int8
    assert codes.tolist() == [CLOCK_OK, CLOCK_BEFORE_MIN_YEAR, CLOCK_BEFORE_MIN_YEAR, CLOCK_FUTURE, CLOCK_OK,
                              CLOCK_OK, CLOCK_BEFORE_MIN_YEAR, CLOCK_OK]
    realtime = clock_faults(times, RECEIVED, realtime=True, **KW)
    assert realtime.tolist() == [CLOCK_OK, CLOCK_BEFORE_MIN_YEAR, CLOCK_BEFORE_MIN_YEAR, CLOCK_FUTURE,
                                 CLOCK_REALTIME_SKEW, CLOCK_REALTIME_SKEW, CLOCK_BEFORE_MIN_YEAR,
                                 CLOCK_REALTIME_SKEW]


def test_datetime64_input_and_aware_received_and_empty() -> None:
    arr = np.array(["2026-03-02T00:04:00", "2030-01-01T00:00:00"], dtype="datetime64[s]")
    aware = RECEIVED.replace(tzinfo=timezone.utc).astimezone(timezone(timedelta(hours=8)))
    assert clock_faults(arr, aware, realtime=False, **KW).tolist() == [CLOCK_OK, CLOCK_FUTURE]
    assert clock_faults([], RECEIVED, realtime=True, **KW).shape == (0,)


@given(st.lists(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2040, 1, 1)), max_size=50),
       st.booleans())
def test_matches_scalar_rule(times: list[datetime], realtime: bool) -> None:
    times = [t.replace(microsecond=0) for t in times]

    def scalar(t: datetime) -> int:
        if t.year < 2020:
            return CLOCK_BEFORE_MIN_YEAR
        if t > RECEIVED + timedelta(minutes=10):
            return CLOCK_FUTURE
        if realtime and abs(t - RECEIVED) > timedelta(minutes=5):
            return CLOCK_REALTIME_SKEW
        return CLOCK_OK

    assert clock_faults(times, RECEIVED, realtime=realtime, **KW).tolist() == [scalar(t) for t in times]
