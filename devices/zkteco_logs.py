"""ZKTeco OPERLOG (operation log, users, templates) and ATTPHOTO (attendance photo) uploads.

OPERLOG is where a terminal admits that someone set its clock, wiped its records or reset it: those
operations are flagged so the audit can distrust the device's punches around them. ATTPHOTO carries the
JPEG taken at a punch, the natural evidence for the video-review step; it is binary, so it is parsed
on bytes and never decoded as text.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime

from devices.encoding import BLANK, decode_text
from devices.errors import ProtocolError
from devices.localtime import parse_local_time
from devices.punch import RejectedLine

# Spec digest appendix 3 (excerpt in terminals.md §1.5).
OP_NAMES: dict[int, str] = {
    0: "power on", 1: "power off", 2: "verification failed", 3: "alarm", 4: "enter menu",
    5: "change setting", 6: "enroll fingerprint", 9: "delete user", 13: "clear data", 21: "set time",
    22: "factory reset", 23: "delete attendance records", 30: "enroll new user",
    35: "delete attendance photos", 68: "enroll user photo", 101: "enroll face", 106: "delete face",
}
CLOCK_OPS = frozenset({21})  # the device clock was set: punch times around it are suspect
# Records or the device were wiped. 13 (clear data) is not in the doc's list of four but erases the
# same records as 23, so it is flagged too.
TAMPER_OPS = frozenset({13, 22, 23, 35})

KINDS = ("OPLOG", "USER", "FP", "FACE", "FVEIN", "BIODATA", "USERPIC", "BIOPHOTO", "IDCARD", "ERRORLOG")
_OPLOG_FIELDS = ("operator", "op_time", "op_who", "value1", "value2", "value3")


@dataclass(frozen=True, slots=True)
class OperLogEntry:
    """One OPERLOG line. `fields` holds the key=value pairs (USER, FP, ...) or named OPLOG columns."""

    kind: str
    op_code: int | None
    event_time: datetime | None
    flag: str | None  # "clock", "tamper" or None
    text: str
    line_no: int
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def pin(self) -> str | None:
        return self.fields.get("PIN") or self.fields.get("Pin") or self.fields.get("pin")


def _flag(op_code: int) -> str | None:
    if op_code in CLOCK_OPS:
        return "clock"
    if op_code in TAMPER_OPS:
        return "tamper"
    return None


def _parse_line(line: str, line_no: int) -> OperLogEntry | RejectedLine:
    kind, _, rest = line.partition(" ")
    kind_u = kind.strip().upper()
    if kind_u not in KINDS:
        return RejectedLine(line_no, line, f"unknown record kind {kind!r} (expected one of {', '.join(KINDS)})")
    if kind_u == "OPLOG":
        cols = rest.split("\t")
        try:
            op_code = int(cols[0])
        except ValueError:
            return RejectedLine(line_no, line, f"non-numeric OPLOG operation code {cols[0]!r}")
        if len(cols) < 3:
            return RejectedLine(line_no, line, f"too few OPLOG fields ({len(cols)}; need code, operator, time)")
        when = parse_local_time(cols[2])
        if when is None:
            return RejectedLine(line_no, line, f"bad OPLOG time {cols[2]!r}")
        named = {k: v for k, v in zip(_OPLOG_FIELDS, cols[1:]) if v}
        return OperLogEntry("OPLOG", op_code, when, _flag(op_code), line, line_no, named)
    pairs: dict[str, str] = {}
    for item in rest.split("\t"):
        key, sep, value = item.partition("=")
        if sep:
            pairs[key.strip()] = value
    if not pairs:
        return RejectedLine(line_no, line, f"{kind_u} line has no key=value fields")
    return OperLogEntry(kind_u, None, None, None, line, line_no, pairs)


def parse_operlog_full(body: bytes) -> tuple[list[OperLogEntry], list[RejectedLine]]:
    """Parse a `table=OPERLOG` body into entries and rejected lines.

    Each line is decoded on its own (UTF-8 if valid, else GB18030): a body that mixes a GB2312 user name
    with UTF-8 lines keeps both readable. Splitting bytes on LF is safe for both encodings.
    """
    entries: list[OperLogEntry] = []
    rejected: list[RejectedLine] = []
    for line_no, raw in enumerate(body.split(b"\n"), 1):
        line = decode_text(raw).rstrip("\r")
        if not line.strip(BLANK):
            continue
        parsed = _parse_line(line, line_no)
        (entries if isinstance(parsed, OperLogEntry) else rejected).append(parsed)  # type: ignore[arg-type]
    return entries, rejected


def parse_operlog(body: bytes) -> list[OperLogEntry]:
    """The well-formed entries of an OPERLOG body; use `parse_operlog_full` to get rejected lines too."""
    return parse_operlog_full(body)[0]


# ---------------------------------------------------------------- ATTPHOTO

_PHOTO_MARKERS = (b"CMD=uploadphoto", b"CMD=realupload")
_JPEG_SOI = b"\xff\xd8\xff"
_STAMP_RE = re.compile(r"^\d{14}$")


@dataclass(frozen=True, slots=True)
class AttPhoto:
    """An attendance photo. `pin`/`local_time` come from the file name (`20230103120000-1234.jpg`)."""

    pin: str | None
    local_time: datetime | None
    file_name: str
    size: int
    image: bytes
    sn: str | None = None
    photo_type: int | None = None  # ID-card (人证) devices: 0 success, 1 failure, 2 blacklist, 3/4 ID check


def _name_parts(file_name: str) -> tuple[str | None, datetime | None, int | None]:
    """(pin, local time, photo type) from `time-pin.jpg` or the ID-card form `time-type-pin-idnum.jpg`.

    The ID number of the ID-card form is deliberately dropped: resident IDs are never kept in clear.
    """
    stem = file_name.rsplit(".", 1)[0] if file_name.lower().endswith((".jpg", ".jpeg")) else file_name
    parts = stem.split("-")
    if len(parts) < 2 or not _STAMP_RE.match(parts[0]):
        return (stem or None), None, None
    s = parts[0]
    try:
        when: datetime | None = datetime(int(s[:4]), int(s[4:6]), int(s[6:8]), int(s[8:10]), int(s[10:12]),
                                         int(s[12:14]))
    except ValueError:
        when = None
    if len(parts) == 2:
        return parts[1] or None, when, None
    photo_type = int(parts[1]) if parts[1].isdigit() else None
    return parts[2] or None, when, photo_type


def _headers(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.decode("utf-8", errors="replace").replace("\r", "").split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def parse_attphoto(body: bytes) -> AttPhoto:
    """Parse a `table=ATTPHOTO` body: key=value header lines, `CMD=uploadphoto\\0`, then the JPEG.

    Also accepts `CMD=realupload` and a base64 `picture=` field (both seen in implementations). Raises
    ProtocolError when there is no marker, no JPEG after it, or fewer image bytes than `size` says.
    """
    idx, marker = -1, b""
    for candidate in _PHOTO_MARKERS:
        idx = body.find(candidate)
        if idx >= 0:
            marker = candidate
            break
    if idx >= 0:
        head = _headers(body[:idx])
        image = body[idx + len(marker):]
        soi = image.find(_JPEG_SOI, 0, 8)  # after "\0" (or a stray CR/LF) comes the JPEG
        if soi < 0:
            raise ProtocolError(f"no JPEG data (FF D8 FF) right after {marker.decode()}; "
                                f"found {image[:8].hex(' ') or 'nothing'}")
        image = image[soi:]
    else:
        head = _headers(body[:4096] if b"picture=" not in body else body)
        if "picture" not in head:
            raise ProtocolError("not an ATTPHOTO body: no CMD=uploadphoto marker and no picture= field")
        try:
            image = base64.b64decode(head.pop("picture"), validate=False)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError(f"picture= field is not base64: {exc}") from exc
        if not image.startswith(_JPEG_SOI):
            raise ProtocolError("picture= field does not decode to a JPEG")
    file_name = head.get("pin", "")
    if not file_name:
        raise ProtocolError("ATTPHOTO header has no PIN= (photo file name)")
    size = len(image)
    if "size" in head:
        try:
            size = int(head["size"])
        except ValueError as exc:
            raise ProtocolError(f"ATTPHOTO size= is not a number: {head['size']!r}") from exc
        if len(image) < size:
            raise ProtocolError(f"ATTPHOTO truncated: size={size} but {len(image)} image bytes received")
        image = image[:size]
    pin, when, photo_type = _name_parts(file_name)
    return AttPhoto(pin, when, file_name, size, image, head.get("sn") or None, photo_type)
