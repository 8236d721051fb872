"""Draws: the published Rivest test vectors, byte-for-byte reproduction, inclusion frequencies,
stratified allocation and its worst case, review windows and weighted spot checks."""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from fractions import Fraction

import pytest

from sampling.plan import hypergeom_cdf
from sampling.select import (
    allocate, new_seed, population_hash, review_window, rivest_draw, risk_weight, sample_positions,
    stratified_draw, stratified_sizes, weighted_sample, worst_case_miss,
)

# cjerdonek/rivest-sampler-tests tests.json (checked there against Rivest's sampler.py), with duplicates
VECTORS = [
    ("0", 1000, [905, 573, 160]),
    ("0", 2, [1, 1, 2]),
    ("1", 1000, [97, 89, 163]),
    ("0000000000", 1000, [978, 359, 132]),
    ("999999999999999999999999", 1000, [544, 800, 654]),
    ("abcde", 1000, [247, 427, 157]),
]


@pytest.mark.parametrize("seed,total,expected", VECTORS)
def test_published_test_vectors(seed: str, total: int, expected: list[int]) -> None:
    assert [rivest_draw(seed, i, total) for i in (1, 2, 3)] == expected


def test_without_replacement_skips_repeats_and_records_them() -> None:
    d = sample_positions("0", 2, 2)  # vector: 1, 1, 2 -> the second draw is a repeat
    assert d.order == (1, 2) and d.skipped == (2,)
    assert sample_positions("0", 1000, 3).order == (905, 573, 160)


def test_stored_draw_reproduces_exactly() -> None:
    seed = new_seed()
    assert len(seed) == 20 and seed.isdigit()
    keys = [f"2026-03-{d:02d}#{s}" for d in range(1, 31) for s in (1, 2)]
    first = sample_positions(seed, len(keys), 12)
    again = sample_positions(seed, len(keys), 12)
    assert first == again
    assert population_hash(keys) == hashlib.sha256("".join(k + "\n" for k in keys).encode()).hexdigest()
    assert population_hash(keys) != population_hash(list(reversed(keys)))
    assert new_seed() != seed


def test_inclusion_frequency_is_n_over_N() -> None:
    """Each of N sessions is included with probability n/N; over R seeds the count is binomial, so
    every session must lie within 5 standard deviations (a false alarm has odds below 1 in 10^4)."""
    N, n, R = 30, 7, 6000
    counts = [0] * (N + 1)
    for r in range(R):
        for pos in sample_positions(f"freq-{r}", N, n).order:
            counts[pos] += 1
    p = n / N
    sd = math.sqrt(R * p * (1 - p))
    assert all(abs(c - R * p) < 5 * sd for c in counts[1:])
    # and the spread is not suspiciously small either (chi-square-like sanity)
    assert max(counts[1:]) - min(counts[1:]) > 0.5 * sd


def test_stratified_inclusion_with_equal_weeks() -> None:
    strata = [("W1", 10), ("W2", 10), ("W3", 10)]
    alloc = allocate(6, [s for _, s in strata])
    assert alloc == [2, 2, 2]
    R = 3000
    counts: dict[tuple[str, int], int] = {}
    for r in range(R):
        for label, d in stratified_draw(f"s{r}", strata, alloc):
            assert len(set(d.order)) == 2
            for pos in d.order:
                counts[(label, pos)] = counts.get((label, pos), 0) + 1
    p = 6 / 30
    sd = math.sqrt(R * p * (1 - p))
    assert len(counts) == 30 and all(abs(c - R * p) < 5 * sd for c in counts.values())


def test_allocation_largest_remainder() -> None:
    assert allocate(12, [5, 5, 5, 5, 4]) == [3, 3, 2, 2, 2]  # 2.5, 2.5, 2.5, 2.5, 2.0
    assert allocate(5, [1, 9]) == [1, 4]  # 0.5 and 4.5: the tie goes to the earlier stratum
    assert sum(allocate(17, [3, 7, 11, 2])) == 17
    with pytest.raises(ValueError):
        allocate(30, [10, 10])


def test_worst_case_of_a_stratified_design() -> None:
    # docs/sampling.md 4.2: N 20 = 2 x 10, n 4 = 2 + 2: all 4 bad in one week -> 1/3;
    # 2 bad, one per week -> (36/45)^2 = 0.64 > SRS 0.6316: the worst case is not the SRS value
    assert Fraction(math.comb(6, 2), math.comb(10, 2)) == Fraction(1, 3)
    assert worst_case_miss([10, 10], [2, 2], 2) == Fraction(36, 45) ** 2
    assert worst_case_miss([10, 10], [2, 2], 2) > hypergeom_cdf(0, 20, 2, 4)
    # brute force over every spread of D across the strata
    sizes, alloc, D = [7, 5, 6], [3, 2, 3], 4
    brute = max(
        Fraction(math.comb(7 - a, 3), math.comb(7, 3)) * Fraction(math.comb(5 - b, 2), math.comb(5, 2))
        * Fraction(math.comb(6 - (D - a - b), 3), math.comb(6, 3))
        for a in range(0, 5) for b in range(0, 5) if 0 <= D - a - b <= 6 and a <= 7 and b <= 5
    )
    assert worst_case_miss(sizes, alloc, D) == brute
    alloc2, p = stratified_sizes(4, [10, 10], 2, Fraction(1, 20))
    assert p <= Fraction(1, 20) and worst_case_miss([10, 10], allocate(sum(alloc2) - 1, [10, 10]), 2) > Fraction(1, 20)


def test_review_window_inside_the_session() -> None:
    start = datetime(2026, 3, 2, 8, 30)
    end = start + timedelta(hours=3, minutes=30)
    seen = set()
    for k in range(200):
        a, b = review_window("seed", f"s{k}", start, end, 10)
        assert start <= a and b <= end and b - a == timedelta(minutes=10)
        seen.add(a)
    assert len(seen) > 150  # spread over the session
    assert review_window("seed", "s1", start, end, 10) == review_window("seed", "s1", start, end, 10)
    short_end = start + timedelta(minutes=5)
    assert review_window("seed", "x", start, short_end, 10) == (start, short_end)


def test_weighted_spot_checks_favour_flagged_classes() -> None:
    weights = {f"C{i}": 1.0 for i in range(20)}
    weights["C7"] = risk_weight({"proxy_suspected": 3, "wrong_site": 1}, {"proxy_suspected": 5.0, "wrong_site": 2.0})
    assert weights["C7"] == 18.0
    assert weighted_sample("s", weights, 3) == weighted_sample("s", weights, 3)
    hits = {k: 0 for k in weights}
    for r in range(1000):
        for key in weighted_sample(f"w{r}", weights, 2):
            hits[key] += 1
    # successive sampling: P(C7 in 2 of 20) = 18/37 + 19 * (1/37) * (18/36); a plain class: 1/37 + ...
    p7 = Fraction(18, 37) + 19 * Fraction(1, 37) * Fraction(18, 36)
    p1 = Fraction(1, 37) + Fraction(18, 37) * Fraction(1, 19) + 18 * Fraction(1, 37) * Fraction(1, 36)
    for key, p in [("C7", p7)] + [(k, p1) for k in weights if k != "C7"]:
        sd = math.sqrt(1000 * p * (1 - p))
        assert abs(hits[key] - 1000 * p) < 5 * sd, key
    assert weighted_sample("s", {"a": 0.0, "b": 1.0}, 2) == ["b"]
