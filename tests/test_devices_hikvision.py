"""Hikvision ISAPI AccessControllerEvent push: bare JSON, multipart with a real JPEG, failures, gaps."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.hikvision import (
    HikEvent, ProtocolError, build_event_json, build_multipart, parse_event, serial_gaps, split_multipart,
)
from devices.punch import Method, PunchSource

CST = timezone(timedelta(hours=8))
WHEN = datetime(2026, 3, 2, 8, 1, 30, tzinfo=CST)


@pytest.fixture
def jpeg(faces_dir: Path) -> bytes:
    return (faces_dir / "examples" / "obama_small.jpg").read_bytes()


def test_bare_json_face_pass() -> None:
    body = build_event_json(pin="1001", when=WHEN, minor=75, serial_no=25523, attendance_status="checkIn",
                            name="张伟")
    ev = parse_event(body, "application/json")
    assert isinstance(ev, HikEvent)
    assert ev.device_sn == "44:19:b6:00:00:01" and ev.serial_no == 25523 and ev.front_serial_no == 25522
    assert (ev.major, ev.minor, ev.event_type) == (5, 75, "AccessControllerEvent")
    assert ev.date_time == WHEN and ev.picture is None
    p = ev.punch
    assert p is not None and p.source is PunchSource.HIKVISION and p.pin == "1001" and p.success
    assert p.method is Method.FACE and p.verify_code == 75 and p.serial_no == 25523 and p.status_code == 0
    assert p.local_time == datetime(2026, 3, 2, 8, 1, 30) and p.utc_time == datetime(2026, 3, 2, 0, 1, 30)
    assert p.tz_name == "+08:00" and p.extra["name"] == "张伟"


@pytest.mark.parametrize(("minor", "method", "success"), [
    (75, Method.FACE, True), (76, Method.FACE, False), (38, Method.FINGERPRINT, True),
    (39, Method.FINGERPRINT, False), (1, Method.CARD, True), (77, Method.FACE, True)])
def test_verification_sub_events(minor: int, method: Method, success: bool) -> None:
    ev = parse_event(build_event_json(pin="7", when=WHEN, minor=minor), "application/json; charset=utf-8")
    assert ev.punch is not None and ev.punch.method is method and ev.punch.success is success


def test_non_person_events_kept_without_punch() -> None:
    door = parse_event(build_event_json(pin=None, when=WHEN, minor=21), "application/json")
    assert door.punch is None and door.minor == 21 and door.raw["AccessControllerEvent"]["subEventType"] == 21
    stranger = parse_event(build_event_json(pin=None, when=WHEN, minor=76), "application/json")
    assert stranger.punch is None and "employeeNoString" in (stranger.note or "")
    alarm = parse_event(build_event_json(pin="1", when=WHEN, major=2, minor=1024), "application/json")
    assert alarm.punch is None and alarm.major == 2


def test_multipart_with_real_picture(jpeg: bytes) -> None:
    event = build_event_json(pin="1001", when=WHEN, serial_no=9)
    body, ctype = build_multipart(event, jpeg)
    assert ctype.startswith("multipart/form-data; boundary=")
    ev = parse_event(body, ctype)
    assert ev.picture == jpeg and ev.punch is not None and ev.punch.serial_no == 9


@pytest.mark.parametrize("json_name", ["event_log", "AccessControllerEvent"])
@pytest.mark.parametrize("subtype", ["form-data", "mixed"])
def test_multipart_part_names_and_subtypes(jpeg: bytes, json_name: str, subtype: str) -> None:
    body, ctype = build_multipart(build_event_json(pin="5", when=WHEN), jpeg, json_name=json_name,
                                  subtype=subtype, boundary="MIME_boundary")
    ev = parse_event(body, ctype)
    assert ev.picture == jpeg and ev.punch is not None and ev.punch.pin == "5"


def test_multipart_framing_pitfalls(jpeg: bytes) -> None:
    event = build_event_json(pin="5", when=WHEN)
    body, _ = build_multipart(event, jpeg, boundary="abc123")
    # the header declares another boundary than the body uses, and quotes it
    ev = parse_event(body, 'multipart/form-data; boundary="wrong"')
    assert ev.picture == jpeg
    # LF-only framing and no closing boundary
    lf = (b'--b\nContent-Disposition: form-data; name="event_log"\n\n' + event + b"\n--b\n"
          b'Content-Disposition: form-data; name="Picture"; filename="x.jpg"\nContent-Type: image/jpeg\n\n' + jpeg)
    ev = parse_event(lf, "multipart/form-data; boundary=b")
    assert ev.punch is not None and ev.picture == jpeg
    # truncated mid-image: the JSON survives, the broken picture is dropped and flagged
    padded, ctype = build_multipart(event, jpeg + b"\0" * 16)  # padding after EOI is not truncation
    assert parse_event(padded, ctype).picture == jpeg + b"\0" * 16
    cut = body[: body.index(b"\xff\xd8\xff") + 500]
    ev = parse_event(cut, "multipart/form-data; boundary=abc123")
    assert ev.punch is not None and ev.picture is None and ev.extra["picture_truncated"] == "1"


def test_split_multipart_keeps_binary_exact(jpeg: bytes) -> None:
    body, ctype = build_multipart(b"{}", jpeg)
    parts = split_multipart(body, ctype)
    assert [h["content-disposition"].split("name=")[1][:9] for h, _ in parts] == ['"event_lo', '"Picture"']
    assert parts[1][1] == jpeg and parts[1][0]["content-type"] == "image/jpeg"


def test_device_identity_and_time_zone() -> None:
    raw = json.loads(build_event_json(pin="1", when=WHEN))
    del raw["macAddress"]
    body = json.dumps(raw).encode()
    assert parse_event(body, "application/json", device_sn_hint="DS-K1T-01").device_sn == "DS-K1T-01"
    with pytest.raises(ProtocolError, match="names no device"):
        parse_event(body, "application/json")
    with_id = parse_event(build_event_json(pin="1", when=WHEN, device_id="FX1234"), "application/json")
    assert with_id.device_sn == "FX1234" and with_id.mac_address == "44:19:b6:00:00:01"
    raw["dateTime"] = "2026-03-02T08:01:30"
    naive = json.dumps(raw).encode()
    with pytest.raises(ProtocolError, match="no offset"):
        parse_event(naive, "application/json", device_sn_hint="X")
    ev = parse_event(naive, "application/json", device_sn_hint="X", tz_name="Asia/Shanghai")
    assert ev.punch is not None and ev.punch.utc_time == datetime(2026, 3, 2, 0, 1, 30)
    assert ev.punch.tz_name == "Asia/Shanghai"
    raw["dateTime"] = "2026-03-02T00:01:30Z"
    ev = parse_event(json.dumps(raw).encode(), "application/json", device_sn_hint="X")
    assert ev.punch is not None and ev.punch.utc_time == datetime(2026, 3, 2, 0, 1, 30)


def test_offline_replay_marked() -> None:
    ev = parse_event(build_event_json(pin="1", when=WHEN, current_event=False), "application/json")
    assert ev.current_event is False and ev.punch is not None and ev.punch.extra["offline"] == "1"


@pytest.mark.parametrize(("body", "match"), [
    (b"{not json", "malformed"), (b"[1, 2]", "not an object"), (b"<EventNotificationAlert/>", "XML"),
    (b'{"macAddress": "aa", "AccessControllerEvent": {"majorEventType": 5}}', "no dateTime"),
    (b'{"macAddress": "aa", "dateTime": "yesterday"}', "ISO-8601"),
    (b'{"macAddress": "aa", "dateTime": "2026-03-02T08:00:00+08:00", "AccessControllerEvent": 3}', "not an object"),
])
def test_malformed_json(body: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        parse_event(body, "application/json")


def test_multipart_without_json_part(jpeg: bytes) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="Picture"\r\nContent-Type: image/jpeg\r\n\r\n' + jpeg + b"\r\n--b--"
    with pytest.raises(ProtocolError, match="no JSON part"):
        parse_event(body, "multipart/form-data; boundary=b")
    with pytest.raises(ProtocolError, match="boundary"):
        parse_event(b"garbage", "multipart/form-data")


def test_serial_gaps() -> None:
    assert serial_gaps(10, [11, 12, 15, 16, 20]) == [(13, 14), (17, 19)]
    assert serial_gaps(10, [9, 10, 11]) == []  # resends are not gaps
    assert serial_gaps(None, [5, 8, 6]) == [(7, 7)]
    assert serial_gaps(3, []) == []
    assert serial_gaps(3, [7]) == [(4, 6)]


@given(st.integers(0, 1000), st.sets(st.integers(0, 1200), max_size=60))
def test_serial_gaps_cover_exactly_the_missing(last: int, serials: set[int]) -> None:
    gaps = serial_gaps(last, sorted(serials))
    missing = {s for a, b in gaps for s in range(a, b + 1)}
    newer = {s for s in serials if s > last}
    top = max(newer, default=last)
    assert missing == set(range(last + 1, top + 1)) - newer
