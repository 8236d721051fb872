"""ISO 2859-1 / GB/T 2828.1 single sampling: Table 1 code letters and Tables 2-A, 2-B, 2-C.

For programmes that require the AQL scheme. The tables are kept in their *printed* form (arrows and
Ac/Re as in the standard) and resolved by the printed rule: "v" = use the first plan below the arrow,
"^" = the first plan above, taking that row's sample size too; when the sample size equals or exceeds
the lot size, inspect 100 %. An arrow pointing off the table (2-A A/10 up, R/0.015 down) is resolved
in the other direction, as AQLSchemes does (documented corner convention).

Sources: Table 1, 2-A and 2-B exactly as in docs/sampling.md section 1 (MIL-STD-105E = ANSI/ASQ Z1.4 =
ISO 2859-1 master tables). Table 2-C is MIL-STD-105E Table II-C as encoded in AQLSchemes
(`R/AAZ14Single.R`): its reduced plans have Re > Ac + 1 (a lot with Ac < d < Re is accepted but
normal inspection is reinstated, see `sampling.switching`); ISO 2859-1:1999 dropped that clause.
VERIFY 2-C against GB/T 2828.1-2012 before relying on reduced plans.
AQL plans are built for continuing series of lots; for one class the default is `sampling.plan`.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Literal

from sampling.plan import Number, Plan, PlanError, hypergeom_cdf, to_fraction

Severity = Literal["normal", "tightened", "reduced"]
LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
AQLS = (
    "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65", "1.0", "1.5", "2.5",
    "4.0", "6.5", "10", "15", "25", "40", "65", "100", "150", "250", "400", "650", "1000",
)

# Table 1: (largest lot size of the row, letters for S-1 S-2 S-3 S-4 I II III); last row open-ended.
TABLE_1 = (
    (8, "AAAAAAB"), (15, "AAAAABC"), (25, "AABBBCD"), (50, "ABBCCDE"), (90, "BBCCCEF"),
    (150, "BBCDDFG"), (280, "BCDEEGH"), (500, "BCDEFHJ"), (1200, "CCEFGJK"), (3200, "CDEGHKL"),
    (10000, "CDFGJLM"), (35000, "CDFHKMN"), (150000, "DEGJLNP"), (500000, "DEGJMPQ"), (None, "DEHKNQR"),
)

# Printed tables: code letter, sample size, then one token per AQL column:
# "v" arrow down, "^" arrow up, "." blank cell, "Ac/Re" a plan.
TABLE_2A = """
    A 2 v v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31
    B 3 v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45
    C 5 v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^
    D 8 v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^
    E 13 v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^ ^
    F 20 v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^
    G 32 v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^
    H 50 v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^
    J 80 v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^
    K 125 v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    L 200 v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    M 315 v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    N 500 v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    P 800 v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    Q 1250 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    R 2000 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
"""

TABLE_2B = """
    A 2 v v v v v v v v v v v v v v v v v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28
    B 3 v v v v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42
    C 5 v v v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^
    D 8 v v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^ ^
    E 13 v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^ ^ ^
    F 20 v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^
    G 32 v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^
    H 50 v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^
    J 80 v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^
    K 125 v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    L 200 v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    M 315 v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    N 500 v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    P 800 v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    Q 1250 v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    R 2000 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    S 3150 . . 1/2 . . . . . . . . . . . . . . . . . . . . . . .
"""

TABLE_2C = """
    A 2 v v v v v v v v v v v v 0/1 0/1 0/1 0/2 0/2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31
    B 2 v v v v v v v v v v v v 0/1 0/1 0/1 0/2 0/2 1/3 2/4 3/5 5/6 7/8 10/11 14/15 21/22 30/31
    C 2 v v v v v v v v v v v v 0/1 0/1 v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 30/31
    D 3 v v v v v v v v v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^ ^
    E 5 v v v v v v v v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^ ^ ^
    F 8 v v v v v v v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^
    G 13 v v v v v v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^
    H 20 v v v v v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^
    J 32 v v v v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^ ^
    K 50 v v v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    L 80 v v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    M 125 v v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    N 200 v v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    P 315 v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    Q 500 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
    R 800 ^ ^ 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^
"""


@dataclass(frozen=True)
class IsoPlan:
    """A resolved single sampling plan from Table 2-A/2-B/2-C."""

    severity: str
    letter: str  # code letter from Table 1
    aql: str
    plan_letter: str  # the row the arrows led to
    sample_size: int
    acceptance: int
    rejection: int


def _parse(text: str) -> tuple[tuple[str, ...], tuple[int, ...], tuple[tuple[tuple[int, int] | str, ...], ...]]:
    letters, sizes, rows = [], [], []
    for line in text.strip().splitlines():
        tokens = line.split()
        letters.append(tokens[0])
        sizes.append(int(tokens[1]))
        cells: list[tuple[int, int] | str] = []
        for tok in tokens[2:]:
            if "/" in tok:
                ac, re_ = tok.split("/")
                cells.append((int(ac), int(re_)))
            else:
                cells.append(tok)
        if len(cells) != len(AQLS):
            raise AssertionError(f"row {tokens[0]} has {len(cells)} cells")
        rows.append(tuple(cells))
    return tuple(letters), tuple(sizes), tuple(rows)


TABLES = {"normal": _parse(TABLE_2A), "tightened": _parse(TABLE_2B), "reduced": _parse(TABLE_2C)}


def code_letter(lot_size: int, level: str = "II") -> str:
    """Table 1: the sample size code letter for a lot size and inspection level."""
    if lot_size < 2:
        raise PlanError("Table 1 starts at lot size 2")
    if level not in LEVELS:
        raise PlanError(f"inspection level must be one of {', '.join(LEVELS)}")
    col = LEVELS.index(level)
    for upper, letters in TABLE_1:
        if upper is None or lot_size <= upper:
            return letters[col]
    raise AssertionError("unreachable")


def aql_key(aql: Number) -> str:
    """The printed AQL column for a value (0.65, "0.65", Fraction(13, 20) all name "0.65")."""
    wanted = to_fraction(aql)
    for key in AQLS:
        if Fraction(key) == wanted:
            return key
    raise PlanError(f"AQL {aql} is not a column of the tables ({', '.join(AQLS)})")


@lru_cache(maxsize=None)
def resolve(severity: str, letter: str, aql: str) -> IsoPlan:
    """Follow the arrows from (letter, AQL) to the plan they point at."""
    letters, sizes, rows = TABLES[severity]
    col = AQLS.index(aql)
    start = letters.index(letter)
    cell = rows[start][col]
    if isinstance(cell, tuple):
        return IsoPlan(severity, letter, aql, letter, sizes[start], cell[0], cell[1])
    if cell == ".":
        raise PlanError(f"{severity} table has no cell {letter}/{aql}")
    step = 1 if cell == "v" else -1
    for direction in (step, -step):  # off the table: the other way (corner convention)
        i = start + direction
        while 0 <= i < len(letters):
            target = rows[i][col]
            if isinstance(target, tuple):
                return IsoPlan(severity, letter, aql, letters[i], sizes[i], target[0], target[1])
            i += direction
    raise PlanError(f"no plan reachable from {severity} {letter}/{aql}")


def single_plan(lot_size: int, aql: Number, level: str = "II", severity: Severity = "normal") -> IsoPlan:
    """Code letter, then the resolved plan; n is capped at the lot size (100 % inspection)."""
    found = resolve(severity, code_letter(lot_size, level), aql_key(aql))
    if found.sample_size >= lot_size:
        return IsoPlan(found.severity, found.letter, found.aql, found.plan_letter, lot_size, found.acceptance, found.rejection)
    return found


def iso_plan(
    population: int,
    *,
    aql: Number = "2.5",
    level: str = "II",
    severity: Severity = "normal",
    confidence: Number = Fraction(95, 100),
    tolerable_rate: Number = Fraction(10, 100),
    **_: object,
) -> Plan:
    """An ISO 2859-1 plan as a `Plan`, with its acceptance probability for a class at the tolerable
    rate (D = ceil(rate x N)) computed exactly, so its weak protection on small classes is visible."""
    found = single_plan(population, aql, level, severity)
    rate = to_fraction(tolerable_rate)
    defects = -(-rate.numerator * population // rate.denominator)
    return Plan(
        "iso2859", population, found.sample_size, found.acceptance, to_fraction(confidence), rate, defects,
        hypergeom_cdf(found.acceptance, population, defects, found.sample_size),
        {
            "standard": "ISO 2859-1 / GB/T 2828.1 single sampling",
            "severity": severity, "level": level, "aql": found.aql, "code_letter": found.letter,
            "plan_letter": found.plan_letter, "rejection": found.rejection,
            "census": found.sample_size >= population,
            "achieved_is": "P(accept) at D = ceil(rate x N), hypergeometric, exact",
        },
    )
