"""Each money rule of the policy on its own, at its boundaries."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from punchaudit.config import load_settings
from subsidy import reasons as R
from subsidy import rules
from subsidy.rules import Rates

RATES = Rates()


def codes(reasons: list) -> list[str]:
    return [r.code for r in reasons]


def test_rates_come_from_config_exactly() -> None:
    rates = Rates.from_config(load_settings().subsidy)
    assert rates.daily_first_fen == 15000 and rates.per_person_cap_fen == 400000
    assert rates.employment_rate_required == Fraction(4, 5)  # not 0.8000000000000000444
    assert isinstance(rates.scheduled_days_threshold, Fraction)


@pytest.mark.parametrize(
    ("days", "fen"),
    [(1, 15000), (9, 135000), (10, 150000), (11, 160000), (30, 350000), (34, 390000), (35, 400000)],
)
def test_project_tiers(days: int, fen: int) -> None:
    amount, why = rules.project_training_fen(days, RATES)
    assert amount == fen and why == []


@pytest.mark.parametrize("days", [36, 40, 365])
def test_project_cap_at_4000(days: int) -> None:
    amount, why = rules.project_training_fen(days, RATES)
    assert amount == 400000
    assert codes(why) == ["cap_per_person"]


def test_project_zero_days_has_a_reason() -> None:
    assert rules.project_training_fen(0, RATES) == (0, [R.NO_DAYS])
    with pytest.raises(ValueError):
        rules.project_training_fen(-1, RATES)


@given(st.integers(min_value=0, max_value=400))
def test_project_amount_is_monotone_and_bounded(days: int) -> None:
    a, _ = rules.project_training_fen(days, RATES)
    b, _ = rules.project_training_fen(days + 1, RATES)
    assert 0 <= a <= b <= RATES.per_person_cap_fen
    assert isinstance(a, int)


def test_rates_change_the_tiers() -> None:
    rates = Rates(daily_first_days=5, daily_first_fen=20000, daily_after_fen=5000, per_person_cap_fen=110000)
    assert rules.project_training_fen(5, rates)[0] == 100000
    assert rules.project_training_fen(7, rates)[0] == 110000
    assert codes(rules.project_training_fen(8, rates)[1]) == ["cap_per_person"]


def test_counted_days_attended_by_default() -> None:
    assert rules.counted_days(17, 20, RATES) == (17, [])


def test_counted_days_scheduled_above_threshold() -> None:
    rates = Rates(days_basis="scheduled", scheduled_days_threshold=Fraction(9, 10))
    assert rules.counted_days(18, 20, rates) == (20, [])  # 18/20 = 0.9 exactly reaches it
    days, why = rules.counted_days(17, 20, rates)
    assert days == 17 and codes(why) == ["scheduled_below_threshold"]


def test_threshold_from_float_config_is_exact() -> None:
    class Section:  # what pydantic hands over: 0.9 as a float
        days_basis = "scheduled"
        scheduled_days_threshold = 0.9

    rates = Rates.from_config(Section())
    assert rules.counted_days(9, 10, rates) == (10, [])


def test_contract_of_six_months_qualifies() -> None:
    assert rules.qualifying_employment(6, RATES)
    assert not rules.qualifying_employment(5, RATES)
    assert not rules.qualifying_employment(None, RATES)


@pytest.mark.parametrize(
    ("passed", "employed", "met"),
    [(5, 4, True), (10, 8, True), (10, 7, False), (49, 39, False), (49, 40, True), (1000, 799, False),
     (1000, 800, True), (3, 3, True), (0, 0, False)],
)
def test_employment_rate_boundary_is_exact(passed: int, employed: int, met: bool) -> None:
    rate = rules.employment_rate(passed, employed)
    assert rules.employment_condition_met(rate, RATES) is met
    if passed:
        assert rate == Fraction(employed, passed)


def test_employment_rate_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        rules.employment_rate(3, 4)


def test_general_subsidy_caps_at_1000() -> None:
    assert rules.general_subsidy_fen(350000, RATES) == (100000, [R.GENERAL_CAP])
    assert rules.general_subsidy_fen(90000, RATES) == (90000, [])
    assert rules.general_subsidy_fen(100000, RATES) == (100000, [])


def test_payability() -> None:
    assert rules.payability(True, None) is None
    assert rules.payability(True, "fail") is None  # punch records need no inspection
    assert rules.payability(False, "pass") is None
    assert rules.payability(False, "fail") is R.INSPECTION_FAILED
    assert rules.payability(False, None) is R.INSPECTION_PENDING


@pytest.mark.parametrize(("days", "fen"), [(0, 0), (2, 0), (3, 30000), (10, 30000)])
def test_enterprise_three_days(days: int, fen: int) -> None:
    amount, why = rules.enterprise_training_fen(days, RATES)
    assert amount == fen
    assert codes(why) == ([] if fen else ["enterprise_too_few_days"])


@pytest.mark.parametrize(("level", "fen"), [("junior", 40000), ("intermediate", 60000), ("senior", 80000)])
def test_certification_first_time(level: str, fen: int) -> None:
    assert rules.certification_fen(level, True, RATES) == (fen, [])


@pytest.mark.parametrize("level", ["junior", "intermediate", "senior"])
def test_certification_repeat_earns_nothing(level: str) -> None:
    amount, why = rules.certification_fen(level, False, RATES)
    assert amount == 0 and codes(why) == ["cert_already_held"]


def test_junior_repeat_can_be_paid_if_configured() -> None:
    # the policy says 初次 only for intermediate and senior; the default follows the issue (all levels)
    rates = Rates(cert_first_time_levels=("intermediate", "senior"))
    assert rules.certification_fen("junior", False, rates) == (40000, [])


def test_level_names() -> None:
    assert rules.normalize_level("中级工") == "intermediate"
    assert rules.normalize_level("Senior") == "senior"
    with pytest.raises(ValueError):
        rules.normalize_level("技师")


def test_money_formats_are_exact() -> None:
    assert str(rules.fen_to_yuan(350001)) == "3500.01"
    assert str(rules.fen_to_wan(350000)) == "0.350000"
    assert rules.format_yuan(123456789) == "1,234,567.89"


def test_every_reason_has_both_languages() -> None:
    for reason in R.ALL.values():
        assert reason.zh and reason.en and R.by_code(reason.code) is reason


def test_inspected_days() -> None:
    assert rules.inspected_days(0, 30, 30) == 30  # no records at all: every scheduled day
    assert rules.inspected_days(10, 5, 20) == 15
    assert rules.inspected_days(20, 5, 20) == 20  # never above the schedule
    with pytest.raises(ValueError):
        rules.inspected_days(-1, 0, 0)
