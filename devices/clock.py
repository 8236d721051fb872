"""Clock-fault classification of punch times, vectorised.

A terminal whose clock was reset (year 2000/1970 defaults), runs ahead, or whose realtime push is far
from the moment we received it produces punches that are kept for audit but never counted as presence.
The codes are small integers so a whole batch is classified with a few numpy comparisons.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import numpy as np

CLOCK_OK = 0
CLOCK_BEFORE_MIN_YEAR = 1
CLOCK_FUTURE = 2
CLOCK_REALTIME_SKEW = 3
CLOCK_FAULT_NAMES = {CLOCK_OK: "ok", CLOCK_BEFORE_MIN_YEAR: "before minimum year", CLOCK_FUTURE: "in the future",
                     CLOCK_REALTIME_SKEW: "realtime push far from receive time"}


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def clock_faults(utc_times: np.ndarray | Sequence[datetime], received_at: datetime, *, realtime: bool,
                 min_year: int, future_tolerance: timedelta, realtime_skew: timedelta) -> np.ndarray:
    """Fault code per punch (int8): 0 ok, 1 before `min_year`, 2 later than receive time + tolerance,
    3 (realtime pushes only) more than `realtime_skew` away from the receive time.

    `utc_times` are naive UTC (datetime list or datetime64 array); `received_at` naive UTC or aware.
    The first matching code wins, in that order.
    """
    times = np.asarray(utc_times if isinstance(utc_times, np.ndarray) else
                       [_naive_utc(t) for t in utc_times], dtype="datetime64[s]")
    received = np.datetime64(_naive_utc(received_at), "s")
    codes = np.zeros(times.shape, dtype=np.int8)
    if times.size == 0:
        return codes
    if realtime:
        skew = np.abs((times - received).astype(np.int64)) > int(realtime_skew.total_seconds())
        codes[skew] = CLOCK_REALTIME_SKEW
    codes[times > received + np.timedelta64(int(future_tolerance.total_seconds()), "s")] = CLOCK_FUTURE
    codes[times < np.datetime64(f"{min_year:04d}-01-01T00:00:00", "s")] = CLOCK_BEFORE_MIN_YEAR
    return codes
