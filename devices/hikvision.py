"""Hikvision ISAPI `AccessControllerEvent` push (HTTP listening), server side, plus client builders.

Unlike ZKTeco, Hikvision sends `dateTime` with an offset, so UTC is exact. The punch method is read
from `subEventType` (what the reader actually matched), never from `currentVerifyMode` (what it was
configured to accept). Failed face/fingerprint attempts are kept as punches with success=False: they are
evidence of who tried, never presence. `serialNo` is the per-device event sequence used for gap
detection, not the device's serial number.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from devices.errors import ProtocolError
from devices.localtime import format_offset, zone
from devices.punch import Method, Punch, PunchSource

MAJOR_EVENT = 5
# minor (subEventType) -> (method, success); docs/terminals.md §3.2.
MINOR_PUNCH: dict[int, tuple[Method, bool]] = {
    1: (Method.CARD, True),  # MINOR_LEGAL_CARD_PASS
    38: (Method.FINGERPRINT, True),  # MINOR_FINGERPRINT_COMPARE_PASS
    39: (Method.FINGERPRINT, False),  # MINOR_FINGERPRINT_COMPARE_FAIL
    75: (Method.FACE, True),  # MINOR_FACE_VERIFY_PASS
    76: (Method.FACE, False),  # MINOR_FACE_VERIFY_FAIL
    77: (Method.FACE, True),  # MINOR_EMPLOYEENO_AND_FACE_VERIFY_PASS
    181: (Method.PASSWORD, True),  # MINOR_PASSWD_VERIFY_PASS
}
ATTENDANCE_STATUS: dict[str, int] = {  # same numbering as the ZKTeco state key
    "checkIn": 0, "checkOut": 1, "breakOut": 2, "breakIn": 3, "overtimeIn": 4, "overtimeOut": 5,
}
_JSON_PART_NAMES = ("event_log", "accesscontrollerevent", "eventlog", "json")
_BOUNDARY_RE = re.compile(r'boundary\s*=\s*"?([^";,]+)"?', re.I)
_DEVICE_ID_KEYS = ("deviceID", "deviceId", "devSerialNo", "serialNumber", "deviceSerialNo")


@dataclass(frozen=True, slots=True)
class HikEvent:
    """One pushed event. `punch` is set for person-verification events (major 5 with a known minor)."""

    device_sn: str
    event_type: str
    major: int | None
    minor: int | None
    serial_no: int | None
    date_time: datetime  # aware
    punch: Punch | None
    picture: bytes | None
    raw: dict[str, Any]
    mac_address: str | None = None
    ip_address: str | None = None
    front_serial_no: int | None = None
    current_event: bool | None = None  # False: replayed from the offline buffer (inferred, doc §3.2)
    note: str | None = None  # why a verification event gave no punch (e.g. no employee number)
    extra: dict[str, str] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _parse_datetime(text: Any, tz_name: str | None) -> tuple[datetime, str]:
    """Aware datetime and the tz name for the punch: the offset sent ("+08:00"), else the device zone."""
    if not isinstance(text, str) or not text:
        raise ProtocolError("event has no dateTime")
    raw = text.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ProtocolError(f"dateTime {text!r} is not ISO-8601") from exc
    if value.tzinfo is None:
        if tz_name is None:
            raise ProtocolError(f"dateTime {text!r} has no offset and no device time zone was given")
        try:
            tz = zone(tz_name)
        except ValueError as exc:
            raise ProtocolError(str(exc)) from exc
        return value.replace(tzinfo=tz), tz_name
    offset = value.utcoffset()
    assert offset is not None
    return value, format_offset(offset)


# ---------------------------------------------------------------- multipart

def _boundary(content_type: str, body: bytes) -> bytes | None:
    """Boundary from the content type, or sniffed from the body when the header's does not occur in it
    (some firmware declares one boundary and uses another)."""
    m = _BOUNDARY_RE.search(content_type)
    if m:
        declared = m.group(1).strip().encode("latin-1")
        if b"--" + declared in body:
            return declared
    start = body.lstrip(b"\r\n")
    if start.startswith(b"--"):
        line = start.split(b"\n", 1)[0].rstrip(b"\r")
        if len(line) > 2:
            return line[2:]
    return None


def split_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart body into (headers with lower-case names, payload) parts, tolerantly.

    Accepts CRLF or LF framing, a missing closing boundary, and a body cut off mid-part (the last part
    is returned as far as it goes; a JSON part before it survives). Binary payloads are never decoded.
    """
    boundary = _boundary(content_type, body)
    if boundary is None:
        raise ProtocolError(f"multipart body without a usable boundary (content type {content_type!r})")
    delim = b"--" + boundary
    chunks = body.split(delim)
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):  # closing delimiter
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk[1:] if chunk.startswith(b"\n") else chunk
        sep = chunk.find(b"\r\n\r\n")
        sep_len = 4
        lf = chunk.find(b"\n\n")
        if lf >= 0 and (sep < 0 or lf < sep):
            sep, sep_len = lf, 2
        if sep < 0:
            continue
        headers: dict[str, str] = {}
        for line in chunk[:sep].decode("latin-1").replace("\r", "").split("\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        payload = chunk[sep + sep_len:]
        if payload.endswith(b"\r\n"):
            payload = payload[:-2]
        elif payload.endswith(b"\n"):
            payload = payload[:-1]
        parts.append((headers, payload))
    return parts


def _part_name(headers: dict[str, str]) -> str:
    m = re.search(r'\bname\s*=\s*"?([^";]+)"?', headers.get("content-disposition", ""), re.I)
    return m.group(1).strip() if m else ""


def _json_and_picture(body: bytes, content_type: str) -> tuple[bytes, bytes | None]:
    ctype = content_type.lower()
    stripped = body.lstrip()
    if "multipart" not in ctype and not stripped.startswith(b"--"):
        return body, None
    json_part: bytes | None = None
    picture: bytes | None = None
    for headers, payload in split_multipart(body, content_type):
        name = _part_name(headers).lower()
        ptype = headers.get("content-type", "").lower()
        is_json = "json" in ptype or name in _JSON_PART_NAMES or payload.lstrip().startswith(b"{")
        if json_part is None and is_json and "image" not in ptype:
            json_part = payload
        elif picture is None and (name == "picture" or "image" in ptype or payload.startswith(b"\xff\xd8\xff")):
            picture = payload
    if json_part is None:
        raise ProtocolError("multipart event has no JSON part (expected name event_log or AccessControllerEvent)")
    return json_part, picture


# ---------------------------------------------------------------- events

def parse_event(body: bytes, content_type: str, device_sn_hint: str | None = None, *,
                tz_name: str | None = None) -> HikEvent:
    """Parse one pushed event: bare JSON, or multipart with a JSON part and an optional `Picture` JPEG.

    The device is identified by a serial field in the JSON if the firmware sends one, else by
    `macAddress`, else by `device_sn_hint` (e.g. from the push URL). `tz_name` is used only when
    `dateTime` carries no offset. Raises ProtocolError for bodies that are not a usable event.
    """
    json_bytes, picture = _json_and_picture(body, content_type or "")
    if json_bytes.lstrip().startswith(b"<"):
        raise ProtocolError("XML EventNotificationAlert is not supported: set the HTTP host's "
                            "parameterFormatType to JSON")
    try:
        doc = json.loads(json_bytes.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"event JSON is malformed: {exc}") from exc
    if not isinstance(doc, dict):
        raise ProtocolError("event JSON is not an object")
    ace = doc.get("AccessControllerEvent")
    if ace is not None and not isinstance(ace, dict):
        raise ProtocolError("AccessControllerEvent is not an object")
    ace = ace or {}
    mac = doc.get("macAddress") or None
    device_sn = next((str(doc[k]) for k in _DEVICE_ID_KEYS if doc.get(k)), None)
    device_sn = device_sn or (str(mac).lower() if mac else None) or device_sn_hint
    if not device_sn:
        raise ProtocolError("event names no device (no deviceID/macAddress) and no device hint was given")
    when, tz_used = _parse_datetime(doc.get("dateTime") or doc.get("time"), tz_name)
    major = _int(ace.get("majorEventType", ace.get("major")))
    minor = _int(ace.get("subEventType", ace.get("minor")))
    serial_no = _int(ace.get("serialNo"))
    current = ace.get("currentEvent")
    flags: dict[str, str] = {}
    # A complete JPEG ends with EOI (FF D9), give or take padding; a body cut mid-image loses it. The
    # JSON still counts, the broken picture is dropped and flagged.
    if picture is not None and b"\xff\xd9" not in picture[-64:]:
        picture, flags["picture_truncated"] = None, "1"
    event = HikEvent(
        device_sn=device_sn, event_type=str(doc.get("eventType") or ("AccessControllerEvent" if ace else "")),
        major=major, minor=minor, serial_no=serial_no, date_time=when, punch=None, picture=picture, raw=doc,
        mac_address=str(mac) if mac else None, ip_address=doc.get("ipAddress") or None,
        front_serial_no=_int(ace.get("frontSerialNo")),
        current_event=current if isinstance(current, bool) else None, extra=flags,
    )
    if major != MAJOR_EVENT or minor not in MINOR_PUNCH:
        return event
    pin = ace.get("employeeNoString") or ace.get("employeeNo")
    if pin in (None, "", 0):
        note = "verification event without employeeNoString (stranger or card only)"
        return replace(event, note=note)
    method, success = MINOR_PUNCH[minor]
    utc = when.astimezone(timezone.utc).replace(tzinfo=None)
    extra = {k: str(ace[k]) for k in ("currentVerifyMode", "attendanceStatus", "name", "cardReaderNo", "mask")
             if ace.get(k) not in (None, "")}
    if current is False:
        extra["offline"] = "1"
    punch = Punch(PunchSource.HIKVISION, device_sn, str(pin).strip(), when.replace(tzinfo=None), utc, tz_used,
                  method, minor, ATTENDANCE_STATUS.get(str(ace.get("attendanceStatus")), -1), success,
                  serial_no, None, None, extra)
    return replace(event, punch=punch)


def serial_gaps(last_seen: int | None, serials: list[int]) -> list[tuple[int, int]]:
    """Missing serialNo ranges (inclusive) after `last_seen` given the serials now received.

    Serials at or below `last_seen` are resends and ignored. With no `last_seen` the first received
    serial starts the sequence. The gaps are what to ask the device for with an AcsEvent search.
    """
    expected = None if last_seen is None else last_seen + 1
    gaps: list[tuple[int, int]] = []
    for s in sorted(set(serials)):
        if last_seen is not None and s <= last_seen:
            continue
        if expected is not None and s > expected:
            gaps.append((expected, s - 1))
        expected = s + 1
    return gaps


# ---------------------------------------------------------------- client builders

def build_event_json(*, pin: str | None, when: datetime, minor: int = 75, major: int = MAJOR_EVENT,
                     serial_no: int = 1, mac_address: str = "44:19:b6:00:00:01", ip_address: str = "10.0.0.5",
                     device_name: str = "DS-K1T673DX", name: str = "", attendance_status: str | None = None,
                     current_verify_mode: str = "faceOrFpOrCardOrPw", pictures: int = 1,
                     current_event: bool | None = None, device_id: str | None = None) -> bytes:
    """An `AccessControllerEvent` push as a face terminal sends it (`when` must be aware)."""
    if when.tzinfo is None:
        raise ValueError("Hikvision dateTime carries an offset: pass an aware datetime")
    ace: dict[str, Any] = {
        "deviceName": device_name, "majorEventType": major, "subEventType": minor, "name": name,
        "cardReaderNo": 1, "serialNo": serial_no, "userType": "normal", "currentVerifyMode": current_verify_mode,
        "frontSerialNo": max(serial_no - 1, 0), "mask": "no", "picturesNumber": pictures,
    }
    if pin is not None:
        ace["employeeNoString"] = pin
    if attendance_status is not None:
        ace["attendanceStatus"] = attendance_status
    if current_event is not None:
        ace["currentEvent"] = current_event
    doc: dict[str, Any] = {
        "ipAddress": ip_address, "portNo": 80, "protocol": "HTTP", "macAddress": mac_address, "channelID": 1,
        "dateTime": when.isoformat(timespec="seconds"), "activePostCount": 1,
        "eventType": "AccessControllerEvent", "eventState": "active", "eventDescription": "Access Controller Event",
        "AccessControllerEvent": ace,
    }
    if device_id is not None:
        doc["deviceID"] = device_id
    return json.dumps(doc, ensure_ascii=False, indent=4).encode("utf-8")


def build_multipart(event_json: bytes, picture: bytes | None, *, json_name: str = "event_log",
                    boundary: str | None = None, subtype: str = "form-data") -> tuple[bytes, str]:
    """(body, content type) for a multipart push: the JSON part, then `Picture` as image/jpeg."""
    b = boundary or f"MIME_boundary_{uuid.uuid4().hex[:16]}"
    parts = [
        f'--{b}\r\nContent-Disposition: form-data; name="{json_name}"\r\nContent-Type: application/json\r\n'
        f"Content-Length: {len(event_json)}\r\n\r\n".encode() + event_json + b"\r\n",
    ]
    if picture is not None:
        parts.append(f'--{b}\r\nContent-Disposition: form-data; name="Picture"; filename="face.jpg"\r\n'
                     f"Content-Type: image/jpeg\r\nContent-Length: {len(picture)}\r\n\r\n".encode()
                     + picture + b"\r\n")
    parts.append(f"--{b}--\r\n".encode())
    return b"".join(parts), f"multipart/{subtype}; boundary={b}"
