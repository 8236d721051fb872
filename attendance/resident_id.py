"""Resident identity numbers (公民身份号码, GB 11643-1999).

A trainee's ID number is personal data: the service keeps a masked form for display and a keyed hash
for lookup, and never writes the clear number to logs. The check digit catches most typing errors
in rosters before they turn into a wrong payment.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class InvalidResidentId(ValueError):
    """The number is not a valid 18-digit GB 11643 identity number. The message never repeats it."""


def check_digit(first17: str) -> str:
    """The 18th character for the given first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize(raw: str) -> str:
    """Validate and return the canonical form (upper-case X); raise InvalidResidentId otherwise."""
    value = (raw or "").strip().upper().replace(" ", "")
    if not _SHAPE.match(value):
        raise InvalidResidentId("resident ID must be 17 digits followed by a digit or X")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidResidentId("resident ID has an impossible birth date") from None
    if check_digit(value[:17]) != value[17]:
        raise InvalidResidentId("resident ID check digit does not match (GB 11643)")
    return value


def is_valid(raw: str) -> bool:
    try:
        normalize(raw)
    except InvalidResidentId:
        return False
    return True


def mask(valid_id: str) -> str:
    """Display form: region and birth year stay visible, the rest is hidden (110105********123X -> 1101**********123X)."""
    return valid_id[:4] + "*" * 10 + valid_id[14:]


def keyed_hash(valid_id: str, key: bytes) -> str:
    """HMAC-SHA256 of the canonical number: equal IDs match, the number cannot be read back."""
    return hmac.new(key, valid_id.encode("ascii"), hashlib.sha256).hexdigest()


def birth_date(valid_id: str) -> date:
    return date(int(valid_id[6:10]), int(valid_id[10:12]), int(valid_id[12:14]))


def gender(valid_id: str) -> str:
    """'M' or 'F' from the 17th digit (odd is male)."""
    return "M" if int(valid_id[16]) % 2 else "F"


def make(region: str, born: date, sequence: int) -> str:
    """Build a valid number (for simulators and tests): 6-digit region, birth date, 3-digit sequence."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)
