"""The one record every terminal format is turned into.

Adapters keep what the wire said (raw verify code, raw status, device-local time) next to the
normalized fields, because the bureau may later ask what exactly a terminal sent.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


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
