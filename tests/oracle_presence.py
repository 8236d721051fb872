"""A plain per-punch Python implementation of the presence rules: the oracle the vectorised matcher
is tested (and benchmarked) against. Written for obviousness, not speed: every punch is checked
against every session of the training days around its own date, with absolute local minutes."""
from __future__ import annotations

from dataclasses import dataclass

from attendance.presence import Reason
from attendance.rules import PresenceRule
from attendance.schedule import Schedule, day_number
from devices.punch import Method


@dataclass
class OracleResult:
    session_codes: list[list[list[int]]]  # [trainee][day][session]
    codes: list[list[int]]
    attended: list[int]
    day_coverage: list[float]
    session_coverage: list[list[float]]
    day_has_records: list[bool]
    session_has_records: list[list[bool]]
    has_punch_records: bool
    missing_sessions: list[tuple[int, int]]


def punch_reason(method: int, site_ok: bool, clock_fault: bool, photo: int, rule: PresenceRule) -> int:
    """0 for a punch that counts, else the most serious reason it does not."""
    reasons = [0]
    try:
        counted = Method(method) in rule.methods
    except ValueError:
        counted = False
    if not counted:
        reasons.append(Reason.NON_BIOMETRIC_ONLY)
    if not site_ok:
        reasons.append(Reason.WRONG_SITE)
    if clock_fault:
        reasons.append(Reason.CLOCK_FAULT)
    if photo == 1:
        reasons.append(Reason.FACE_MISMATCH)
    if photo == 2:
        reasons.append(Reason.PROXY_SUSPECTED)
    return int(max(reasons))


def oracle_class(punches: list[tuple[int, int, int, bool, bool, int]], n_trainees: int, schedule: Schedule,
                 rule: PresenceRule) -> OracleResult:
    """`punches`: (trainee, local minute, method, site_ok, clock_fault, photo_status) for this class."""
    days = [day_number(d) for d in schedule.days]
    day_index = {dn: i for i, dn in enumerate(days)}
    sessions = schedule.sessions
    D, S = len(days), len(sessions)
    best = [[[0] * S for _ in range(D)] for _ in range(n_trainees)]
    out = [[[False] * S for _ in range(D)] for _ in range(n_trainees)]
    rec = [[[False] * S for _ in range(D)] for _ in range(n_trainees)]
    for trainee, minute, method, site_ok, clock_fault, photo in punches:
        if not 0 <= trainee < n_trainees:
            continue
        reason = punch_reason(method, site_ok, clock_fault, photo, rule)
        record = reason == 0  # a punch record is a valid punch: counted method, right site, sound clock, photo not rejected
        own_day = minute // 1440
        for dn in range(own_day - 2, own_day + 3):
            if dn not in day_index:
                continue
            d = day_index[dn]
            for s, sess in enumerate(sessions):
                start = dn * 1440 + sess.start
                end = dn * 1440 + sess.end_offset
                if start - rule.early_window <= minute <= start + rule.late_limit:
                    if reason == 0:
                        value = 20 if minute <= start + rule.late_grace else 19
                    else:
                        value = reason
                    best[trainee][d][s] = max(best[trainee][d][s], value)
                    rec[trainee][d][s] = rec[trainee][d][s] or record
                if end - rule.checkout_window <= minute <= end + rule.checkout_window:
                    if reason == 0:
                        out[trainee][d][s] = True
                    rec[trainee][d][s] = rec[trainee][d][s] or record

    session_codes = []
    codes = []
    for i in range(n_trainees):
        trainee_sessions, trainee_days = [], []
        for d in range(D):
            day_sessions = []
            for s in range(S):
                b = best[i][d][s]
                if b == 20:
                    code = Reason.PRESENT
                elif b == 19:
                    code = Reason.LATE
                elif b > 0:
                    code = b
                else:
                    code = Reason.ABSENT
                if rule.checkout_required and code <= Reason.LATE and not out[i][d][s]:
                    code = Reason.LEFT_EARLY
                day_sessions.append(int(code))
            trainee_sessions.append(day_sessions)
            if rule.day_rule == "any" and min(day_sessions) <= Reason.LATE:
                trainee_days.append(min(day_sessions))
            else:
                trainee_days.append(max(day_sessions))
        session_codes.append(trainee_sessions)
        codes.append(trainee_days)
    attended = [sum(1 for c in row if c <= Reason.LATE) for row in codes]
    denom = max(n_trainees, 1)
    day_cov = [sum(1 for i in range(n_trainees) if any(rec[i][d])) / denom for d in range(D)]
    sess_cov = [[sum(1 for i in range(n_trainees) if rec[i][d][s]) / denom for s in range(S)] for d in range(D)]
    m = rule.min_session_coverage
    day_has = [c > 0 and c >= m - 1e-12 for c in day_cov]
    sess_has = [[c > 0 and c >= m - 1e-12 for c in row] for row in sess_cov]
    has = D > 0 and n_trainees > 0 and sum(day_has) / D >= rule.coverage_threshold - 1e-12
    missing = [(d, s) for d in range(D) for s in range(S) if not sess_has[d][s]]
    return OracleResult(session_codes, codes, attended, day_cov, sess_cov, day_has, sess_has, has, missing)
