"""Annex 1 (附件1 工作任务分解表): three-year targets per district, and the yearly report.

The numbers are copied from the policy text (unit: persons). The policy asks each district to finish
at least 20% of its three-year task in 2022 and at least 40% in each of 2023 and 2024.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

Measure = Literal["project", "enterprise", "certificates"]
MEASURES: tuple[Measure, ...] = ("project", "enterprise", "certificates")
MEASURE_ZH = {"project": "订单式项目制培训任务数", "enterprise": "企业职工培训任务数", "certificates": "新增技能人才任务数"}
MEASURE_EN = {"project": "project-based training", "enterprise": "enterprise in-job training",
              "certificates": "new skill certificates"}

# 各县（区）: (订单式项目制培训任务数, 企业职工培训任务数, 新增技能人才任务数)
ANNEX1: dict[str, tuple[int, int, int]] = {
    "平城区": (2000, 2000, 2000),
    "云冈区": (1200, 1200, 1200),
    "云州区": (400, 400, 400),
    "新荣区": (400, 400, 400),
    "浑源县": (400, 400, 400),
    "灵丘县": (400, 400, 400),
    "广灵县": (400, 400, 400),
    "阳高县": (400, 400, 400),
    "天镇县": (400, 400, 400),
    "左云县": (400, 400, 400),
    "开发区": (1200, 1200, 1200),
    "市直": (22400, 22400, 42400),
}
ANNEX1_TOTAL = (30000, 30000, 50000)  # 总计 row as printed
YEAR_SHARE: dict[int, Fraction] = {2022: Fraction(1, 5), 2023: Fraction(2, 5), 2024: Fraction(2, 5)}


def three_year_target(district: str, measure: Measure) -> int:
    return ANNEX1[district][MEASURES.index(measure)]


def year_target(district: str, measure: Measure, year: int) -> int:
    """At least this many in `year`: the share of the three-year task, rounded up (以上)."""
    share = YEAR_SHARE.get(year)
    if share is None:
        raise ValueError(f"the policy sets targets for 2022-2024 only, not {year}")
    return math.ceil(three_year_target(district, measure) * share)


@dataclass(frozen=True)
class TargetRow:
    district: str
    year: int
    measure: Measure
    three_year_target: int
    year_target: int
    verified: int

    @property
    def share_done(self) -> Fraction:
        """Verified over the year's target, exact (may exceed 1)."""
        return Fraction(self.verified, self.year_target) if self.year_target else Fraction(0)

    @property
    def met(self) -> bool:
        return self.verified >= self.year_target


def report(verified: Mapping[tuple[str, int, Measure], int], years: list[int] | None = None) -> list[TargetRow]:
    """One row per district, year and measure; `verified` counts by (district, year, measure).
    Counts for districts not in annex 1 are ignored here (the service reports them separately)."""
    rows = []
    for year in years or sorted(YEAR_SHARE):
        for district in ANNEX1:
            for measure in MEASURES:
                rows.append(TargetRow(district, year, measure, three_year_target(district, measure),
                                      year_target(district, measure, year),
                                      int(verified.get((district, year, measure), 0))))
    return rows


def percent(share: Fraction, places: int = 1) -> str:
    """'20.0%' from an exact fraction, rounded half up for display only."""
    scaled = share * 100 * 10**places
    value = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    return f"{Decimal(value).scaleb(-places)}%"
