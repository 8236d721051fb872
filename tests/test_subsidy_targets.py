"""Annex 1 targets: the table as printed, yearly shares, and the report."""
from __future__ import annotations

from fractions import Fraction

import pytest

from subsidy import targets


def test_annex1_columns_add_up_to_the_printed_totals() -> None:
    sums = tuple(sum(row[i] for row in targets.ANNEX1.values()) for i in range(3))
    assert sums == targets.ANNEX1_TOTAL == (30000, 30000, 50000)
    assert list(targets.ANNEX1)[0] == "平城区" and list(targets.ANNEX1)[-1] == "市直"
    assert len(targets.ANNEX1) == 12


def test_yearly_shares() -> None:
    assert sum(targets.YEAR_SHARE.values()) == 1
    assert targets.year_target("平城区", "project", 2022) == 400
    assert targets.year_target("市直", "certificates", 2023) == 16960
    with pytest.raises(ValueError):
        targets.year_target("平城区", "project", 2025)


def test_report_rows_and_share() -> None:
    rows = targets.report({("云冈区", 2022, "project"): 120, ("外省", 2022, "project"): 9}, years=[2022])
    assert len(rows) == 12 * 3
    row = next(r for r in rows if r.district == "云冈区" and r.measure == "project")
    assert (row.three_year_target, row.year_target, row.verified) == (1200, 240, 120)
    assert row.share_done == Fraction(1, 2) and not row.met
    assert targets.percent(row.share_done) == "50.0%"
    assert targets.percent(Fraction(1, 3)) == "33.3%"
    assert targets.percent(Fraction(2, 3)) == "66.7%"
