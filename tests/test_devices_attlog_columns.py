"""The column-wise ATTLOG parser takes exactly the plain bodies and builds the punches the per-line
parser builds; anything else falls through to the per-line parser, which quarantines the lines at fault."""
from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import zkteco
from devices.encoding import decode_text
from devices.localtime import LocalToUtc
from devices.punch import Method, PunchColumns, utc_range
from devices.zkteco import AttlogRecord, build_attlog

BASE = datetime(2026, 3, 2, 8, 0)


def _per_line(body: bytes, tz: str, device_type: str = "att"):  # type: ignore[no-untyped-def]
    return zkteco._parse_attlog_lines(decode_text(body), "SN", tz, LocalToUtc(tz), device_type)


def _records(n: int, **kw) -> list[AttlogRecord]:  # type: ignore[no-untyped-def]
    return [AttlogRecord(str(1000 + i), BASE + timedelta(minutes=7 * i), verify=(15, 1, 4)[i % 3], status=i % 2, **kw)
            for i in range(n)]


def test_a_plain_batch_becomes_columns_equal_to_the_per_line_punches() -> None:
    body = build_attlog(_records(100, workcode="7"), field_count=9, trailing_tabs=1, line_ending="\r\n")
    punches, rejected = zkteco.parse_attlog(body, "SN", "Asia/Shanghai")
    assert isinstance(punches, PunchColumns) and rejected == []
    assert punches.pins[:2] == ["1000", "1001"] and punches.wire_times[1] == "2026-03-02 08:07:00"
    assert punches.methods[:3] == [Method.FACE, Method.FINGERPRINT, Method.CARD]
    assert utc_range(punches) == (datetime(2026, 3, 2, 0, 0), datetime(2026, 3, 2, 0, 0) + timedelta(minutes=693))
    slow, _ = _per_line(body, "Asia/Shanghai")
    assert punches == slow and list(punches) == slow and punches[5] == slow[5] and punches[-2:] == slow[-2:]
    assert len(punches) == 100 and punches[0].work_code == "7" and punches[99].line_no == 100
    assert punches[0].utc_time == punches[0].local_time - timedelta(hours=8)


@pytest.mark.parametrize(("bad_line", "reason"), [
    ("1\t2026-02-30 08:00:00\t0\t15", "bad time"),  # no such day: SQLite would roll it into March
    # the rest have as many fields as every other line of the batch, so only the field itself can send
    # the batch line by line
    ("1\t2026-03-02 08:60:00\t0\t15\t0\t\t", "bad time"),  # minute 60
    ("1\t2026-03-02 08:00:60\t0\t15\t0\t\t", "bad time"),  # second 60
    ("1\t2026-03-02 24:00:00\t0\t15\t0\t\t", "bad time"),  # hour 24
    ("1\t2026-03-02 0\uff18:00:00\t0\t15\t0\t\t", None),  # a full-width digit, which the per-line parser reads
    ("1\t2026-03-02T08:00:00\t0\t15\t0\t\t", None),  # ISO "T", which the per-line parser reads
    ("1 \t2026-03-02 08:00:00\t0\t15\t0\t\t", None),  # a PIN to strip
    ("\t2026-03-02 08:00:00\t0\t15\t0\t\t", "missing PIN"),
    (" \t2026-03-02 08:00:00\t0\t15\t0\t\t", "missing PIN"),
    ("1\t2026-03-02 8:00\t0\t15", None),  # a time the per-line parser still reads
    ("1\t2026-03-02 08:00:00\t\t15", None),  # empty status: -1
    ("1\t2026-03-02 08:00:00\t0\tx", "non-numeric verify"),
    ("\t2026-03-02 08:00:00\t0\t15", "missing PIN"),
    ("1\t2026-03-02 08:00:00\t0", "too few fields"),
    ("1\t2026-03-02 08:00:00\t0\t15\t\t\t\t+28800", None),  # a TimeOffset field: kept in extra
    ("", None),  # a blank line in the middle
    ("1\t2026-03-02 08:00:00\t0\t300", None),  # a verify code past the table: UNKNOWN
])
def test_a_batch_with_one_unusual_line_goes_line_by_line(bad_line: str, reason: str | None) -> None:
    lines = build_attlog(_records(80)).decode().split("\n")
    lines[40] = bad_line
    body = "\n".join(lines).encode()
    punches, rejected = zkteco.parse_attlog(body, "SN", "Asia/Shanghai")
    assert not isinstance(punches, PunchColumns)
    assert (punches, rejected) == _per_line(body, "Asia/Shanghai")
    if reason is None:
        assert rejected == []
    else:
        assert [(r.line_no, r.reason.startswith(reason)) for r in rejected] == [(41, True)]
        assert len(punches) == 79


def test_a_pin_with_a_space_inside_stays_columnar() -> None:
    lines = build_attlog(_records(80)).decode().split("\n")
    lines[40] = "1 2\t2026-03-02 08:00:00\t0\t15\t0\t\t"
    body = "\n".join(lines).encode()
    punches, rejected = zkteco.parse_attlog(body, "SN", "Asia/Shanghai")
    assert isinstance(punches, PunchColumns) and punches.pins[40] == "1 2"
    assert (punches, rejected) == _per_line(body, "Asia/Shanghai")


def test_two_short_lines_in_the_place_of_one_are_read_line_by_line() -> None:
    # a 4-field line and a "0\t0" line together have as many fields as one 7-field line
    lines = build_attlog(_records(80), field_count=7).decode().split("\n")
    lines[40:41] = [lines[40].rsplit("\t", 3)[0], "0\t0"]
    body = "\n".join(lines).encode()
    punches, rejected = zkteco.parse_attlog(body, "SN", "Asia/Shanghai")
    assert not isinstance(punches, PunchColumns)
    assert (punches, rejected) == _per_line(body, "Asia/Shanghai")
    assert [(r.line_no, r.reason.startswith("too few fields")) for r in rejected] == [(42, True)]
    assert len(punches) == 80 and punches[-1].line_no == 81


def test_a_batch_across_a_dst_switch_goes_line_by_line() -> None:
    recs = [AttlogRecord(str(i), datetime(2026, 10, 24 + i % 2, 12, 0), verify=15) for i in range(80)]
    body = build_attlog(recs)
    punches, _ = zkteco.parse_attlog(body, "SN", "Europe/Berlin")
    assert not isinstance(punches, PunchColumns)
    assert {p.local_time - p.utc_time for p in punches} == {timedelta(hours=2), timedelta(hours=1)}
    # the same zone away from a switch is one offset: columns
    summer, _ = zkteco.parse_attlog(build_attlog(_records(80)), "SN", "Europe/Berlin")
    assert isinstance(summer, PunchColumns) and summer.utc_offset == timedelta(hours=1)


def test_id_card_devices_are_read_line_by_line() -> None:
    body = build_attlog(_records(80), field_count=10)
    punches, _ = zkteco.parse_attlog(body, "SN", "Asia/Shanghai", device_type="pid")
    assert not isinstance(punches, PunchColumns)


_PINS = st.from_regex(r"[0-9AB]([0-9AB ]{0,6}[0-9AB])?", fullmatch=True)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.builds(
    AttlogRecord, pin=_PINS,
    local_time=st.datetimes(min_value=datetime(2026, 4, 1), max_value=datetime(2026, 4, 30)).map(
        lambda d: d.replace(microsecond=0)),
    status=st.integers(0, 5), verify=st.integers(0, 29), workcode=st.sampled_from(["", "0", "12"]),
), min_size=64, max_size=120), st.sampled_from(["\n", "\r\n"]), st.integers(4, 13), st.integers(0, 2),
    st.sampled_from(["Asia/Shanghai", "America/New_York", "+05:30"]),
    st.sampled_from([None, "status", "verify"]))
def test_both_parsers_agree_on_any_well_formed_batch(recs: list[AttlogRecord], eol: str, fields: int, tabs: int,
                                                     tz: str, odd: str | None) -> None:
    if odd is not None:  # one empty code (-1) or one code past the verify table sends it line by line
        recs[len(recs) // 2] = dataclasses.replace(recs[len(recs) // 2], **{odd: None if odd == "status" else 256})
    body = build_attlog(recs, line_ending=eol, field_count=fields, trailing_tabs=tabs)
    punches, rejected = zkteco.parse_attlog(body, "SN", tz)
    assert isinstance(punches, PunchColumns) is (odd is None)
    assert (punches, rejected) == _per_line(body, tz)


_NOISE = st.sampled_from(["\t", "\n", "\r", " ", "0", "9", "-", ":", "\x00", "x", "张", "", "\t0", "２"])


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.tuples(st.integers(0, 10**6), _NOISE), min_size=1, max_size=3))
def test_both_parsers_agree_on_a_corrupted_batch(seed: int, edits: list[tuple[int, str]]) -> None:
    text = build_attlog(_records(70, workcode="3"), field_count=random.Random(seed).randint(4, 9)).decode()
    for position, piece in edits:
        at = position % len(text)
        text = text[:at] + piece + text[at + 1:]
    body = text.encode()
    punches, rejected = zkteco.parse_attlog(body, "SN", "Asia/Shanghai")
    assert (punches, rejected) == _per_line(body, "Asia/Shanghai")


@settings(max_examples=150, deadline=None)
@given(st.integers(4, 9), st.lists(st.tuples(st.integers(1, 70), st.integers(1, 9)), max_size=3),
       st.sampled_from([0, 1]))
def test_both_parsers_agree_whatever_the_field_count_of_each_line(usual: int, odd: list[tuple[int, int]],
                                                                  pair: int) -> None:
    # lines of the usual width but a few; two short ones in a row may fill one usual line's place
    full = ["1000", "2026-03-02 08:00:00", "0", "15", "0", "", "0", "", ""]
    widths = [usual] * 72
    for at, width in odd:
        widths[at] = width
    if pair and usual > 5:
        widths[30:31] = [4, usual - 5]
    lines = [["0"] * w if w < 4 else full[:w] for w in widths]
    body = "\n".join("\t".join(f) for f in lines).encode()
    assert zkteco.parse_attlog(body, "SN", "Asia/Shanghai") == _per_line(body, "Asia/Shanghai")
