"""Reproducible, publicly verifiable selection of sessions, review windows and spot-check classes.

The generator is Rivest's SHA-256 counter-mode sampler used in election audits (sampler.py, 2011;
test vectors in cjerdonek/rivest-sampler-tests): draw i = int(SHA256(seed + "," + str(i))) mod
total + 1. Without replacement: keep drawing i = 1, 2, ... and skip repeats (the skipped i's are
recorded). Anyone with the seed and the ordered population (whose SHA-256 is stored with the draw)
can redo the draw with a few lines of any language.

Stratification (by week): n is allocated proportionally, n_h = floor(n N_h / N), the remaining units
going to the strata with the largest remainders (ties: earlier stratum); each stratum is drawn with
seed + "/" + stratum label. Because a stratified draw can miss a clustered defect more often than
simple random sampling (docs/sampling.md 4.2), `stratified_sizes` raises n until the worst case over
every spread of D bad sessions across strata still meets alpha (exact, c = 0).

Weighted draws (risk-based spot checks) use Efraimidis-Spirakis keys -ln(u_i)/w_i with u_i from the
same SHA-256 stream: the k smallest keys form a PPS sample without replacement.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

ALGORITHM = "rivest-sha256-counter/1"  # name + version recorded with each draw


def new_seed(digits: int = 20) -> str:
    """A fresh decimal seed (like 20 dice rolls) from the OS CSPRNG; record it with the draw."""
    return str(secrets.randbelow(10**digits)).zfill(digits)


def population_hash(keys: Sequence[str]) -> str:
    """SHA-256 of the ordered population: one key per line, UTF-8, newline-terminated."""
    h = hashlib.sha256()
    for key in keys:
        if "\n" in key:
            raise ValueError("population keys may not contain newlines")
        h.update(key.encode("utf-8") + b"\n")
    return h.hexdigest()


def sha_int(seed: str, i: int | str) -> int:
    return int(hashlib.sha256(f"{seed},{i}".encode("utf-8")).hexdigest(), 16)


def rivest_draw(seed: str, i: int, total: int) -> int:
    """The i-th draw (i >= 1) from 1..total, with replacement, exactly as Rivest's sampler."""
    return sha_int(seed, i) % total + 1


@dataclass(frozen=True)
class Draw:
    """Positions (1-based, in selection order) and the counters skipped as repeats."""

    order: tuple[int, ...]
    skipped: tuple[int, ...]

    @property
    def sorted(self) -> tuple[int, ...]:
        return tuple(sorted(self.order))


def sample_positions(seed: str, total: int, k: int) -> Draw:
    """k distinct positions from 1..total, without replacement, by Rivest's sampler."""
    if not 0 <= k <= total:
        raise ValueError(f"cannot draw {k} of {total}")
    chosen: list[int] = []
    seen: set[int] = set()
    skipped: list[int] = []
    i = 0
    while len(chosen) < k:
        i += 1
        pos = rivest_draw(seed, i, total)
        if pos in seen:
            skipped.append(i)
            continue
        seen.add(pos)
        chosen.append(pos)
    return Draw(tuple(chosen), tuple(skipped))


def allocate(n: int, sizes: Sequence[int]) -> list[int]:
    """Proportional allocation with largest remainders (ties to the earlier stratum)."""
    total = sum(sizes)
    if not 0 <= n <= total:
        raise ValueError(f"cannot allocate {n} of {total}")
    exact = [Fraction(n * s, total) if total else Fraction(0) for s in sizes]
    alloc = [math.floor(e) for e in exact]
    order = sorted(range(len(sizes)), key=lambda h: (-(exact[h] - alloc[h]), h))
    for h in order[: n - sum(alloc)]:
        alloc[h] += 1
    return alloc


def worst_case_miss(sizes: Sequence[int], alloc: Sequence[int], defects: int) -> Fraction:
    """max over spreads (D_h) of D bad sessions of P(no bad session drawn) = prod C(N_h-D_h, n_h)/C(N_h, n_h).

    Exact dynamic programme: the factors are non-negative and independent, so the maximum of the
    product over a composition of D is built stratum by stratum."""
    best: dict[int, Fraction] = {0: Fraction(1)}
    for size, n_h in zip(sizes, alloc):
        denom = math.comb(size, n_h)
        nxt: dict[int, Fraction] = {}
        for used, value in best.items():
            for d in range(0, min(size, defects - used) + 1):
                term = value * Fraction(math.comb(size - d, n_h), denom)
                key = used + d
                if term > nxt.get(key, Fraction(-1)):
                    nxt[key] = term
        best = nxt
    return best.get(defects, Fraction(0))


def stratified_sizes(n: int, sizes: Sequence[int], defects: int, alpha: Fraction) -> tuple[list[int], Fraction]:
    """Allocation for n (raised if needed) whose worst-case miss probability at D is <= alpha (c = 0)."""
    total = sum(sizes)
    for m in range(n, total + 1):
        alloc = allocate(m, sizes)
        p = worst_case_miss(sizes, alloc, defects)
        if p <= alpha:
            return alloc, p
    alloc = list(sizes)
    return alloc, worst_case_miss(sizes, alloc, defects)


def stratified_draw(seed: str, strata: Sequence[tuple[str, int]], alloc: Sequence[int]) -> list[tuple[str, Draw]]:
    """One Rivest draw per stratum (label, size) with seed "<seed>/<label>"."""
    return [(label, sample_positions(f"{seed}/{label}", size, k)) for (label, size), k in zip(strata, alloc)]


def review_window(
    seed: str, session_key: str, start: datetime, end: datetime, minutes: int
) -> tuple[datetime, datetime]:
    """A random whole-second window of `minutes` inside [start, end] (the whole session if shorter),
    offset = SHA256(seed + ",window," + key) mod (slack + 1) seconds."""
    span = int((end - start).total_seconds())
    length = minutes * 60
    if span <= length:
        return start, end
    offset = sha_int(seed, f"window,{session_key}") % (span - length + 1)
    begin = start + timedelta(seconds=offset)
    return begin, begin + timedelta(seconds=length)


def weighted_sample(seed: str, weights: Mapping[str, float], k: int) -> list[str]:
    """PPS without replacement (Efraimidis-Spirakis) over keys with positive weights, reproducible:
    u_key = (top 53 bits of SHA256(seed + ",pps," + key) + 0.5) / 2^53, sort by -ln(u)/w."""
    keyed = []
    for key, w in weights.items():
        if w <= 0:
            continue
        bits = sha_int(seed, f"pps,{key}") >> (256 - 53)
        u = (bits + 0.5) / 2.0**53
        keyed.append((-math.log(u) / w, key))
    keyed.sort()
    return [key for _, key in keyed[:k]]


def risk_weight(flags: Mapping[str, int], weights: Mapping[str, float], base: float = 1.0) -> float:
    """A class's selection weight: base + sum(weight of flag x count). Unknown flags weigh 0."""
    return base + sum(weights.get(flag, 0.0) * count for flag, count in flags.items())
