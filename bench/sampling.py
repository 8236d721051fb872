"""Sampling: exact plans against a floating-point baseline (speed, and where floats get n wrong),
and the SHA-256 sampler against Python's Mersenne Twister (draws per second)."""
from __future__ import annotations

import math
import random
import time
from fractions import Fraction

from sampling.plan import hypergeometric_plan
from sampling.select import sample_positions, stratified_sizes


def float_plan(population: int, confidence: float = 0.95, rate: float = 0.10) -> int:
    """The usual float implementation (what the exact plan replaces): ceil(rate * N) and P(0) as a
    float product compared with alpha."""
    defects = math.ceil(rate * population)
    alpha = 1 - confidence
    p = 1.0
    for n in range(1, population + 1):
        p *= (population - defects - (n - 1)) / (population - (n - 1))
        if p <= alpha:
            return n
    return population


def main(quick: bool = False) -> None:
    top = 500 if quick else 2000
    settings = [(0.95, 0.10), (0.90, 0.10), (0.95, 0.05), (0.90, 0.20), (0.99, 0.05)]
    t0 = time.perf_counter()
    exact = {(c, r, n): hypergeometric_plan(n, confidence=c, tolerable_rate=r).sample_size
             for c, r in settings for n in range(1, top + 1)}
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    floats = {(c, r, n): float_plan(n, c, r) for c, r in settings for n in range(1, top + 1)}
    t_float = time.perf_counter() - t0
    wrong = sorted(k for k in exact if exact[k] != floats[k])
    plans = len(exact)
    print(f"exact hypergeometric plans, N = 1..{top} x {len(settings)} settings: {plans} plans in {t_exact:.2f} s "
          f"({plans / t_exact:,.0f}/s); float baseline {t_float:.2f} s; exact / float time = {t_exact / t_float:.1f}x")
    print(f"float baseline picks a different n in {len(wrong)} of {plans} cases"
          + (f", e.g. {', '.join(f'N={n} conf={c} rate={r}: exact {exact[(c, r, n)]}, float {floats[(c, r, n)]}' for c, r, n in wrong[:3])}"
             if wrong else ""))

    draws = 2000 if quick else 20000
    t0 = time.perf_counter()
    for i in range(draws):
        sample_positions(f"bench-{i}", 120, 26)
    t_sha = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(draws):
        random.Random(i).sample(range(120), 26)
    t_mt = time.perf_counter() - t0
    print(f"draw 26 of 120 sessions: SHA-256 sampler {draws / t_sha:,.0f} draws/s, Mersenne Twister "
          f"{draws / t_mt:,.0f} draws/s (SHA-256 / MT time = {t_sha / t_mt:.1f}x)")

    t0 = time.perf_counter()
    alloc, worst = stratified_sizes(26, [10] * 12, 12, Fraction(1, 20))
    print(f"week-stratified sizing N=120 (12 weeks): n 26 -> {sum(alloc)}, worst case {float(worst):.4f}, "
          f"{(time.perf_counter() - t0) * 1000:.0f} ms")
