"""Arbitrary bytes into every adapter: a terminal's garbage must never crash ingest. Line parsers account
for every non-blank line (a punch or a rejected line); whole-body parsers fail only with ProtocolError."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from devices import hikvision, sheets, zkteco
from devices.encoding import decode_text
from devices.errors import ProtocolError

# bytes biased towards the protocol's own separators so lines look almost right
_PIECES = st.sampled_from([b"\t", b"\n", b"\r\n", b"=", b"&", b",", b"1001", b"2026-03-02 08:00:00", b"15", b"0",
                           b"OPLOG ", b"USER PIN=", b"ID=", b"Return=", b"CMD=uploadphoto\0", b"\xff\xd8\xff",
                           "张伟".encode("gb18030"), b"\x00", b"\x80", b"--b", b"{", b"}", b'"dateTime"', b" "])
NEARLY = st.lists(st.one_of(_PIECES, st.binary(max_size=6)), max_size=40).map(b"".join)


def _nonblank_lines(body: bytes) -> set[int]:
    return {i for i, line in enumerate(decode_text(body).split("\n"), 1) if line.strip(" \t\r\x00")}


@settings(max_examples=150, deadline=None)
@given(NEARLY)
def test_attlog_accounts_for_every_line(body: bytes) -> None:
    punches, rejected = zkteco.parse_attlog(body, "SN", "Asia/Shanghai")
    seen = [p.line_no for p in punches] + [r.line_no for r in rejected]
    assert len(seen) == len(set(seen))
    assert set(seen) == _nonblank_lines(body)
    for p in punches:
        assert p.utc_time == p.local_time - timedelta(hours=8) or "time_offset" in p.extra


@settings(max_examples=100, deadline=None)
@given(NEARLY)
def test_line_parsers_never_raise(body: bytes) -> None:
    zkteco.parse_rtlog(body, "SN", "Asia/Shanghai")
    entries, rejected = zkteco.parse_operlog_full(body)
    assert {e.line_no for e in entries} | {r.line_no for r in rejected} == _nonblank_lines(body)
    zkteco.parse_options(body)
    zkteco.parse_info(decode_text(body))


@settings(max_examples=100, deadline=None)
@given(NEARLY, st.sampled_from(["application/json", "multipart/form-data; boundary=b", "multipart/mixed"]))
@example(b"\xfe\xff\t", "application/json")  # a UTF-16 mark and an odd byte count (once a UnicodeDecodeError)
def test_body_parsers_fail_only_with_protocol_error(body: bytes, ctype: str) -> None:
    for call in (lambda: zkteco.parse_attphoto(body), lambda: zkteco.parse_devicecmd(body),
                 lambda: hikvision.parse_event(body, ctype, "HINT"),
                 lambda: sheets.parse_sheet(body, "x.csv", "SN", "Asia/Shanghai")):
        try:
            call()
        except ProtocolError:
            pass


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789AB", min_size=1, max_size=9),
       st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 1, 1)).map(lambda d: d.replace(microsecond=0)),
       st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q))),
       st.sampled_from([1, 38, 39, 75, 76, 77, 181]), st.integers(0, 2**31), st.booleans())
def test_hikvision_round_trip(pin: str, when: datetime, tz: timezone, minor: int, serial: int, multipart: bool) -> None:
    aware = when.replace(tzinfo=tz)
    body = hikvision.build_event_json(pin=pin, when=aware, minor=minor, serial_no=serial)
    ctype = "application/json"
    if multipart:
        body, ctype = hikvision.build_multipart(body, b"\xff\xd8\xff\xe0" + bytes(200) + b"\xff\xd9")
    ev = hikvision.parse_event(body, ctype)
    assert ev.punch is not None and ev.punch.pin == pin and ev.serial_no == serial
    assert ev.punch.local_time == when
    assert ev.punch.utc_time == aware.astimezone(timezone.utc).replace(tzinfo=None)
    assert ev.punch.success is (minor not in (39, 76))


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-02 08:00:00", datetime(2026, 3, 2, 8)), ("2026/3/2 8:00", datetime(2026, 3, 2, 8)),
    ("2026-03-02T08:00:05", datetime(2026, 3, 2, 8, 0, 5)), ("2026-02-30 08:00:00", None),
    ("0000-00-00 00:00:00", None), ("2026-03-02 08:00:00+08", None), ("", None)])
def test_parse_local_time(text: str, expected: datetime | None) -> None:
    assert zkteco.parse_local_time(text) == expected
