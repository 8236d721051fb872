"""Claims read the sampling area's real inspection decision (open, passed, failed)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from punchaudit.config import load_settings
from punchaudit.services import claims as svc
from punchaudit.services import sampling as sampling_svc
from storage import sampling as sampling_repo
from storage.db import session_scope
from storage.sampling import PopulationSession
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
