"""From verdicts to a decision: bad sessions against the acceptance number, and the exact upper
bound on bad sessions in the class.

A session is bad when any inspector's latest verdict finds it not held as declared, or its footage
missing, unreadable or altered: the burden of proof is on the institution, so a disagreement between
two inspectors counts against the class (and is flagged for the record).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sampling.plan import hypergeom_cdf
from sampling.select import worst_case_miss

FOOTAGE_PROBLEMS = ("missing", "unreadable", "altered")


@dataclass(frozen=True)
class VerdictView:
    """The part of a stored verdict the decision needs."""

    item: int  # sample item id
    inspector: str
    held_as_declared: bool
    footage_problem: str | None = None  # one of FOOTAGE_PROBLEMS or None
    order: int = 0  # later verdicts of the same inspector supersede earlier ones

    @property
    def bad(self) -> bool:
        return (not self.held_as_declared) or bool(self.footage_problem)


@dataclass(frozen=True)
class Evaluation:
    decision: str  # pass | fail | incomplete
    population: int
    sample_size: int
    acceptance: int
    reviewed: int
    bad: int
    bad_items: tuple[int, ...]
    disputed_items: tuple[int, ...]
    alpha: Fraction
    upper_bound: int  # D_U
    upper_rate: Fraction  # D_U / N
    bound_method: str = "hypergeometric, simple random sample"

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision, "population": self.population, "sample_size": self.sample_size,
            "acceptance": self.acceptance, "reviewed": self.reviewed, "bad": self.bad,
            "bad_items": list(self.bad_items), "disputed_items": list(self.disputed_items),
            "alpha": str(self.alpha), "upper_bound": self.upper_bound, "upper_rate": str(self.upper_rate),
            "upper_rate_float": float(self.upper_rate),
            "bound_definition": "D_U = max{D : P(X <= x | N, D, n) > alpha}, exact", "bound_method": self.bound_method,
        }


def upper_bound(population: int, sample_size: int, bad: int, alpha: Fraction) -> int:
    """D_U = max{D : P(X <= x | N, D, n) > alpha}. P falls as D grows, so walk D up from x."""
    if not 0 <= bad <= sample_size <= population:
        raise ValueError("need 0 <= x <= n <= N")
    d = bad
    while d + 1 <= population - (sample_size - bad) and hypergeom_cdf(bad, population, d + 1, sample_size) > alpha:
        d += 1
    return d


def upper_bound_stratified(sizes: Sequence[int], alloc: Sequence[int], alpha: Fraction) -> int:
    """D_U for a clean stratified sample (x = 0): the largest D that some spread over the strata
    would still leave unseen with probability > alpha. The worst case falls as D grows."""
    d = 0
    while d + 1 <= sum(sizes) - sum(alloc) and worst_case_miss(sizes, alloc, d + 1) > alpha:
        d += 1
    return d


def session_status(verdicts: Iterable[VerdictView]) -> dict[int, tuple[bool, bool]]:
    """item -> (bad, disputed) from each inspector's latest verdict."""
    latest: dict[tuple[int, str], VerdictView] = {}
    for v in verdicts:
        key = (v.item, v.inspector)
        if key not in latest or v.order >= latest[key].order:
            latest[key] = v
    per_item: dict[int, list[bool]] = {}
    for (item, _), v in latest.items():
        per_item.setdefault(item, []).append(v.bad)
    return {item: (any(flags), len(set(flags)) > 1) for item, flags in per_item.items()}


def evaluate(
    population: int, items: Sequence[int], acceptance: int, alpha: Fraction, verdicts: Iterable[VerdictView]
) -> Evaluation:
    """Pass when at most c sampled sessions are bad and every sampled session has a verdict; fail as
    soon as more than c are bad (further verdicts cannot rescue the class)."""
    status = session_status(v for v in verdicts if v.item in set(items))
    bad_items = tuple(sorted(i for i, (bad, _) in status.items() if bad))
    disputed = tuple(sorted(i for i, (_, d) in status.items() if d))
    x, n = len(bad_items), len(items)
    if x > acceptance:
        decision = "fail"
    elif len(status) < n:
        decision = "incomplete"
    else:
        decision = "pass"
    # the bound rests on the sessions actually reviewed (all n unless the class failed early)
    bound = upper_bound(population, len(status), x, alpha) if decision != "incomplete" else population
    return Evaluation(decision, population, n, acceptance, len(status), x, bad_items, disputed, alpha, bound,
                      Fraction(bound, population))
