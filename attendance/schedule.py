"""A class's schedule: its training days, the sessions of each day, the site and its time zone.

Everything the matcher compares is in the site's local wall-clock minutes ("local minutes": minutes
since 1970-01-01 00:00 local time), so a 00:10 session and a 23:50 punch compare by plain integer
subtraction and daylight-saving zones need no special case inside the matcher.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

EPOCH = date(1970, 1, 1)
DAY_MINUTES = 1440


class ScheduleError(ValueError):
    """The schedule is not usable (no sessions, a malformed time, overlapping windows...)."""


def day_number(d: date) -> int:
    """Days since 1970-01-01: the integer the matcher uses for a date."""
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def parse_hhmm(text: str | time) -> int:
    """'08:30' -> 510 (minute of the day)."""
    if isinstance(text, time):
        return text.hour * 60 + text.minute
    try:
        hh, mm = str(text).strip().split(":")[:2]
        h, m = int(hh), int(mm)
    except ValueError:
        raise ScheduleError(f"not a time of day (HH:MM): {text!r}") from None
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > DAY_MINUTES:
        raise ScheduleError(f"not a time of day (HH:MM): {text!r}")
    return h * 60 + m


def fmt_hhmm(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class Session:
    """One teaching session of a day. `end` may be earlier than `start` for a session that runs
    past midnight; it then ends on the next calendar day."""

    start: int  # minute of the day, 0..1439
    end: int

    @classmethod
    def parse(cls, text: str) -> Session:
        """'08:30-11:30' -> Session(510, 690)."""
        try:
            a, b = str(text).split("-")
        except ValueError:
            raise ScheduleError(f"a session is written START-END, e.g. 08:30-11:30: {text!r}") from None
        return cls(parse_hhmm(a) % DAY_MINUTES, parse_hhmm(b))

    @property
    def end_offset(self) -> int:
        """End in minutes from the session day's midnight (beyond 1440 when it runs past midnight)."""
        return self.end if self.end > self.start else self.end + DAY_MINUTES

    def label(self) -> str:
        return f"{fmt_hhmm(self.start)}-{fmt_hhmm(self.end)}"


@dataclass(frozen=True)
class Schedule:
    """Training days (sorted, unique) and the sessions every training day has."""

    days: tuple[date, ...]
    sessions: tuple[Session, ...]
    site: str | None = None
    timezone: str = "Asia/Shanghai"
    rest_days: tuple[date, ...] = field(default=(), compare=False)
    holidays: tuple[date, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.sessions:
            raise ScheduleError("a schedule needs at least one session a day")
        if list(self.days) != sorted(set(self.days)):
            raise ScheduleError("training days must be sorted and unique")
        starts = [s.start for s in self.sessions]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ScheduleError("sessions must be listed in order of their start time")
        for a, b in zip(self.sessions, self.sessions[1:]):
            if a.end_offset > b.start:
                raise ScheduleError(f"sessions {a.label()} and {b.label()} overlap")
        try:
            ZoneInfo(self.timezone)
        except Exception:
            raise ScheduleError(f"unknown time zone {self.timezone!r}") from None

    @classmethod
    def from_range(
        cls,
        first: date,
        last: date,
        sessions: Sequence[Session | str],
        *,
        rest_weekdays: Iterable[int] = (),
        rest_days: Iterable[date] = (),
        holidays: Iterable[date] = (),
        site: str | None = None,
        timezone: str = "Asia/Shanghai",
    ) -> Schedule:
        """Every day from `first` to `last` except rest weekdays (ISO 1=Monday .. 7=Sunday), declared
        rest days and public holidays. Rest days and holidays outside the range are ignored."""
        if last < first:
            raise ScheduleError("the last training day is before the first")
        skip = set(rest_days) | set(holidays)
        weekdays = {int(w) for w in rest_weekdays}
        days = tuple(
            d for d in (first + timedelta(days=i) for i in range((last - first).days + 1))
            if d not in skip and d.isoweekday() not in weekdays
        )
        return cls(days, _sessions(sessions), site, timezone, tuple(sorted(rest_days)), tuple(sorted(holidays)))

    @classmethod
    def from_days(cls, days: Iterable[date], sessions: Sequence[Session | str], *, site: str | None = None,
                  timezone: str = "Asia/Shanghai") -> Schedule:
        return cls(tuple(sorted(set(days))), _sessions(sessions), site, timezone)

    # ---- arrays for the matcher ----
    def day_numbers(self) -> np.ndarray:
        """Training days as int32 days since 1970-01-01."""
        return np.fromiter((day_number(d) for d in self.days), dtype=np.int32, count=len(self.days))

    def session_offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) in minutes from a training day's local midnight, int32; ends may pass 1440."""
        starts = np.array([s.start for s in self.sessions], dtype=np.int32)
        ends = np.array([s.end_offset for s in self.sessions], dtype=np.int32)
        return starts, ends

    def session_minutes(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) as local minutes, shape (days, sessions), int64."""
        base = self.day_numbers().astype(np.int64)[:, None] * DAY_MINUTES
        starts, ends = self.session_offsets()
        return base + starts[None, :], base + ends[None, :]

    def local_minute(self, when: datetime) -> int:
        """A moment (aware, or naive UTC) as this site's local minute."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        local = when.astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)
        return int((local - datetime(1970, 1, 1)).total_seconds() // 60)

    def to_json(self) -> dict:
        return {
            "days": [d.isoformat() for d in self.days],
            "sessions": [s.label() for s in self.sessions],
            "site": self.site,
            "timezone": self.timezone,
            "rest_days": [d.isoformat() for d in self.rest_days],
            "holidays": [d.isoformat() for d in self.holidays],
        }

    @classmethod
    def from_json(cls, data: dict) -> Schedule:
        return cls(
            tuple(date.fromisoformat(d) for d in data["days"]),
            _sessions(data["sessions"]),
            data.get("site"),
            data.get("timezone", "Asia/Shanghai"),
            tuple(date.fromisoformat(d) for d in data.get("rest_days", [])),
            tuple(date.fromisoformat(d) for d in data.get("holidays", [])),
        )


def _sessions(items: Sequence[Session | str]) -> tuple[Session, ...]:
    return tuple(s if isinstance(s, Session) else Session.parse(s) for s in items)


def local_minutes(utc_minutes: np.ndarray, tz: str) -> np.ndarray:
    """UTC minutes since the epoch -> the zone's local minutes (int32), vectorised.

    The zone offset is looked up once per distinct UTC hour present (offsets change on hour
    boundaries in every zone the service meets), not once per punch.
    """
    utc = np.asarray(utc_minutes, dtype=np.int64)
    if utc.size == 0:
        return utc.astype(np.int32)
    zone = ZoneInfo(tz)
    hours, inverse = np.unique(utc // 60, return_inverse=True)
    offsets = np.fromiter((_offset_minutes(zone, int(h)) for h in hours), dtype=np.int64, count=hours.size)
    return np.clip(utc + offsets[inverse], -(2**31), 2**31 - 1).astype(np.int32)  # absurd clock-fault years saturate


def _offset_minutes(zone: ZoneInfo, utc_hour: int) -> int:
    moment = datetime.fromtimestamp(utc_hour * 3600, timezone.utc).astimezone(zone)
    offset = moment.utcoffset() or timedelta(0)
    return int(offset // timedelta(minutes=1))
