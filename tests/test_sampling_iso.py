"""ISO 2859-1 tables against independently printed and computed values: the arrow-resolved Table 2-A
as printed in docs/sampling.md, the diagonal construction rules for 2-A and 2-B, MIL-STD-105E
Table II-C as encoded in AQLSchemes (R/AAZ14Single.R), and Table 1 spot checks."""
from __future__ import annotations

import pytest

from sampling.iso2859 import AQLS, LEVELS, code_letter, iso_plan, resolve, single_plan
from sampling.plan import PlanError

CODES = "ABCDEFGHJKLMNPQR"
NORMAL_N = dict(zip(CODES, [2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000]))
REDUCED_N = dict(zip(CODES, [2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800]))

# docs/sampling.md 1.3, "Arrow-resolved effective plan n:Ac" (Re = Ac + 1), typed in from the doc.
RESOLVED_NORMAL = {
    "A": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 32:0 20:0 13:0 8:0 5:0 3:0 2:0 5:1 3:1 2:1 2:2 2:3 2:5 2:7 2:10 2:14 2:21 2:30",
    "B": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 32:0 20:0 13:0 8:0 5:0 3:0 2:0 5:1 3:1 3:2 3:3 3:5 3:7 3:10 3:14 3:21 3:30 3:44",
    "C": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 32:0 20:0 13:0 8:0 5:0 3:0 8:1 5:1 5:2 5:3 5:5 5:7 5:10 5:14 5:21 5:30 5:44 3:44",
    "D": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 32:0 20:0 13:0 8:0 5:0 13:1 8:1 8:2 8:3 8:5 8:7 8:10 8:14 8:21 8:30 8:44 5:44 3:44",
    "E": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 32:0 20:0 13:0 8:0 20:1 13:1 13:2 13:3 13:5 13:7 13:10 13:14 13:21 13:30 13:44 8:44 5:44 3:44",
    "F": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 32:0 20:0 13:0 32:1 20:1 20:2 20:3 20:5 20:7 20:10 20:14 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "G": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 32:0 20:0 50:1 32:1 32:2 32:3 32:5 32:7 32:10 32:14 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "H": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 32:0 80:1 50:1 50:2 50:3 50:5 50:7 50:10 50:14 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "J": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 50:0 125:1 80:1 80:2 80:3 80:5 80:7 80:10 80:14 80:21 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "K": "1250:0 800:0 500:0 315:0 200:0 125:0 80:0 200:1 125:1 125:2 125:3 125:5 125:7 125:10 125:14 125:21 80:21 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "L": "1250:0 800:0 500:0 315:0 200:0 125:0 315:1 200:1 200:2 200:3 200:5 200:7 200:10 200:14 200:21 125:21 80:21 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "M": "1250:0 800:0 500:0 315:0 200:0 500:1 315:1 315:2 315:3 315:5 315:7 315:10 315:14 315:21 200:21 125:21 80:21 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "N": "1250:0 800:0 500:0 315:0 800:1 500:1 500:2 500:3 500:5 500:7 500:10 500:14 500:21 315:21 200:21 125:21 80:21 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "P": "1250:0 800:0 500:0 1250:1 800:1 800:2 800:3 800:5 800:7 800:10 800:14 800:21 500:21 315:21 200:21 125:21 80:21 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "Q": "1250:0 800:0 2000:1 1250:1 1250:2 1250:3 1250:5 1250:7 1250:10 1250:14 1250:21 800:21 500:21 315:21 200:21 125:21 80:21 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
    "R": "1250:0 800:0 2000:1 2000:2 2000:3 2000:5 2000:7 2000:10 2000:14 2000:21 1250:21 800:21 500:21 315:21 200:21 125:21 80:21 50:21 32:21 20:21 13:21 13:30 13:44 8:44 5:44 3:44",
}

# AQLSchemesCust R/AAZ14Single.R reduced matrices, n:Ac:Re per AQL column.
REDUCED = {
    "A": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 13:0:1 8:0:1 5:0:1 3:0:1 2:0:1 2:0:1 2:0:1 2:0:2 2:0:2 2:1:2 2:2:3 2:3:4 2:5:6 2:7:8 2:10:11 2:14:15 2:21:22 2:30:31",
    "B": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 13:0:1 8:0:1 5:0:1 3:0:1 2:0:1 2:0:1 2:0:1 2:0:2 2:0:2 2:1:3 2:2:4 2:3:5 2:5:6 2:7:8 2:10:11 2:14:15 2:21:22 2:30:31",
    "C": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 13:0:1 8:0:1 5:0:1 3:0:1 2:0:1 2:0:1 3:0:2 2:0:2 2:1:3 2:1:4 2:2:5 2:3:6 2:5:8 2:7:10 2:10:13 2:14:17 2:21:24 2:30:31",
    "D": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 13:0:1 8:0:1 5:0:1 3:0:1 2:0:1 5:0:2 3:0:2 3:1:3 3:1:4 3:2:5 3:3:6 3:5:8 3:7:10 3:10:13 3:14:17 3:21:24 2:21:24 2:30:31",
    "E": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 13:0:1 8:0:1 5:0:1 3:0:1 8:0:2 5:0:2 5:1:3 5:1:4 5:2:5 5:3:6 5:5:8 5:7:10 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "F": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 13:0:1 8:0:1 5:0:1 13:0:2 8:0:2 8:1:3 8:1:4 8:2:5 8:3:6 8:5:8 8:7:10 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "G": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 13:0:1 8:0:1 20:0:2 13:0:2 13:1:3 13:1:4 13:2:5 13:3:6 13:5:8 13:7:10 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "H": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 13:0:1 32:0:2 20:0:2 20:1:3 20:1:4 20:2:5 20:3:6 20:5:8 20:7:10 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "J": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 20:0:1 50:0:2 32:0:2 32:1:3 32:1:4 32:2:5 32:3:6 32:5:8 32:7:10 32:10:13 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "K": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 32:0:1 80:0:2 50:0:2 50:1:3 50:1:4 50:2:5 50:3:6 50:5:8 50:7:10 50:10:13 32:10:13 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "L": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 50:0:1 125:0:2 80:0:2 80:1:3 80:1:4 80:2:5 80:3:6 80:5:8 80:7:10 80:10:13 50:10:13 32:10:13 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "M": "500:0:1 315:0:1 200:0:1 125:0:1 80:0:1 200:0:2 125:0:2 125:1:3 125:1:4 125:2:5 125:3:6 125:5:8 125:7:10 125:10:13 80:10:13 50:10:13 32:10:13 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "N": "500:0:1 315:0:1 200:0:1 125:0:1 315:0:2 200:0:2 200:1:3 200:1:4 200:2:5 200:3:6 200:5:8 200:7:10 200:10:13 125:10:13 80:10:13 50:10:13 32:10:13 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "P": "500:0:1 315:0:1 200:0:1 500:0:2 315:0:2 315:1:3 315:1:4 315:2:5 315:3:6 315:5:8 315:7:10 315:10:13 200:10:13 125:10:13 80:10:13 50:10:13 32:10:13 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "Q": "500:0:1 315:0:1 800:0:2 500:0:2 500:1:3 500:1:4 500:2:5 500:3:6 500:5:8 500:7:10 500:10:13 315:10:13 200:10:13 125:10:13 80:10:13 50:10:13 32:10:13 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
    "R": "500:0:1 315:0:1 800:0:2 800:1:3 800:1:4 800:2:5 800:3:6 800:5:8 800:7:10 800:10:13 500:10:13 315:10:13 200:10:13 125:10:13 80:10:13 50:10:13 32:10:13 20:10:13 13:10:13 8:10:13 5:10:13 5:14:17 5:21:24 3:21:24 2:21:24 2:30:31",
}


def diagonal(i: int, j: int, severity: str) -> tuple[int, int] | str:
    """The printed cell from the construction rule of docs/sampling.md 1.3 / 1.4."""
    s = i + j
    if severity == "normal":
        ladder = {14: (0, 1), 17: (1, 2), 18: (2, 3), 19: (3, 4), 20: (5, 6), 21: (7, 8), 22: (10, 11),
                  23: (14, 15), 24: (21, 22), 25: (30, 31), 26: (44, 45)}
        if s <= 13 or s == 16:
            return "v"
        if s == 15 or s >= 27:
            return "^"
    else:
        ladder = {15: (0, 1), 18: (1, 2), 19: (2, 3), 20: (3, 4), 21: (5, 6), 22: (8, 9), 23: (12, 13),
                  24: (18, 19), 25: (27, 28), 26: (41, 42)}
        if s <= 14 or s in (16, 17) or (s == 15 and i == 0):
            return "v"
        if s >= 27:
            return "^"
    if s in (25, 26) and i > 4:
        return "^"
    return ladder[s]


def resolve_by_rule(i: int, j: int, severity: str) -> tuple[int, int]:
    sizes = [NORMAL_N[c] for c in CODES]
    rows = 16
    if severity == "tightened":
        sizes.append(3150)
        rows = 17

    def cell(r: int) -> tuple[int, int] | str:
        if r == 16:  # tightened row S: only 1/2 at AQL 0.025
            return (1, 2) if j == 2 else "."
        return diagonal(r, j, severity)

    first = cell(i)
    if isinstance(first, tuple):
        return sizes[i], first[0]
    step = 1 if first == "v" else -1
    for direction in (step, -step):
        r = i + direction
        while 0 <= r < rows:
            c = cell(r)
            if isinstance(c, tuple):
                return sizes[r], c[0]
            r += direction
    raise AssertionError


def test_normal_against_the_printed_resolved_table() -> None:
    for letter, row in RESOLVED_NORMAL.items():
        for aql, expected in zip(AQLS, row.split()):
            n, ac = (int(v) for v in expected.split(":"))
            got = resolve("normal", letter, aql)
            assert (got.sample_size, got.acceptance, got.rejection) == (n, ac, ac + 1), (letter, aql)


@pytest.mark.parametrize("severity", ["normal", "tightened"])
def test_tables_against_the_diagonal_rule(severity: str) -> None:
    for i, letter in enumerate(CODES):
        for j, aql in enumerate(AQLS):
            got = resolve(severity, letter, aql)
            assert (got.sample_size, got.acceptance) == resolve_by_rule(i, j, severity), (severity, letter, aql)


def test_tightened_extra_row_and_corner() -> None:
    assert resolve("tightened", "R", "0.025").sample_size == 3150  # only plan of row S
    r = resolve("tightened", "R", "0.015")  # points down to a blank: resolved upwards
    assert (r.plan_letter, r.sample_size, r.acceptance) == ("Q", 1250, 0)
    assert resolve("tightened", "A", "10").sample_size == 8  # row A has no 0/1 plan


def test_reduced_against_aqlschemes() -> None:
    for letter, row in REDUCED.items():
        for aql, expected in zip(AQLS, row.split()):
            n, ac, re_ = (int(v) for v in expected.split(":"))
            got = resolve("reduced", letter, aql)
            assert (got.sample_size, got.acceptance, got.rejection) == (n, ac, re_), (letter, aql)
    for letter in CODES:  # reduced sample sizes by code letter (docs/sampling.md 1.5)
        assert any(resolve("reduced", letter, aql).plan_letter == letter and
                   resolve("reduced", letter, aql).sample_size == REDUCED_N[letter] for aql in AQLS)
    h = resolve("reduced", "H", "2.5")
    e = resolve("reduced", "E", "10")
    assert (h.sample_size, h.acceptance, h.rejection) == (20, 1, 4)
    assert (e.sample_size, e.acceptance, e.rejection) == (5, 1, 4)


@pytest.mark.parametrize(
    "lot,aql,letter,plan",
    [(20, "2.5", "C", (5, 0, 1)), (20, "4.0", "C", (3, 0, 1)), (20, "6.5", "C", (8, 1, 2)),
     (12, "10", "B", (5, 1, 2)), (40, "1.0", "D", (13, 0, 1)), (60, "2.5", "E", (20, 1, 2)),
     (120, "4.0", "F", (20, 2, 3)), (1000, "1.0", "J", (80, 2, 3)), (3000, "0.65", "K", (125, 2, 3)),
     (300, "25", "H", (50, 21, 22)), (30, "650", "D", (5, 44, 45))],
)
def test_spot_checks_level_ii(lot: int, aql: str, letter: str, plan: tuple[int, int, int]) -> None:
    got = single_plan(lot, aql)
    assert got.letter == letter
    assert (got.sample_size, got.acceptance, got.rejection) == plan


def test_table_1_rows_and_levels() -> None:
    # docs/sampling.md 1.2, a few rows read across all levels
    assert "".join(code_letter(8, lv) for lv in LEVELS) == "AAAAAAB"
    assert "".join(code_letter(26, lv) for lv in LEVELS) == "ABBCCDE"
    assert "".join(code_letter(150, lv) for lv in LEVELS) == "BBCDDFG"
    assert "".join(code_letter(151, lv) for lv in LEVELS) == "BCDEEGH"
    assert "".join(code_letter(3201, lv) for lv in LEVELS) == "CDFGJLM"
    assert "".join(code_letter(10**7, lv) for lv in LEVELS) == "DEHKNQR"
    with pytest.raises(PlanError):
        code_letter(1)
    with pytest.raises(PlanError):
        code_letter(10, "IV")


def test_census_and_weak_protection_on_small_classes() -> None:
    # lot 10 at AQL 1.0 (letter B -> 13 >= 10): 100 % inspection
    assert single_plan(10, "1.0").sample_size == 10
    # docs/sampling.md 1.8: N 20, AQL 2.5 accepts a class with 20 % bad sessions 28.2 % of the time
    p = iso_plan(20, aql="2.5", tolerable_rate="0.2")
    assert round(p.achieved_float, 3) == 0.282
    with pytest.raises(PlanError):
        single_plan(20, "3.0")
