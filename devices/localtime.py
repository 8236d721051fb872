"""Device wall-clock time to UTC, fast enough for 10,000-line batches.

ZKTeco sends naive local times; the device's configured zone turns them into UTC. A zoneinfo lookup
per line costs more than parsing the line, so offsets are cached per (date, hour): within one hour the
offset is constant except on the rare hour that contains a DST switch, and those hours are not cached.
Times in a DST gap (nonexistent) or fold (ambiguous) follow PEP 495 with fold=0: a gap time takes the
offset in force before the switch, an ambiguous time its first occurrence; either way the punch keeps its
local time and is never dropped.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$")
_TIME_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?$")
_LAST_SECOND = timedelta(minutes=59, seconds=59)


@lru_cache(maxsize=256)
def zone(tz_name: str) -> tzinfo:
    """A tzinfo for an IANA name ("Asia/Shanghai") or a fixed offset ("+08:00", "UTC+8").

    Raises ValueError naming the zone when it is unknown, so a misconfigured device is reported clearly.
    """
    name = tz_name.strip()
    if name.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    m = _OFFSET_RE.match(name)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz_name!r}") from exc


def format_offset(offset: timedelta) -> str:
    """+08:00 style name for a fixed offset (used as tz_name when the wire gave an offset, not a zone)."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class LocalToUtc:
    """Callable converting naive local datetimes of one zone to naive UTC, with a per-hour offset cache."""

    __slots__ = ("tz", "_cache")

    def __init__(self, tz_name: str) -> None:
        self.tz = zone(tz_name)
        self._cache: dict[tuple[int, int, int, int], timedelta | None] = {}

    def hour_offset(self, local: datetime) -> timedelta | None:
        """The offset valid for the whole local hour of `local`, or None if a switch falls inside it."""
        key = (local.year, local.month, local.day, local.hour)
        if key in self._cache:
            return self._cache[key]
        start = local.replace(minute=0, second=0, microsecond=0)
        off = start.replace(tzinfo=self.tz).utcoffset()
        if off != (start + _LAST_SECOND).replace(tzinfo=self.tz).utcoffset():
            off = None
        self._cache[key] = off
        return off

    def exact_offset(self, local: datetime) -> timedelta:
        off = local.replace(tzinfo=self.tz).utcoffset()
        assert off is not None
        return off

    def offset(self, local: datetime) -> timedelta:
        off = self.hour_offset(local)
        return self.exact_offset(local) if off is None else off

    def __call__(self, local: datetime) -> datetime:
        return local - self.offset(local)


def parse_local_time(text: str) -> datetime | None:
    """`YYYY-MM-DD HH:MM:SS` (also `/` separators, missing seconds, unpadded parts); None if invalid."""
    if len(text) == 19:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = None
        if value is not None and value.tzinfo is None:
            return value
    return match_datetime(_TIME_RE, text.strip())


def match_datetime(pattern: re.Pattern[str], text: str) -> datetime | None:
    """A datetime from a regex whose groups are year, month, day, hour, minute[, second]; None when the
    text does not match or names an impossible date (2026-02-30)."""
    m = pattern.match(text)
    if m is None:
        return None
    try:
        return datetime(*(int(g) for g in m.groups(default="0")))
    except ValueError:
        return None
