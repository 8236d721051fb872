"""The column-wise ATTLOG parser for plain batches: whole-text operations instead of a loop per line.

A terminal's offline buffer replayed after a network outage arrives as thousands of lines of one
shape: the same number of TAB fields on every line, a canonical YYYY-MM-DD HH:MM:SS time, numeric
status and verify codes, nothing in the fields after the work code. Such a body is split once into one
flat list, its columns are the list's strides, and each rule the per-line parser applies to a line is
applied to a whole column by one C-level call (a regular expression over the joined column, a set of
its values, `map(int, ...)`). A body that breaks any of those rules anywhere, or that spans a change of
UTC offset, is left to the per-line parser (`parse_column_batch` returns None), which then quarantines
exactly the lines at fault; so both parsers accept the same bodies and build equal punches.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from operator import itemgetter

from devices.localtime import LocalToUtc
from devices.punch import Method, PunchColumns, PunchSource

# The fields of a joined column, one per line ("\n"-terminated). ASCII digits only: \d would accept
# other scripts' digits, which the per-line parser turns away as times.
_PLAIN_TIMES = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-5][0-9]:[0-5][0-9]\n)*")
_PLAIN_PINS = re.compile(r"(?:\S(?:[^\n]*\S)?\n)*")  # non-empty, nothing to strip
_EMPTY_TAIL = frozenset({"", "0"})
_HOUR = itemgetter(slice(0, 13))
_MARKERS = frozenset({"\n"})


def parse_column_batch(text: str, device_sn: str, tz_name: str, to_utc: LocalToUtc, methods: list[Method],
                       *, min_fields: int) -> PunchColumns | None:
    """The batch as columns when every line is plain, else None. `methods` maps verify codes 0..255."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    if text.endswith("\n"):
        text = text[:-1]
    if not text:
        return None
    # one split for lines and fields alike: each line's end becomes a field of its own ("\n"), so the
    # lines all have `width` fields exactly when every (width + 1)-th field is such a marker and there
    # are no others (two short lines could otherwise fill one line's place between two markers)
    n_lines = text.count("\n") + 1
    flat = text.replace("\n", "\t\n\t").split("\t")
    width = flat.index("\n") if n_lines > 1 else len(flat)
    stride = width + 1
    if width < min_fields or len(flat) != n_lines * stride - 1 or not _MARKERS.issuperset(flat[width::stride]):
        return None
    pins, times = flat[0::stride], flat[1::stride]
    if not _PLAIN_PINS.fullmatch("\n".join(pins) + "\n") or not _PLAIN_TIMES.fullmatch("\n".join(times) + "\n"):
        return None
    if any(not _EMPTY_TAIL.issuperset(flat[k::stride]) for k in range(5, width)):
        return None
    status_text, verify_text = flat[2::stride], flat[3::stride]
    # a batch holds a handful of distinct codes: convert each once, then look every line's up
    status_of, verify_of = _codes(status_text), _codes(verify_text)
    if status_of is None or verify_of is None or not all(0 <= v < len(methods) for v in verify_of.values()):
        return None
    offset = _single_offset(set(map(_HOUR, times)), to_utc)
    if offset is None:
        return None
    work_codes = [w or None for w in flat[4::stride]] if width > 4 else [None] * n_lines
    verify = list(map(verify_of.__getitem__, verify_text))
    return PunchColumns(
        source=PunchSource.ZKTECO, device_sn=device_sn, tz_name=tz_name, utc_offset=offset, pins=pins,
        wire_times=times, methods=list(map(methods.__getitem__, verify)), verify_codes=verify,
        status_codes=list(map(status_of.__getitem__, status_text)), work_codes=work_codes,
        line_nos=range(1, n_lines + 1),
    )


def _codes(column: list[str]) -> dict[str, int] | None:
    """Each distinct text of a code column and its value; None when one is empty or not a number."""
    try:
        return {text: int(text) for text in set(column)}  # int() takes surrounding blanks, as per line
    except ValueError:
        return None


def _single_offset(hours: set[str], to_utc: LocalToUtc) -> timedelta | None:
    """The one UTC offset of every hour the batch touches; None for an invalid date or hour, an hour
    containing a DST switch, or a batch spanning two offsets."""
    offsets = set()
    for hour in hours:
        try:
            start = datetime.fromisoformat(hour + ":00:00")
        except ValueError:
            return None
        offsets.add(to_utc.hour_offset(start))
        if len(offsets) > 1:
            return None
    offset = offsets.pop()
    return offset if offset is not None and not offset.microseconds else None
