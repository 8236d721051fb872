"""The one record every terminal format is turned into.

Adapters keep what the wire said (raw verify code, raw status, device-local time) next to the
normalized fields, because the bureau may later ask what exactly a terminal sent.
"""
from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class Method(enum.IntEnum):
    """How a trainee proved identity at the terminal. Only FACE and FINGERPRINT are biometric."""

    UNKNOWN = 0
    FINGERPRINT = 1
    FACE = 2
    CARD = 3
    PASSWORD = 4
    PALM = 5
    FINGER_VEIN = 6
    OTHER = 7

    @property
    def biometric(self) -> bool:
        return self in (Method.FINGERPRINT, Method.FACE, Method.PALM, Method.FINGER_VEIN)


class PunchSource(str, enum.Enum):
    ZKTECO = "zkteco"
    HIKVISION = "hikvision"
    SHEET = "sheet"


@dataclass(slots=True)
class Punch:
    """One punch-in as a terminal reported it. Treat it as immutable.

    Not declared frozen on purpose: a frozen dataclass sets each field through object.__setattr__,
    which made construction 7x slower (1.0 vs 0.14 us), and a 10,000-line ATTLOG batch builds 10,000.

    `local_time` is naive wall-clock time on the device (ZKTeco sends no zone); `utc_time` is naive UTC
    derived from the device's zone (or from the offset Hikvision sends). `source_key` is what makes a
    resend recognisable: for ZKTeco (pin, local time, verify, status), for Hikvision the serialNo.
    """

    source: PunchSource
    device_sn: str
    pin: str
    local_time: datetime
    utc_time: datetime
    tz_name: str
    method: Method
    verify_code: int | None = None  # raw vendor code, as sent
    status_code: int | None = None  # raw ZKTeco state key / Hikvision attendanceStatus mapped to int
    success: bool = True  # False: a failed attempt (Hikvision 76/39), kept but never presence
    serial_no: int | None = None  # Hikvision serialNo
    work_code: str | None = None
    line_no: int | None = None  # 1-based line (or row) in the payload it came from
    extra: dict[str, str] = field(default_factory=dict)
    # `local_time` as the wire wrote it when that is exactly YYYY-MM-DD HH:MM:SS (whole seconds): a
    # writer can store this text as it is instead of formatting 10,000 datetimes a batch
    wire_time: str | None = None


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A line of a payload that could not become a punch; it goes to quarantine with its reason."""

    line_no: int
    text: str
    reason: str


class PunchColumns(Sequence[Punch]):
    """Punches of one device and one batch held as columns: what a 10,000-line ATTLOG upload becomes.

    Building 10,000 Punch objects and reading their fields back for the insert cost as much as parsing
    the text; a batch whose lines all have the plain shape (see `devices.attlog_columns`) is kept as
    the lists the text split into, and the writer binds those lists directly. It is still a sequence of
    Punch, built on first access by position or iteration, equal to what the per-line parser returns.
    Every punch shares the source, zone, UTC offset and outcome (success, no serialNo, no extras).
    """

    __slots__ = ("source", "device_sn", "tz_name", "utc_offset", "pins", "wire_times", "methods",
                 "verify_codes", "status_codes", "work_codes", "line_nos", "_rows")

    def __init__(self, *, source: PunchSource, device_sn: str, tz_name: str, utc_offset: timedelta,
                 pins: list[str], wire_times: list[str], methods: list[Method], verify_codes: list[int],
                 status_codes: list[int], work_codes: list[str | None], line_nos: Sequence[int]) -> None:
        n = len(pins)
        if not all(len(c) == n for c in (wire_times, methods, verify_codes, status_codes, work_codes, line_nos)):
            raise ValueError("punch columns differ in length")
        self.source, self.device_sn, self.tz_name, self.utc_offset = source, device_sn, tz_name, utc_offset
        self.pins, self.wire_times, self.methods = pins, wire_times, methods
        self.verify_codes, self.status_codes, self.work_codes, self.line_nos = verify_codes, status_codes, work_codes, line_nos
        self._rows: list[Punch] | None = None

    def utc_range(self) -> tuple[datetime, datetime]:
        """First and last UTC time: wire times are in YYYY-MM-DD HH:MM:SS, so text order is time order."""
        parse = datetime.fromisoformat
        return parse(min(self.wire_times)) - self.utc_offset, parse(max(self.wire_times)) - self.utc_offset

    def _materialize(self) -> list[Punch]:
        if self._rows is None:
            parse, off = datetime.fromisoformat, self.utc_offset
            self._rows = [
                Punch(self.source, self.device_sn, pin, local, local - off, self.tz_name, method, verify, status,
                      True, None, work, line_no, {}, wire)
                for pin, wire, local, method, verify, status, work, line_no in zip(
                    self.pins, self.wire_times, map(parse, self.wire_times), self.methods, self.verify_codes,
                    self.status_codes, self.work_codes, self.line_nos)
            ]
        return self._rows

    def __len__(self) -> int:
        return len(self.pins)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return self._materialize()[index]

    def __iter__(self) -> Iterator[Punch]:
        return iter(self._materialize())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PunchColumns):
            other = other._materialize()
        return isinstance(other, list) and self._materialize() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<PunchColumns {self.device_sn} {len(self)} punches>"


def utc_range(punches: Sequence[Punch]) -> tuple[datetime, datetime]:
    """First and last UTC time of a non-empty batch, without building a columnar batch's rows."""
    if isinstance(punches, PunchColumns):
        return punches.utc_range()
    return min(p.utc_time for p in punches), max(p.utc_time for p in punches)
