"""Which sessions have footage: interval arithmetic on arrays, no I/O.

Footage intervals (any camera at the site) are merged into disjoint runs; the footage time inside a
session [a, b) is then C(b) - C(a), where C(t) is the total footage length before t, evaluated for all
sessions at once with `searchsorted` over the runs' cumulative lengths.
"""
from __future__ import annotations

import numpy as np


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of [start, end) intervals as sorted disjoint runs."""
    s = np.asarray(starts, dtype=np.float64)
    e = np.asarray(ends, dtype=np.float64)
    keep = e > s
    s, e = s[keep], e[keep]
    if s.size == 0:
        return s, e
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    new_run = np.empty(s.size, dtype=bool)
    new_run[0] = True
    new_run[1:] = s[1:] > reach[:-1]
    run_id = np.cumsum(new_run) - 1
    run_starts = s[new_run]
    run_ends = np.zeros(run_starts.size)
    np.maximum.at(run_ends, run_id, reach)
    return run_starts, run_ends


def _covered_before(t: np.ndarray, run_starts: np.ndarray, run_ends: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Total covered length in (-inf, t) for each t."""
    idx = np.searchsorted(run_starts, t, side="right") - 1  # last run starting at or before t
    full_before = np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0.0)
    partial = np.where(idx >= 0, np.clip(t - run_starts[np.maximum(idx, 0)], 0.0,
                                         (run_ends - run_starts)[np.maximum(idx, 0)]), 0.0)
    return full_before + partial


def covered_seconds(session_starts: np.ndarray, session_ends: np.ndarray, footage_starts: np.ndarray,
                    footage_ends: np.ndarray) -> np.ndarray:
    """For each session [start, end), the time covered by the union of footage intervals. All inputs
    in one unit (seconds, or local minutes); any shape for the sessions."""
    a = np.asarray(session_starts, dtype=np.float64)
    b = np.asarray(session_ends, dtype=np.float64)
    rs, re = merge_intervals(footage_starts, footage_ends)
    if rs.size == 0:
        return np.zeros(np.broadcast(a, b).shape)
    cum = np.cumsum(re - rs)
    return _covered_before(b, rs, re, cum) - _covered_before(a, rs, re, cum)


def coverage_share(session_starts: np.ndarray, session_ends: np.ndarray, footage_starts: np.ndarray,
                   footage_ends: np.ndarray) -> np.ndarray:
    """Share (0..1) of each session covered by footage."""
    a = np.asarray(session_starts, dtype=np.float64)
    b = np.asarray(session_ends, dtype=np.float64)
    length = np.maximum(b - a, 1e-9)
    return np.clip(covered_seconds(a, b, footage_starts, footage_ends) / length, 0.0, 1.0)
