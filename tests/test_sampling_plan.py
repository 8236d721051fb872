"""The plan's defining inequality, checked against an independent exact computation of the
hypergeometric probabilities (product and ratio recursion, not math.comb)."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from sampling.plan import (
    PlanError, accept_probability, binomial_plan, hypergeometric_plan, make_plan, poisson_plan, to_fraction,
)


def indep_cdf(x: int, N: int, D: int, n: int) -> Fraction:
    """P(X <= x): p(0) as a product, then p(k+1) = p(k) (D-k)(n-k) / ((k+1)(N-D-n+k+1))."""
    if n > N - D:
        # p(0) = 0; start from the smallest possible k instead
        k0 = n - (N - D)
    else:
        k0 = 0
    p = Fraction(1)
    # p(k0) = C(D,k0) C(N-D,n-k0) / C(N,n) built as a product of ratios
    for i in range(n):
        p *= Fraction(1, N - i) * (i + 1)  # 1 / C(N, n)
    p *= math.prod(range(D - k0 + 1, D + 1)) / Fraction(math.factorial(k0))  # C(D, k0)
    m = n - k0
    p *= Fraction(math.prod(range(N - D - m + 1, N - D + 1)), math.factorial(m))  # C(N-D, m)
    total, k = Fraction(0), k0
    while k <= min(x, D, n):
        total += p
        if N - D - n + k + 1 > 0:
            p = p * (D - k) * (n - k) / ((k + 1) * (N - D - n + k + 1))
        else:
            p = Fraction(0)
        k += 1
    return total


def check_minimal(N: int, conf: Fraction, rate: Fraction, c: int) -> None:
    D = math.ceil(rate * N)
    if D <= c:
        with pytest.raises(PlanError):
            hypergeometric_plan(N, confidence=conf, tolerable_rate=rate, acceptance=c)
        return
    plan = hypergeometric_plan(N, confidence=conf, tolerable_rate=rate, acceptance=c)
    alpha = 1 - conf
    n = plan.sample_size
    assert plan.defects == D
    assert plan.achieved == indep_cdf(c, N, D, n) <= alpha
    if n > c + 1:
        assert indep_cdf(c, N, D, n - 1) > alpha, (N, n)
    assert plan.achieved_float == pytest.approx(float(plan.achieved))


@pytest.mark.parametrize("c", [0, 1, 2])
def test_every_population_up_to_200_default_confidence_and_rate(c: int) -> None:
    for N in range(1, 201):
        check_minimal(N, Fraction(95, 100), Fraction(10, 100), c)


def test_every_population_up_to_200_other_settings() -> None:
    for N in range(1, 201):
        check_minimal(N, Fraction(90, 100), Fraction(20, 100), 0)
        check_minimal(N, Fraction(99, 100), Fraction(5, 100), 1)


@settings(max_examples=150, deadline=None)
@given(
    N=st.integers(1, 200),
    conf=st.fractions(Fraction(1, 2), Fraction(999, 1000)).filter(lambda f: 0 < f < 1),
    rate=st.fractions(Fraction(1, 100), Fraction(1, 2)).filter(lambda f: f > 0),
    c=st.integers(0, 4),
)
def test_defining_inequality_random_settings(N: int, conf: Fraction, rate: Fraction, c: int) -> None:
    check_minimal(N, conf, rate, c)


def test_conventions_from_the_reference_table() -> None:
    # docs/sampling.md 5.4: the rounding of D and <= versus < change n
    assert hypergeometric_plan(25).sample_size == 16
    floor25 = hypergeometric_plan(25, rounding="floor")
    assert (floor25.defects, floor25.sample_size, floor25.achieved) == (2, 19, Fraction(1, 20))
    assert hypergeometric_plan(25, rounding="round_half_even").sample_size == 19
    assert hypergeometric_plan(45).sample_size == 20
    assert hypergeometric_plan(45, rounding="floor").sample_size == 23
    census = hypergeometric_plan(15, rounding="floor")
    assert census.sample_size == 15 and census.census
    le = hypergeometric_plan(10, confidence="0.9", tolerable_rate="0.1")
    lt = hypergeometric_plan(10, confidence="0.9", tolerable_rate="0.1", comparison="lt")
    assert (le.sample_size, le.achieved) == (9, Fraction(1, 10))
    assert lt.sample_size == 10
    assert le.conventions["defects_rounding"] == "ceil" and "<=" in le.conventions["comparison"]


def test_float_inputs_are_read_as_decimals() -> None:
    assert to_fraction(0.1) == Fraction(1, 10)
    # 0.1 * 30 in binary floating point is 3.0000000000000004 -> ceil 4; exact gives D = 3
    assert hypergeometric_plan(30, tolerable_rate=0.1).defects == 3


def test_binomial_and_poisson_closed_forms() -> None:
    for conf, rate in [("0.95", "0.1"), ("0.9", "0.1"), ("0.95", "0.05"), ("0.9", "0.2")]:
        a, p = 1 - Fraction(conf), Fraction(rate)
        b = binomial_plan(confidence=conf, tolerable_rate=rate)
        # smallest integer n > ln(alpha)/ln(1-p)
        assert b.sample_size == math.floor(math.log(a) / math.log(1 - p)) + 1
        assert b.achieved == (1 - p) ** b.sample_size < a
        pois = poisson_plan(confidence=conf, tolerable_rate=rate)
        assert pois.sample_size == math.floor(-math.log(a) / p) + 1
    # AICPA-style with one allowed deviation: P(Bin(n, 0.1) <= 1) < 0.05 first at n = 46
    assert binomial_plan(acceptance=1).sample_size == 46


def test_oc_and_dispatch() -> None:
    plan = make_plan("hypergeometric", 40)
    assert accept_probability(plan, plan.defects) == plan.achieved
    assert accept_probability(plan, 0) == 1
    iso = make_plan("iso2859", 20, aql="2.5")
    assert (iso.sample_size, iso.acceptance) == (5, 0)
    with pytest.raises(PlanError):
        make_plan("astrology", 10)
    with pytest.raises(PlanError, match="acceptance number"):
        hypergeometric_plan(5, acceptance=1)  # D = 1 <= c
