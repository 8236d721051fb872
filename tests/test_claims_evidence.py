"""Claims read the other areas' real evidence: the sampling inspection decision (open, passed,
failed) and the latest presence run."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from punchaudit.config import load_settings
from punchaudit.services import claims as svc
from punchaudit.services import sampling as sampling_svc
from storage import sampling as sampling_repo
from storage.db import session_scope
from storage.sampling import PopulationSession
from storage.schema.core import TrainingClass
from storage.schema.presence import PresenceRun
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



def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def store_run(engine: Engine, class_id: int, trainee_ids: list[int], codes: list[list[int]], version: int) -> int:
    """A presence run row as the presence area stores it (reason codes per trainee and day as .npy)."""
    days = len(codes[0])
    with session_scope(engine) as s:
        run = PresenceRun(class_id=class_id, version=version, rule_json="{}", schedule_json="{}", inputs_hash="0" * 64,
                          punch_count=1, trainee_count=len(trainee_ids), day_count=days, session_count=2,
                          has_records=True, days_with_records=days, coverage=1.0, present_cells=0,
                          day_coverage_json="[]", session_coverage_json="[]", missing_sessions_json="[]",
                          trainee_ids=_npy(np.asarray(trainee_ids, dtype=np.int64)),
                          codes=_npy(np.asarray(codes, dtype=np.int8)),
                          session_codes=_npy(np.zeros((len(trainee_ids), days, 2), dtype=np.int8)))
        s.add(run)
        s.flush()
        return run.id


def _row(present: int, late: int, other: int) -> list[int]:
    """12 days: present, then late (counts as present), then `other` (absent 3, clock fault 6...)."""
    return [0] * present + [1] * late + [other] * (12 - present - late)


def test_claim_uses_the_latest_presence_run(engine: Engine) -> None:
    ids = seed(engine, n=3)
    trainees = [ids["t0"], ids["t1"], ids["t2"]]
    store_run(engine, ids["class"], trainees, [_row(12, 0, 3), _row(9, 2, 3), _row(5, 0, 6)], version=1)
    with session_scope(engine) as s:
        found = svc.load_presence(s, s.get(TrainingClass, ids["class"]))
    assert found.attended_days == {ids["t0"]: 12, ids["t1"]: 11, ids["t2"]: 5} and found.scheduled_days == 12
    # a late replay: version 2 sees trainee 2 on two more days; the claim uses the latest run
    run2 = store_run(engine, ids["class"], trainees, [_row(12, 0, 3), _row(9, 2, 3), _row(7, 0, 6)], version=2)
    with session_scope(engine) as s:
        claim = svc.build_claim(s, SETTINGS, "C1", "ops")
        lines = svc.detail(s, claim.id)["lines"]
        assert claim.presence_run_id == run2 and claim.has_punch_records
    assert [line["days"] for line in lines] == [12, 11, 7]
    # nobody has a contract on file: general subsidy capped at 1,000 (12 days = 1,700; 11 = 1,600; 7 = 1,050)
    assert [line["base_fen"] for line in lines] == [170000, 160000, 105000]
    assert [line["amount_fen"] for line in lines] == [100000, 100000, 100000]
