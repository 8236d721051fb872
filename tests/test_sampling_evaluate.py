"""Evaluation: pass/fail against c, footage problems count as bad, second inspectors, exact bound;
and the institution-level switching state machine."""
from __future__ import annotations

from fractions import Fraction

import pytest

from sampling.evaluate import VerdictView, evaluate, upper_bound
from sampling.plan import hypergeom_cdf, hypergeometric_plan
from sampling.switching import Discontinued, LotOutcome, SwitchingState, replay, resume, step

ALPHA = Fraction(1, 20)


def brute_bound(N: int, n: int, x: int, alpha: Fraction) -> int:
    return max(D for D in range(0, N + 1) if hypergeom_cdf(x, N, D, n) > alpha)


@pytest.mark.parametrize("N,n,x", [(20, 16, 0), (20, 16, 1), (40, 19, 0), (40, 19, 3), (10, 10, 0), (10, 10, 2),
                                   (100, 25, 0), (1, 1, 0), (60, 1, 1)])
def test_upper_bound_matches_definition(N: int, n: int, x: int) -> None:
    assert upper_bound(N, n, x, ALPHA) == brute_bound(N, n, x, ALPHA)


def test_bound_of_a_clean_default_plan_is_below_the_tolerable_defects() -> None:
    for N in range(1, 121):
        plan = hypergeometric_plan(N)
        assert upper_bound(N, plan.sample_size, 0, plan.alpha) < plan.defects
    assert upper_bound(10, 10, 2, ALPHA) == 2  # census: the bound is what was seen


def test_decisions() -> None:
    items = [1, 2, 3, 4]
    ok = [VerdictView(i, "ann", True) for i in items]
    e = evaluate(20, items, 0, ALPHA, ok)
    assert e.decision == "pass" and e.bad == 0 and e.upper_bound == brute_bound(20, 4, 0, ALPHA)
    assert evaluate(20, items, 0, ALPHA, ok[:3]).decision == "incomplete"
    missing = ok[:3] + [VerdictView(4, "ann", True, footage_problem="missing")]
    e = evaluate(20, items, 0, ALPHA, missing)
    assert e.decision == "fail" and e.bad_items == (4,)
    # fail is final even before every session is reviewed
    assert evaluate(20, items, 0, ALPHA, [VerdictView(1, "ann", False)]).decision == "fail"
    # c = 1 tolerates one bad session
    one_bad = ok[:3] + [VerdictView(4, "ann", False)]
    assert evaluate(20, items, 1, ALPHA, one_bad).decision == "pass"


def test_second_inspector_and_supersession() -> None:
    items = [1, 2]
    vs = [VerdictView(1, "ann", True, order=1), VerdictView(2, "ann", True, order=2),
          VerdictView(2, "bob", False, order=3)]
    e = evaluate(10, items, 0, ALPHA, vs)
    assert e.decision == "fail" and e.disputed_items == (2,)
    # ann corrects her own verdict later: her latest counts
    vs2 = [VerdictView(1, "ann", False, order=1), VerdictView(1, "ann", True, order=5), VerdictView(2, "ann", True, order=2)]
    assert evaluate(10, items, 0, ALPHA, vs2).decision == "pass"


def test_switching_rules() -> None:
    ok, bad = LotOutcome(True), LotOutcome(False)
    s = replay([ok, bad, ok, ok, ok])
    assert s.severity == "normal"
    s = replay([ok, bad, ok, ok, bad])  # 2 of 5 not accepted
    assert s.severity == "tightened"
    s2 = replay([bad, ok, ok, ok, ok, ok, bad])  # 2 rejections 6 lots apart: window is 5 lots
    assert s2.severity == "normal"
    t = replay([ok] * 4, s)
    assert t.severity == "tightened"
    assert step(t, ok).severity == "normal"  # 5 consecutive accepted
    t = replay([bad, ok, bad, bad, ok], s)
    assert t.severity == "tightened" and t.tightened_rejects == 3
    d = replay([bad, bad], t)
    assert d.severity == "discontinued"
    with pytest.raises(Discontinued):
        step(d, ok)
    assert resume(d).severity == "tightened"
    # reduced needs score >= 30 (15 accepted Ac<=1 lots), steady production and approval
    appr = LotOutcome(True, authority_approves_reduced=True)
    assert replay([appr] * 14).severity == "normal"
    r = replay([appr] * 15)
    assert r.severity == "reduced"
    assert step(r, LotOutcome(True, reinstate_normal=True)).severity == "normal"
    assert step(r, bad).severity == "normal"
    # Ac >= 2: +3 only if the lot would have passed one AQL step tighter
    s3 = replay([LotOutcome(True, acceptance_number=2, accepted_one_step_tighter=True)] * 3)
    assert s3.score == 9
    assert step(s3, LotOutcome(True, acceptance_number=2, accepted_one_step_tighter=False)).score == 0
    assert SwitchingState.from_json(r.to_json()) == r


def test_stratified_bound_against_brute_force_and_the_plan() -> None:
    import itertools
    import math

    from sampling.evaluate import upper_bound_stratified
    from sampling.select import stratified_sizes

    sizes, alloc = [5, 6, 4], [2, 3, 2]

    def miss(spread: tuple[int, ...]) -> Fraction:
        return math.prod((Fraction(math.comb(s - d, a), math.comb(s, a)) for s, a, d in zip(sizes, alloc, spread)),
                         start=Fraction(1))

    def brute(D: int) -> Fraction:
        return max(miss(sp) for sp in itertools.product(*(range(s + 1) for s in sizes)) if sum(sp) == D)

    expected = max(D for D in range(0, sum(sizes) + 1) if brute(D) > ALPHA)
    assert upper_bound_stratified(sizes, alloc, ALPHA) == expected
    # a clean sample under the week-stratified plan always bounds the class below D
    for N in range(10, 131, 9):
        plan = hypergeometric_plan(N)
        weeks = [10] * (N // 10) + ([N % 10] if N % 10 else [])
        alloc2, _ = stratified_sizes(plan.sample_size, weeks, plan.defects, plan.alpha)
        assert upper_bound_stratified(weeks, alloc2, plan.alpha) < plan.defects
