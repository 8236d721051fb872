"""The presence matcher: punches in, a trainee x training-day matrix of reason codes out.

Vectorised over punches, trainees, days and classes at once. A city-year (60,000 trainees, 2,000
classes, 7 million punches) is one call of `match_batch`; `match_class` is the same code for one class.

How a punch finds its (day, session). Every class has the same session times each training day, so a
class's check-in (and check-out) windows repeat with a period of one day. A lookup table of 1,440
entries per distinct (session times, rule) pattern says, for a minute of the day, which session slot's
window contains it and whether that window belongs to the punch's calendar day or an adjacent one
(windows may cross midnight: a 00:10 session's window opens at 23:40 the day before). A calendar
table per class and (calendar day, slot) gives the cell offset, or a large negative value on rest days
and outside the class's dates. Two gathers replace a `searchsorted` per punch, which on unsorted
punches costs 20 times more (725 ms vs 35 ms for 7 M punches, measured on the bench machine) because
every binary search misses the cache. Windows of the same kind may not overlap (checked when the table
is built), so each punch has at most one check-in session and one check-out session and the result
does not depend on the order of punches.

Per (trainee, day, session) cell the best check-in is a `np.maximum.at` over a per-punch value:
a valid on-time punch (20) beats a valid late one (19) beats the most serious reason an invalid punch
had (4..8); no punch in the window leaves ABSENT. A second `np.maximum.at` marks valid check-outs.
Coverage counts trainees with a valid punch (counted method, registered terminal at the site, sound
clock, photo not rejected) in a check-in or check-out window.

Reason precedence, when several apply to a session or to a day, is the numeric order of `Reason`:
the higher code wins among failures (PROXY_SUSPECTED > FACE_MISMATCH > CLOCK_FAULT > WRONG_SITE >
NON_BIOMETRIC_ONLY > ABSENT > LEFT_EARLY), PRESENT and LATE count as present. A day under
`day_rule="all"` takes its worst session; under "any" its best present session, or else its worst.
One punch with several faults is labelled with its highest code.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from attendance.rules import PresenceRule
from attendance.schedule import DAY_MINUTES, Schedule, ScheduleError

PAD = 3  # calendar days kept on each side of a class's training days (windows reach at most 2 days out)


class Reason(enum.IntEnum):
    """Reason code per trainee and day; higher codes take precedence among failures."""

    PRESENT = 0
    LATE = 1  # checked in after the grace but within the late limit: counts as present
    LEFT_EARLY = 2  # checked in, but no check-out around the end although one is required
    ABSENT = 3  # no punch at all in the check-in window
    NON_BIOMETRIC_ONLY = 4  # only card / password punches (methods the rule does not count)
    WRONG_SITE = 5  # punched on a terminal not registered at the class's site
    CLOCK_FAULT = 6  # the terminal's clock was wrong: the time proves nothing
    FACE_MISMATCH = 7  # the photo at the punch is not the enrolled trainee
    PROXY_SUSPECTED = 8  # the photo suggests someone punched for the trainee (or a replayed photo)

    @property
    def present(self) -> bool:
        return self <= Reason.LATE


class PhotoStatus(enum.IntEnum):
    """Face-verification outcome of the photo taken at a punch, as the matcher sees it."""

    NONE_OR_OK = 0
    MISMATCH = 1
    PROXY_SUSPECTED = 2


_ON_TIME, _LATE_VALUE = 20, 19  # per-punch check-in values; invalid punches carry their Reason (4..8)


@dataclass(frozen=True)
class PunchArrays:
    """Punches as parallel arrays. `trainee` indexes the roster (class-local for `match_class`,
    class-offset global for `match_batch`); -1 marks a punch of no enrolled trainee."""

    trainee: np.ndarray  # int32
    minute: np.ndarray  # int32 local minutes since 1970-01-01 00:00 in the site's zone (seconds dropped)
    method: np.ndarray  # int8, devices.punch.Method
    site_ok: np.ndarray  # bool: the terminal is registered at the class's site
    clock_fault: np.ndarray  # bool or int8, non-zero = the terminal clock was wrong
    photo_status: np.ndarray | None = None  # int8 PhotoStatus, None = all 0

    def __post_init__(self) -> None:
        n = len(self.trainee)
        for name in ("minute", "method", "site_ok", "clock_fault"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"punch array {name} has {len(getattr(self, name))} entries, trainee has {n}")
        if self.photo_status is not None and len(self.photo_status) != n:
            raise ValueError("punch array photo_status has the wrong length")

    def __len__(self) -> int:
        return len(self.trainee)

    @classmethod
    def empty(cls) -> PunchArrays:
        return cls(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, bool), np.zeros(0, bool))


@dataclass(frozen=True)
class ClassSpec:
    """One class for `ClassTable.from_specs`."""

    n_trainees: int
    schedule: Schedule
    rule: PresenceRule


@dataclass(frozen=True)
class Pattern:
    """What the window lookup tables depend on: session times and the rule's minute fields."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]  # minutes from the day's midnight, may pass 1440
    early: int
    grace: int
    limit: int
    checkout: int

    @classmethod
    def of(cls, schedule: Schedule, rule: PresenceRule) -> Pattern:
        starts, ends = schedule.session_offsets()
        return cls(tuple(int(x) for x in starts), tuple(int(x) for x in ends),
                   rule.early_window, rule.late_grace, rule.late_limit, rule.checkout_window)


@dataclass
class ClassTable:
    """All classes of a batch as arrays (struct of arrays), trainees numbered class after class."""

    n_trainees: np.ndarray  # int32 (C,)
    day_numbers: np.ndarray  # int32, training days (days since epoch) of all classes, concatenated
    day_offsets: np.ndarray  # int64 (C+1,), class c's days are day_numbers[day_offsets[c]:day_offsets[c+1]]
    pattern: np.ndarray  # int32 (C,), index into patterns
    patterns: list[Pattern]
    methods_mask: np.ndarray  # int32 (C,), bit m set when Method(m) counts
    checkout_required: np.ndarray  # bool (C,)
    day_any: np.ndarray  # bool (C,): day_rule == "any"
    coverage_threshold: np.ndarray  # float64 (C,)
    min_session_coverage: np.ndarray  # float64 (C,)

    @classmethod
    def from_specs(cls, specs: Sequence[ClassSpec]) -> ClassTable:
        """Build from per-class schedules and rules (identical patterns share one lookup table)."""
        index: dict[Pattern, int] = {}
        pats = [index.setdefault(Pattern.of(s.schedule, s.rule), len(index)) for s in specs]
        days = [s.schedule.day_numbers() for s in specs]
        rules = [s.rule for s in specs]
        return cls(
            n_trainees=np.array([s.n_trainees for s in specs], np.int32),
            day_numbers=np.concatenate(days).astype(np.int32) if days else np.zeros(0, np.int32),
            day_offsets=np.concatenate([[0], np.cumsum([len(d) for d in days], dtype=np.int64)]),
            pattern=np.array(pats, np.int32),
            patterns=list(index),
            methods_mask=np.array([r.methods_mask for r in rules], np.int32),
            checkout_required=np.array([r.checkout_required for r in rules], bool),
            day_any=np.array([r.day_rule == "any" for r in rules], bool),
            coverage_threshold=np.array([r.coverage_threshold for r in rules], np.float64),
            min_session_coverage=np.array([r.min_session_coverage for r in rules], np.float64),
        )

    @property
    def n_classes(self) -> int:
        return len(self.n_trainees)

    def trainee_offsets(self) -> np.ndarray:
        """Class c's trainees are global indices trainee_offsets[c] .. trainee_offsets[c+1]-1."""
        return np.concatenate([[0], np.cumsum(self.n_trainees, dtype=np.int64)])

    def sessions_per_class(self) -> np.ndarray:
        per_pattern = np.array([len(p.starts) for p in self.patterns] or [1], np.int32)
        return per_pattern[self.pattern] if self.n_classes else np.zeros(0, np.int32)


@dataclass
class PresenceResult:
    """One class's outcome. Rows follow the roster order given to the matcher."""

    days: np.ndarray  # int32 training days (days since epoch)
    session_codes: np.ndarray  # int8 (trainees, days, sessions) Reason per session
    codes: np.ndarray  # int8 (trainees, days) Reason per day
    present: np.ndarray  # bool (trainees, days)
    attended: np.ndarray  # int32 (trainees,) days present
    day_coverage: np.ndarray  # float64 (days,) share of trainees with a record-grade punch that day
    session_coverage: np.ndarray  # float64 (days, sessions)
    day_has_records: np.ndarray  # bool (days,)
    session_has_records: np.ndarray  # bool (days, sessions)
    has_punch_records: bool
    missing_sessions: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))  # (k, 2) day, session

    @property
    def sampling_population(self) -> list[tuple[int, int]]:
        """(day index, session index) without punch records: what a sampling inspection draws from."""
        return [(int(d), int(s)) for d, s in self.missing_sessions]


@dataclass
class BatchResult:
    """Outcome of `match_batch` as flat arrays; `for_class(c)` gives views for one class."""

    table: ClassTable
    n_sessions: np.ndarray  # int32 (C,)
    smax: int
    session_codes: np.ndarray  # int8 flat, per class (T, D, smax)
    codes: np.ndarray  # int8 flat, per class (T, D)
    attended: np.ndarray  # int32 (total trainees,)
    day_coverage: np.ndarray  # float64 (total days,)
    session_coverage: np.ndarray  # float64 (total days, smax)
    day_has_records: np.ndarray  # bool (total days,)
    session_has_records: np.ndarray  # bool (total days, smax)
    has_punch_records: np.ndarray  # bool (C,)
    row_offsets: np.ndarray  # int64 (C+1,) into codes

    def for_class(self, c: int) -> PresenceResult:
        t = self.table
        n_t, n_d, n_s = int(t.n_trainees[c]), int(t.day_offsets[c + 1] - t.day_offsets[c]), int(self.n_sessions[c])
        r0, r1 = int(self.row_offsets[c]), int(self.row_offsets[c + 1])
        d0, d1 = int(t.day_offsets[c]), int(t.day_offsets[c + 1])
        t0 = int(t.trainee_offsets()[c])
        codes = self.codes[r0:r1].reshape(n_t, n_d)
        sess = self.session_codes[r0 * self.smax:r1 * self.smax].reshape(n_t, n_d, self.smax)[:, :, :n_s]
        sess_has = self.session_has_records[d0:d1, :n_s]
        missing = np.argwhere(~sess_has).astype(np.int32)
        return PresenceResult(
            days=t.day_numbers[d0:d1], session_codes=sess, codes=codes, present=codes <= Reason.LATE,
            attended=self.attended[t0:t0 + n_t], day_coverage=self.day_coverage[d0:d1],
            session_coverage=self.session_coverage[d0:d1, :n_s], day_has_records=self.day_has_records[d0:d1],
            session_has_records=sess_has, has_punch_records=bool(self.has_punch_records[c]), missing_sessions=missing,
        )


_INVALID = -(2**29)  # lookup value that drives a cell index negative: the punch is in no window


@dataclass(frozen=True)
class _Windows:
    """Per pattern and minute of the day (flat, pattern * 1440 + minute): where the window containing
    it sits in the calendar table, as (day shift * stride + session slot); the spare slot `stride - 1`
    of the punch's own day (always invalid) when no window contains the minute."""

    ci: np.ndarray  # int32
    ci_late: np.ndarray  # uint8: 1 after the grace
    co: np.ndarray  # int32


def _window_tables(patterns: Sequence[Pattern], stride: int) -> _Windows:
    n = max(len(patterns), 1)
    ci = np.full((n, DAY_MINUTES), stride - 1, np.int32)
    co = np.full((n, DAY_MINUTES), stride - 1, np.int32)
    ci_late = np.zeros((n, DAY_MINUTES), np.uint8)
    for p, pat in enumerate(patterns):  # a handful of patterns x sessions: set-up, not the hot path
        for s, (start, end) in enumerate(zip(pat.starts, pat.ends)):
            m = np.arange(start - pat.early, start + pat.limit + 1)
            at = _free(ci[p], m, stride, "check-in", pat)
            ci[p, at], ci_late[p, at] = -(m // DAY_MINUTES) * stride + s, m > start + pat.grace
            m = np.arange(end - pat.checkout, end + pat.checkout + 1)
            at = _free(co[p], m, stride, "check-out", pat)
            co[p, at] = -(m // DAY_MINUTES) * stride + s
    return _Windows(ci.ravel(), ci_late.ravel(), co.ravel())


def _free(lut: np.ndarray, minutes: np.ndarray, stride: int, kind: str, pat: Pattern) -> np.ndarray:
    at = minutes % DAY_MINUTES
    if (lut[at] != stride - 1).any():
        raise ScheduleError(f"{kind} windows of the sessions overlap ({pat}); shorten the windows or move a session")
    return at


def _flag_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per punch flag combination (bit 0 method not counted, 1 wrong site, 2 clock fault, 3-4 photo
    status): its reason (0 = counts), its check-in value (index bit 5 = late) and its check-out value
    (1 = a valid check-out)."""
    flags = np.arange(32)
    sev = np.zeros(32, np.int8)
    for bit, reason in ((1, Reason.NON_BIOMETRIC_ONLY), (2, Reason.WRONG_SITE), (4, Reason.CLOCK_FAULT)):
        sev = np.maximum(sev, np.where(flags & bit, reason, 0)).astype(np.int8)
    photo = flags >> 3
    sev = np.maximum(sev, np.where(photo == PhotoStatus.MISMATCH, Reason.FACE_MISMATCH,
                                   np.where(photo >= PhotoStatus.PROXY_SUSPECTED, Reason.PROXY_SUSPECTED, 0))).astype(np.int8)
    ci_value = np.concatenate([np.where(sev == 0, _ON_TIME, sev), np.where(sev == 0, _LATE_VALUE, sev)]).astype(np.int8)
    co_value = (sev == 0).astype(np.uint8)
    return sev, ci_value, co_value


_SEV, _CI_VALUE, _CO_VALUE = _flag_tables()
# best check-in value of a cell -> session reason
_CODE_OF_VALUE = np.array([Reason.ABSENT] + list(range(1, _LATE_VALUE)) + [Reason.LATE, Reason.PRESENT], np.int8)


def match_batch(punches: PunchArrays, table: ClassTable) -> BatchResult:
    """Presence for every class of `table` at once; `punches.trainee` is the class-offset global index."""
    C = table.n_classes
    n_t = table.n_trainees.astype(np.int64)
    t_off = table.trainee_offsets()
    n_trainees_total = int(t_off[-1])
    n_days = np.diff(table.day_offsets)
    n_sess = table.sessions_per_class()
    smax = int(n_sess.max()) if C else 1
    stride = smax + 1  # calendar entries per day: one per session slot and a spare, invalid one
    win = _window_tables(table.patterns, stride)

    # ---- one calendar row per class over the batch's date range: (day, slot) -> cell offset ----
    dn = table.day_numbers.astype(np.int64)
    g0 = int(dn.min()) - PAD if dn.size else 0
    G = (int(dn.max()) + PAD - g0 + 1) if dn.size else 1
    if (C * G + 4) * stride >= 2**31:
        raise ValueError("batch spans too many classes x days for 32-bit indices; split it")
    # 2 spare days at the end: windows reach 1 day past the last row, and 2 days before the first
    # (negative indices wrap around into the spare days)
    cal = np.full((C * G + 4) * stride, _INVALID, np.int32)
    day_class = np.repeat(np.arange(C), n_days)
    local_day = np.arange(len(dn)) - table.day_offsets[:-1][day_class]
    slots = np.arange(smax)
    cal[((day_class * G + dn - g0) * stride)[:, None] + slots] = (local_day * smax)[:, None] + slots

    # ---- per trainee: calendar row and first cell (cells: class, trainee, day, slot; 0 is a sink) ----
    tr_class = np.repeat(np.arange(C, dtype=np.int64), n_t)
    tr_local = np.arange(n_trainees_total, dtype=np.int64) - t_off[:-1][tr_class]
    row_offsets = np.concatenate([[0], np.cumsum(n_t * n_days)])
    n_rows = int(row_offsets[-1])
    n_cells = n_rows * smax
    if n_cells + 1 >= 2**29:
        raise ValueError("batch too large for 32-bit cell indices; split it")
    tr_cal = ((tr_class * G - g0) * stride).astype(np.int32)
    tr_cell = (1 + (row_offsets[:-1][tr_class] + tr_local * n_days[tr_class]) * smax).astype(np.int32)

    # ---- per punch ----
    t = np.asarray(punches.trainee)
    keep = (t >= 0) & (t < n_trainees_total)
    if not keep.all():
        punches = _subset(punches, keep)
        t = np.asarray(punches.trainee)
    minute = np.asarray(punches.minute)
    if minute.dtype != np.int32:  # a clock-fault year 9999 must not wrap around into a training day
        minute = np.clip(minute, -(2**31), 2**31 - 1).astype(np.int32)
    day = minute // DAY_MINUTES
    mod = minute - day * DAY_MINUTES
    np.clip(day, g0, g0 + G - 1, out=day)
    day *= stride
    day += tr_cal[t]
    if len(table.patterns) > 1:
        tr_pat = (table.pattern.astype(np.int32) * DAY_MINUTES)[tr_class]
        mod += tr_pat[t]
    cell0 = tr_cell[t]
    ci_cell = _cell(day, mod, cell0, win.ci, cal)
    co_cell = _cell(day, mod, cell0, win.co, cal)
    late = win.ci_late[mod]
    del day, cell0

    masks = np.unique(table.methods_mask)
    method = np.asarray(punches.method)
    if len(masks) <= 1 and method.dtype.itemsize == 1:
        # one rule for every class: a 256-entry table indexed by the method byte (codes >= 32 never count)
        bits = np.arange(256)
        not_counted = np.where(bits < 32, 1 - ((int(masks[0]) if len(masks) else 0) >> np.minimum(bits, 31)) & 1, 1)
        flags = not_counted.astype(np.uint8)[method.view(np.uint8)]
    else:
        m32 = np.clip(np.asarray(method, np.int32), 0, 31)
        flags = (1 - ((table.methods_mask.astype(np.int32)[tr_class][t] >> m32) & 1)).astype(np.uint8)
    flags |= (~np.asarray(punches.site_ok, bool)).view(np.uint8) << 1
    flags |= (np.asarray(punches.clock_fault) != 0).view(np.uint8) << 2
    if punches.photo_status is not None:
        flags |= np.clip(np.asarray(punches.photo_status, np.int8), 0, 2).astype(np.uint8) << 3

    best = np.zeros(n_cells + 1, np.int8)
    np.maximum.at(best, ci_cell, _CI_VALUE[flags | (late << 5)])
    checkout = np.zeros(n_cells + 1, np.uint8)
    np.maximum.at(checkout, co_cell, _CO_VALUE[flags])
    del ci_cell, co_cell, flags, late

    # ---- session codes ----
    sess = _CODE_OF_VALUE[best[1:]]
    recorded = (best[1:] >= _LATE_VALUE) | (checkout[1:] > 0)  # a valid punch in either window
    cell_class = None
    if table.checkout_required.any():
        left = (sess <= Reason.LATE) & (checkout[1:] == 0)
        if not table.checkout_required.all():
            cell_class = np.repeat(np.arange(C), n_t * n_days * smax)
            left &= table.checkout_required[cell_class]
        sess[left] = Reason.LEFT_EARLY
    del best, checkout
    padded = None
    if (n_sess < smax).any():
        cell_class = np.repeat(np.arange(C), n_t * n_days * smax) if cell_class is None else cell_class
        padded = (np.arange(n_cells) % smax) >= n_sess[cell_class]
        sess[padded] = Reason.PRESENT  # neutral for the worst-session reduction
        recorded[padded] = False

    # ---- day codes (column loops: smax is a handful; numpy reduces short rows slowly) ----
    by_day = sess.reshape(n_rows, smax)
    rec_by_day = recorded.reshape(n_rows, smax)
    worst = by_day[:, 0].copy()
    rec_day = rec_by_day[:, 0].copy()
    for s in range(1, smax):
        np.maximum(worst, by_day[:, s], out=worst)
        rec_day |= rec_by_day[:, s]
    codes = worst
    if table.day_any.any():
        masked = by_day if padded is None else np.where(padded.reshape(n_rows, smax), np.int8(127), by_day)
        best_s = masked[:, 0].copy()
        for s in range(1, smax):
            np.minimum(best_s, masked[:, s], out=best_s)
        row_class = np.repeat(np.arange(C), n_t * n_days)
        codes = np.where(table.day_any[row_class] & (best_s <= Reason.LATE), best_s, worst).astype(np.int8)

    # ---- attended days per trainee ----
    present = codes <= Reason.LATE
    csum = np.concatenate([[0], np.cumsum(present, dtype=np.int64)])
    start = (tr_cell.astype(np.int64) - 1) // smax
    attended = (csum[start + n_days[tr_class]] - csum[start]).astype(np.int32)

    # ---- coverage and punch records ----
    day_global = _row_day_index(n_t, n_days, table.day_offsets)
    n_total_days = len(dn)
    day_cov_n = np.bincount(day_global[rec_day], minlength=n_total_days)
    sess_cov_n = np.zeros((n_total_days, smax))
    for s in range(smax):
        sess_cov_n[:, s] = np.bincount(day_global[rec_by_day[:, s]], minlength=n_total_days)
    trainees_of_day = np.maximum(n_t[day_class], 1).astype(np.float64)
    day_cov = day_cov_n / trainees_of_day
    sess_cov = sess_cov_n / trainees_of_day[:, None]
    min_cov = table.min_session_coverage[day_class]
    day_has = (day_cov > 0) & (day_cov >= min_cov - 1e-12)
    sess_has = (sess_cov > 0) & (sess_cov >= min_cov[:, None] - 1e-12)
    sess_has &= np.arange(smax)[None, :] < n_sess[day_class][:, None]
    share = np.bincount(day_class, weights=day_has, minlength=C) / np.maximum(n_days, 1)
    has_records = (n_days > 0) & (n_t > 0) & (share >= table.coverage_threshold - 1e-12)

    return BatchResult(table, n_sess, smax, sess, codes, attended, day_cov, sess_cov, day_has, sess_has,
                       has_records, row_offsets)


def _cell(day: np.ndarray, mod: np.ndarray, cell0: np.ndarray, lut: np.ndarray, cal: np.ndarray) -> np.ndarray:
    """Punch -> 1 + cell index in (trainee, day, slot) order, or 0 (the sink) when in no window.
    `day` is the punch's calendar position in `cal`, `mod` its minute of the day (pattern-offset)."""
    cell = cal[day + lut[mod]]
    cell += cell0
    np.maximum(cell, 0, out=cell)
    return cell


def _row_day_index(n_t: np.ndarray, n_days: np.ndarray, day_offsets: np.ndarray) -> np.ndarray:
    """For each (trainee, day) row of every class: the global training-day index."""
    rows_per_class = n_t * n_days
    n_rows = int(rows_per_class.sum())
    if n_rows == 0:
        return np.zeros(0, np.int64)
    row_class = np.repeat(np.arange(len(n_t)), rows_per_class)
    local = np.arange(n_rows) - np.concatenate([[0], np.cumsum(rows_per_class)])[:-1][row_class]
    return day_offsets[:-1][row_class] + local % np.maximum(n_days[row_class], 1)


def _subset(p: PunchArrays, keep: np.ndarray) -> PunchArrays:
    return PunchArrays(
        np.asarray(p.trainee)[keep], np.asarray(p.minute)[keep], np.asarray(p.method)[keep],
        np.asarray(p.site_ok)[keep], np.asarray(p.clock_fault)[keep],
        None if p.photo_status is None else np.asarray(p.photo_status)[keep],
    )


def match_class(punches: PunchArrays, n_trainees: int, schedule: Schedule, rule: PresenceRule) -> PresenceResult:
    """Presence for one class; `punches.trainee` indexes its roster (0 .. n_trainees-1)."""
    table = ClassTable.from_specs([ClassSpec(n_trainees, schedule, rule)])
    return match_batch(punches, table).for_class(0)
