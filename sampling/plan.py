"""Sample sizes for one class: hypergeometric (default), binomial and Poisson attribute plans.

A class is a small, isolated lot of sessions, so the default is the audit-style finite-population
plan: the smallest n such that a class with D = ceil(tolerable rate x N) bad sessions is accepted
(at most c bad sessions in the sample) with probability at most alpha = 1 - confidence. Every
probability at the boundary is an exact `Fraction`: a float makes `P == alpha` cases (N 10, D 1,
90 %: P = 1/10 exactly) fall on either side at random, and `ceil(N x 0.1)` in binary floating point
is off by one for some N. The conventions that change the answer are recorded with the plan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, Literal

Rounding = Literal["ceil", "floor", "round_half_even"]
Comparison = Literal["le", "lt"]
Number = Fraction | int | str | float


class PlanError(ValueError):
    """The requested plan cannot exist (e.g. c >= D: no sample can ever reject such a class)."""


def to_fraction(value: Number) -> Fraction:
    """Exact rational from a user value. A float goes through its shortest decimal repr, so 0.1
    means 1/10 and not 3602879701896397/36028797018963968."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def defects_at_limit(population: int, rate: Fraction, rounding: Rounding = "ceil") -> int:
    """D, the number of bad sessions the plan must catch, from the tolerable rate, exactly."""
    exact = rate * population
    if rounding == "ceil":
        return math.ceil(exact)
    if rounding == "floor":
        return math.floor(exact)
    if rounding == "round_half_even":
        return round(exact)  # Fraction.__round__ rounds half to even
    raise ValueError(f"unknown rounding {rounding!r}")


def hypergeom_cdf(x: int, population: int, defects: int, n: int) -> Fraction:
    """P(X <= x) for X ~ Hypergeometric(N, D, n), exactly."""
    if x < 0:
        return Fraction(0)
    top = sum(math.comb(defects, k) * math.comb(population - defects, n - k) for k in range(min(x, defects, n) + 1))
    return Fraction(top, math.comb(population, n))


def binom_cdf(x: int, n: int, p: Fraction) -> Fraction:
    """P(X <= x) for X ~ Binomial(n, p), exactly."""
    if x < 0:
        return Fraction(0)
    q = 1 - p
    return sum((math.comb(n, k) * p**k * q ** (n - k) for k in range(min(x, n) + 1)), Fraction(0))


def poisson_cdf(x: int, lam: Fraction, digits: int = 60) -> Decimal:
    """P(X <= x) for X ~ Poisson(lam). The partial sum is an exact rational; exp(-lam) is computed
    to `digits` significant digits. For rational lam > 0 the result is never exactly a rational
    alpha (Lindemann: e^r is irrational), so a 60-digit value decides < alpha reliably."""
    if x < 0:
        return Decimal(0)
    partial = sum((lam**k / math.factorial(k) for k in range(x + 1)), Fraction(0))
    with localcontext() as ctx:
        ctx.prec = digits + 10
        e = (-Decimal(lam.numerator) / Decimal(lam.denominator)).exp()
        value = e * Decimal(partial.numerator) / Decimal(partial.denominator)
        ctx.prec = digits
        return +value


def _meets(p: Fraction, alpha: Fraction, comparison: Comparison) -> bool:
    return p <= alpha if comparison == "le" else p < alpha


@dataclass(frozen=True)
class Plan:
    """A single sampling plan and everything needed to re-derive it."""

    method: str  # hypergeometric | binomial | poisson | iso2859
    population: int  # N (sessions)
    sample_size: int  # n
    acceptance: int  # c: accept when at most c bad sessions are found
    confidence: Fraction
    tolerable_rate: Fraction
    defects: int | None  # D at the limiting quality (hypergeometric)
    achieved: Fraction  # P(accept) at the limiting quality under this plan
    conventions: dict[str, Any] = field(default_factory=dict)

    @property
    def alpha(self) -> Fraction:
        return 1 - self.confidence

    @property
    def census(self) -> bool:
        return self.sample_size >= self.population

    @property
    def achieved_float(self) -> float:
        return float(self.achieved)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (fractions as "p/q" strings plus a float) for storage and reports."""
        return {
            "method": self.method,
            "population": self.population,
            "sample_size": self.sample_size,
            "acceptance": self.acceptance,
            "confidence": str(self.confidence),
            "tolerable_rate": str(self.tolerable_rate),
            "defects": self.defects,
            "achieved": str(self.achieved),
            "achieved_float": self.achieved_float,
            "census": self.census,
            "conventions": self.conventions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            method=data["method"], population=int(data["population"]), sample_size=int(data["sample_size"]),
            acceptance=int(data["acceptance"]), confidence=Fraction(data["confidence"]),
            tolerable_rate=Fraction(data["tolerable_rate"]), defects=data.get("defects"),
            achieved=Fraction(data["achieved"]), conventions=dict(data.get("conventions") or {}),
        )


def hypergeometric_plan(
    population: int,
    *,
    confidence: Number = Fraction(95, 100),
    tolerable_rate: Number = Fraction(10, 100),
    acceptance: int = 0,
    rounding: Rounding = "ceil",
    comparison: Comparison = "le",
) -> Plan:
    """The smallest n with P(X <= c | N, D, n) <= alpha, D = ceil(rate x N) (defaults).

    P(X <= c) falls as n grows, so the first n that meets the bound is the minimum. When no n < N
    does, the plan is a census (n = N, where P = 0 for c < D)."""
    if population < 1:
        raise PlanError("a plan needs at least one session")
    conf, rate = to_fraction(confidence), to_fraction(tolerable_rate)
    if not (0 < conf < 1 and 0 < rate <= 1):
        raise PlanError("confidence must be in (0, 1) and the tolerable rate in (0, 1]")
    if acceptance < 0:
        raise PlanError("the acceptance number cannot be negative")
    alpha = 1 - conf
    defects = defects_at_limit(population, rate, rounding)
    if defects <= acceptance:
        raise PlanError(
            f"D = {defects} bad sessions at the tolerable rate is not above the acceptance number {acceptance}: "
            "no sample could reject such a class; lower c or raise the rate"
        )
    chosen, achieved = population, hypergeom_cdf(acceptance, population, defects, population)
    for n in range(acceptance + 1, population + 1):
        p = hypergeom_cdf(acceptance, population, defects, n)
        if _meets(p, alpha, comparison):
            chosen, achieved = n, p
            break
    return Plan(
        "hypergeometric", population, chosen, acceptance, conf, rate, defects, achieved,
        {
            "model": "hypergeometric (sampling sessions without replacement)",
            "defects_rounding": rounding,
            "comparison": "P(accept | D) <= alpha" if comparison == "le" else "P(accept | D) < alpha",
            "arithmetic": "exact rationals (fractions.Fraction)",
            "unit": "session",
        },
    )


def _search_n(prob, alpha: Fraction, comparison: Comparison, start: int, limit: int):  # type: ignore[no-untyped-def]
    for n in range(start, limit + 1):
        p = prob(n)
        if _meets(p, alpha, comparison):
            return n, p
    raise PlanError(f"no sample size up to {limit} meets the bound")


def binomial_plan(
    *,
    confidence: Number = Fraction(95, 100),
    tolerable_rate: Number = Fraction(10, 100),
    acceptance: int = 0,
    comparison: Comparison = "lt",
    population: int | None = None,
    limit: int = 5000,
) -> Plan:
    """Smallest n with P(Bin(n, p_T) <= c) < alpha (AICPA/jfa convention: strict), exactly.
    The binomial ignores the finite population, so it is conservative for a class."""
    conf, rate = to_fraction(confidence), to_fraction(tolerable_rate)
    alpha = 1 - conf
    n, p = _search_n(lambda k: binom_cdf(acceptance, k, rate), alpha, comparison, acceptance + 1, limit)
    size = n if population is None else min(n, population)
    return Plan(
        "binomial", population or n, size, acceptance, conf, rate, None, p,
        {"model": "binomial (infinite population)", "comparison": "<" if comparison == "lt" else "<=",
         "arithmetic": "exact rationals (fractions.Fraction)", "census_cap": population is not None and n >= population},
    )


def poisson_plan(
    *,
    confidence: Number = Fraction(95, 100),
    tolerable_rate: Number = Fraction(10, 100),
    acceptance: int = 0,
    population: int | None = None,
    limit: int = 5000,
) -> Plan:
    """Smallest n with P(Pois(n x p_T) <= c) < alpha (AICPA Table C-1 style). exp() is evaluated to
    60 significant digits; `achieved` is that value as a Fraction (not exact; equality with a
    rational alpha is impossible, see `poisson_cdf`)."""
    conf, rate = to_fraction(confidence), to_fraction(tolerable_rate)
    alpha = 1 - conf
    n, p = _search_n(
        lambda k: Fraction(poisson_cdf(acceptance, rate * k)), alpha, "lt", acceptance + 1, limit
    )
    size = n if population is None else min(n, population)
    return Plan(
        "poisson", population or n, size, acceptance, conf, rate, None, p,
        {"model": "Poisson approximation", "comparison": "<", "arithmetic": "rational partial sum x exp to 60 digits"},
    )


def accept_probability(plan: Plan, defects: int) -> Fraction:
    """Operating characteristic: P(accept) for a class with `defects` bad sessions under `plan`."""
    return hypergeom_cdf(plan.acceptance, plan.population, defects, plan.sample_size)


def make_plan(method: str, population: int, **kwargs: Any) -> Plan:
    """Dispatch by method name (config `sampling.method`); iso2859 lives in `sampling.iso2859`."""
    if method == "hypergeometric":
        return hypergeometric_plan(population, **kwargs)
    if method == "binomial":
        return binomial_plan(population=population, **kwargs)
    if method == "poisson":
        return poisson_plan(population=population, **kwargs)
    if method == "iso2859":
        from sampling.iso2859 import iso_plan

        return iso_plan(population, **kwargs)
    raise PlanError(f"unknown sampling method {method!r}")
