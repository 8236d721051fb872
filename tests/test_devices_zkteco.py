"""ZKTeco PUSH adapter against protocol bodies from docs/terminals.md and the client builders."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.encoding import GB18030, REPLACED, UTF8, decode_text, decode_text_with_encoding
from devices.punch import Method, PunchSource
from devices.zkteco import (
    AttlogRecord, CommandResult, HandshakeOptions, OplogRecord, ProtocolError, UserRecord, build_attlog,
    build_attphoto, build_devicecmd_results, build_operlog, build_rtlog, cmd_check, cmd_info, cmd_query_attlog,
    cmd_verify_sum_attlog, format_commands, handshake_reply, method_for_verify, ok_reply, parse_attlog,
    parse_attphoto, parse_devicecmd, parse_info, parse_operlog, parse_operlog_full, parse_options, parse_rtlog,
)

DOC = Path(__file__).resolve().parents[2] / "shared" / "docs" / "terminals.md"
SHANGHAI = "Asia/Shanghai"


def _doc_handshake() -> str:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else Path("/work/shared/docs/terminals.md").read_text()
    start = text.index("GET OPTION FROM: 0316144680030")
    end = text.index("Encrypt=None", start) + len("Encrypt=None")
    return text[start:end]


# ---------------------------------------------------------------- handshake, replies, commands

def test_handshake_reproduces_spec_example_byte_exact() -> None:
    options = HandshakeOptions(stamps={"ATTLOG": "None", "OPERLOG": "9999", "ATTPHOTO": "None"}, error_delay=30,
                               delay=10, trans_times="00:00;14:05", trans_interval=1, timezone=8, realtime=1,
                               encrypt="None")
    reply = handshake_reply("0316144680030", options)
    assert reply.encode() == _doc_handshake().encode()
    assert "TransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tUserPic" in reply


def test_handshake_optional_lines_and_order() -> None:
    options = HandshakeOptions(stamps={"ATTLOG": "0"}, timezone=330, server_ver="2.2.14", push_prot_ver="2.2.14",
                               encrypt=None, extra={"SupportPing": "1"})
    lines = handshake_reply("SN9", options).split("\n")
    assert lines[0] == "GET OPTION FROM: SN9"
    assert lines[1] == "ATTLOGStamp=0"
    assert "TimeZone=330" in lines and "Encrypt=None" not in lines
    assert lines[-3:] == ["ServerVer=2.2.14", "PushProtVer=2.2.14", "SupportPing=1"]
    with pytest.raises(ValueError):
        handshake_reply("SN\n1", HandshakeOptions())


def test_ok_reply_and_commands() -> None:
    assert ok_reply(3) == "OK: 3" and ok_reply(None) == "OK" and ok_reply(0) == "OK: 0"
    assert format_commands([]) == "OK"
    start, end = datetime(2026, 3, 1), datetime(2026, 3, 1, 23, 59, 59)
    body = format_commands([(1, cmd_info()), (2, cmd_check()), (3, cmd_query_attlog(start, end)),
                            (4, cmd_verify_sum_attlog(start, end))])
    assert body.split("\n")[:4] == [
        "C:1:INFO", "C:2:CHECK",
        "C:3:DATA QUERY ATTLOG StartTime=2026-03-01 00:00:00\tEndTime=2026-03-01 23:59:59",
        "C:4:VERIFY SUM ATTLOG StartTime=2026-03-01 00:00:00\tEndTime=2026-03-01 23:59:59",
    ]
    with pytest.raises(ValueError):
        format_commands([(5, "INFO\nC:6:CLEAR LOG")])  # no command injection through a value
    with pytest.raises(ValueError):
        format_commands([("x" * 17, "INFO")])
    with pytest.raises(ValueError):
        cmd_query_attlog(end, start)


# ---------------------------------------------------------------- ATTLOG

def _records(n: int, verify: int = 15) -> list[AttlogRecord]:
    base = datetime(2026, 3, 2, 8, 0, 0)
    return [AttlogRecord(str(1000 + i), base + timedelta(seconds=7 * i), i % 6, verify) for i in range(n)]


@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
@pytest.mark.parametrize("field_count", [5, 7, 9, 12, 14])
@pytest.mark.parametrize("trailing_tabs", [0, 3])
def test_attlog_variants_parse_identically(line_ending: str, field_count: int, trailing_tabs: int) -> None:
    recs = _records(20)
    body = build_attlog(recs, line_ending=line_ending, field_count=field_count, trailing_tabs=trailing_tabs)
    punches, rejected = parse_attlog(body, "SN1", SHANGHAI)
    assert rejected == []
    assert [(p.pin, p.local_time, p.status_code, p.verify_code) for p in punches] == [
        (r.pin, r.local_time, r.status, r.verify) for r in recs]
    p = punches[0]
    assert p.source is PunchSource.ZKTECO and p.device_sn == "SN1" and p.tz_name == SHANGHAI
    assert p.method is Method.FACE and p.line_no == 1 and p.work_code == "0"
    assert p.utc_time == p.local_time - timedelta(hours=8)


def test_attlog_spec_line_with_all_twelve_fields() -> None:
    body = (b"1001\t2026-07-22 14:30:00\t0\t15\t\t0\t0\t1\t36.2\t97.2\t+28800\t"
            b"eyJHUFNJbmZvIjp7ImxvbmdpdHVkZSI6IjExNC4wODAwMjEiLCJsYXRpdHVkZSI6IjIyLjc2MzQ1NiJ9fQ==\n")
    (p,), rejected = parse_attlog(body, "SN1", "UTC")  # zone says UTC, the line's own offset wins
    assert rejected == []
    assert p.utc_time == datetime(2026, 7, 22, 6, 30)
    assert p.work_code is None
    assert p.extra["mask_flag"] == "1" and p.extra["temperature"] == "36.2" and p.extra["time_offset"] == "+28800"
    assert "reserved1" not in p.extra


def test_attlog_bad_lines_rejected_with_line_numbers_rest_accepted() -> None:
    body = ("1001\t2026-03-02 08:00:00\t0\t1\t0\n"
            "\n"
            "1002\t2026-13-02 08:00:00\t0\t1\t0\n"  # month 13
            "\t2026-03-02 08:01:00\t0\t1\t0\n"  # no PIN
            "1004\t2026-03-02 08:02:00\t0\tface\t0\n"  # verify not a number
            "1005\t2026-03-02\n"  # too few fields
            "1006\tyesterday\t0\t1\n"
            "1007\t2026-03-02 08:03:00\tX\t1\n"
            "   \t\t\r\n"  # whitespace-only: blank, ignored
            "1009\t2026/3/2 8:04\t\t\t\n").encode()  # slashes, no seconds, empty status/verify
    punches, rejected = parse_attlog(body, "SN1", SHANGHAI)
    assert [p.pin for p in punches] == ["1001", "1009"]
    assert punches[1].local_time == datetime(2026, 3, 2, 8, 4)
    assert punches[1].status_code == -1 and punches[1].verify_code == -1 and punches[1].method is Method.UNKNOWN
    assert punches[1].line_no == 10
    reasons = {r.line_no: r.reason for r in rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "bad time" in reasons[3] and reasons[4] == "missing PIN" and "non-numeric verify" in reasons[5]
    assert "too few fields" in reasons[6] and "bad time" in reasons[7] and "non-numeric status" in reasons[8]
    assert rejected[0].text == "1002\t2026-13-02 08:00:00\t0\t1\t0"


def test_attlog_id_card_device_layout_drops_the_id_number() -> None:
    body = ("1001\t2026-03-02 08:00:00\t0\t15\t0\t0\t0\t11010119900307123X\t0\n"  # attendance record
            "1002\t2026-03-02 08:00:05\t0\t1\t0\t0\t0\t110101199003071234\t1\n"  # verification, success
            "1003\t2026-03-02 08:00:09\t1\t1\t0\t0\t0\t110101199003071250\t1\n"  # verification, failed
            "1004\t2026-03-02 08:00:12\t0\t1\t0\t0\t0\t\t1\n").encode()  # no ID, DeviceType says pid
    auto, rejected = parse_attlog(body, "PID1", SHANGHAI)
    assert rejected == []
    assert [(p.method, p.success, p.extra.get("record_type")) for p in auto[:3]] == [
        (Method.FACE, True, "attendance"), (Method.FACE, True, "verification"), (Method.FACE, False, "verification")]
    assert not any("1101011990" in v for p in auto for v in p.extra.values())
    assert auto[3].extra.get("record_type") is None and auto[3].method is Method.FINGERPRINT  # not detectable
    declared, _ = parse_attlog(body, "PID1", SHANGHAI, device_type="pid")
    assert declared[3].extra["record_type"] == "verification" and declared[3].method is Method.FACE


def test_attlog_fractional_seconds() -> None:
    (p,), _ = parse_attlog(b"7\t2026-03-02 08:00:00.250\t0\t1\n", "SN1", SHANGHAI)
    assert p.local_time == datetime(2026, 3, 2, 8)


def test_attlog_empty_body() -> None:
    assert parse_attlog(b"", "SN1", SHANGHAI) == ([], [])
    assert parse_attlog(b"\r\n\n", "SN1", SHANGHAI) == ([], [])


def test_attlog_dst_zone_gap_and_fold() -> None:
    body = build_attlog([AttlogRecord("1", datetime(2026, 3, 8, 1, 59, 59)),  # EST
                         AttlogRecord("2", datetime(2026, 3, 8, 2, 30)),  # nonexistent local time
                         AttlogRecord("3", datetime(2026, 3, 8, 3, 0)),  # EDT
                         AttlogRecord("4", datetime(2026, 11, 1, 1, 30))])  # ambiguous: first occurrence
    punches, rejected = parse_attlog(body, "SN1", "America/New_York")
    assert rejected == []
    assert [p.utc_time for p in punches] == [datetime(2026, 3, 8, 6, 59, 59), datetime(2026, 3, 8, 7, 30),
                                             datetime(2026, 3, 8, 7, 0), datetime(2026, 11, 1, 5, 30)]


def test_attlog_half_hour_dst_switch_is_not_cached_wrongly() -> None:
    # Lord Howe Island moves 30 minutes at 02:00 -> 02:30 local: within the hour 02:00-03:00 the offset
    # changes, so that hour must not be served from the per-hour cache.
    body = build_attlog([AttlogRecord("1", datetime(2026, 10, 4, 2, 15)),  # in the gap: offset before
                         AttlogRecord("2", datetime(2026, 10, 4, 2, 45)),  # same hour, after the switch
                         AttlogRecord("3", datetime(2026, 4, 5, 1, 15)),
                         AttlogRecord("4", datetime(2026, 4, 5, 1, 45))])
    punches, _ = parse_attlog(body, "SN1", "Australia/Lord_Howe")
    from zoneinfo import ZoneInfo
    assert punches[1].utc_time - punches[0].utc_time == timedelta(minutes=0)  # 02:15 +10:30 == 02:45 +11:00
    for p in punches:
        expected = p.local_time.replace(tzinfo=ZoneInfo("Australia/Lord_Howe")).utcoffset()
        assert p.utc_time == p.local_time - expected


def test_attlog_unknown_zone_raises() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        parse_attlog(b"1\t2026-03-02 08:00:00\t0\t1\n", "SN1", "Mars/Olympus")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.builds(
    AttlogRecord,
    pin=st.text(alphabet="0123456789ABCDEFabc", min_size=1, max_size=12),
    local_time=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)).map(
        lambda d: d.replace(microsecond=0)),
    status=st.one_of(st.none(), st.integers(0, 255)),
    verify=st.one_of(st.none(), st.integers(0, 200)),
    workcode=st.sampled_from(["", "0", "12"]),
), max_size=30), st.sampled_from(["\n", "\r\n"]), st.integers(4, 13), st.integers(0, 2),
    st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "+05:30"]))
def test_attlog_round_trip(recs: list[AttlogRecord], eol: str, fields: int, tabs: int, tz: str) -> None:
    punches, rejected = parse_attlog(build_attlog(recs, line_ending=eol, field_count=fields, trailing_tabs=tabs),
                                     "SN", tz)
    assert rejected == []
    assert [(p.pin, p.local_time, p.status_code, p.verify_code, p.line_no) for p in punches] == [
        (r.pin, r.local_time, -1 if r.status is None else r.status, -1 if r.verify is None else r.verify, i)
        for i, r in enumerate(recs, 1)]
    from devices.localtime import zone
    for p in punches:
        assert p.utc_time == p.local_time - p.local_time.replace(tzinfo=zone(tz)).utcoffset()


def test_verify_code_table() -> None:
    assert method_for_verify(1) is Method.FINGERPRINT and method_for_verify(15) is Method.FACE
    assert method_for_verify(3) is Method.PASSWORD and method_for_verify(4) is Method.CARD
    assert method_for_verify(0) is Method.UNKNOWN and method_for_verify(21) is Method.FINGER_VEIN
    assert method_for_verify(25) is Method.PALM and method_for_verify(16) is Method.FACE
    assert method_for_verify(5) is Method.UNKNOWN  # fingerprint OR password proves no biometric
    assert method_for_verify(200) is Method.OTHER and method_for_verify(-1) is Method.UNKNOWN
    assert method_for_verify(999) is Method.UNKNOWN


# ---------------------------------------------------------------- rtlog

def test_rtlog_spec_samples() -> None:
    body = (b"time=2026-08-14 15:28:03\tpin=123456\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=1\tverifytype=15\t"
            b"index=0\n"
            b"time=2026-08-11 21:47:45\tpin=1\tcardno=1233447\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=4\t"
            b"index=353\n"
            b"time=2026-08-11 21:48:00\tpin=0\tcardno=0\teventaddr=1\tevent=200\tinoutstatus=2\tverifytype=200\n"
            b"time=2026-08-11 21:49:00\tpin=7\tevent=23\tinoutstatus=0\tverifytype=15\n"
            b"pin=8\tevent=0\n"
            b"time=garbage\tpin=9\n")
    punches, rejected = parse_rtlog(body, "SF2A", SHANGHAI)
    assert [(p.pin, p.verify_code, p.status_code, p.method, p.success) for p in punches] == [
        ("123456", 15, 1, Method.FACE, True), ("1", 4, 0, Method.CARD, True), ("7", 15, 0, Method.FACE, False)]
    assert punches[0].utc_time == datetime(2026, 8, 14, 7, 28, 3)
    assert punches[1].extra["index"] == "353" and punches[1].line_no == 2
    assert [(r.line_no, r.reason.split(" ")[0]) for r in rejected] == [(5, "no"), (6, "bad")]


def test_rtlog_builder_round_trip() -> None:
    recs = _records(5, verify=1)
    punches, rejected = parse_rtlog(build_rtlog(recs), "SN", SHANGHAI)
    assert rejected == [] and [(p.pin, p.local_time, p.verify_code) for p in punches] == [
        (r.pin, r.local_time, 1) for r in recs]


# ---------------------------------------------------------------- OPERLOG

def test_operlog_flags_clock_and_tamper_and_decodes_gb18030_names() -> None:
    when = datetime(2026, 3, 2, 7, 55)
    body = build_operlog([OplogRecord(0, when), OplogRecord(21, when, operator="1"), OplogRecord(23, when),
                          OplogRecord(22, when), OplogRecord(35, when), OplogRecord(4, when),
                          UserRecord("1001", "张伟"), UserRecord("1002", "欧阳娜娜", card="123")],
                         encoding="gb18030")
    assert "张伟".encode("gb18030") in body  # really GB-encoded on the wire
    entries = parse_operlog(body)
    assert [(e.kind, e.op_code, e.flag) for e in entries] == [
        ("OPLOG", 0, None), ("OPLOG", 21, "clock"), ("OPLOG", 23, "tamper"), ("OPLOG", 22, "tamper"),
        ("OPLOG", 35, "tamper"), ("OPLOG", 4, None), ("USER", None, None), ("USER", None, None)]
    assert entries[1].event_time == when and entries[1].fields["operator"] == "1"
    assert entries[6].fields["Name"] == "张伟" and entries[6].pin == "1001"
    assert entries[7].fields["Name"] == "欧阳娜娜" and entries[7].line_no == 8


def test_operlog_utf8_names_and_malformed_lines() -> None:
    body = ("USER PIN=7\tName=李娜\tPri=0\n"
            "OPLOG x\t0\t2026-03-02 08:00:00\t0\n"
            "OPLOG 21\t0\tnot-a-time\t0\n"
            "FP PIN=7\tFID=0\tSize=4\tValid=1\tTMP=QUJDRA==\n"
            "GARBAGE here\n"
            "\n"
            "BIODATA Pin=7\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=9\tMajorVer=5\tMinorVer=8\tFormat=0\tTmp=AAA\n"
            ).encode("utf-8")
    entries, rejected = parse_operlog_full(body)
    assert [(e.kind, e.line_no) for e in entries] == [("USER", 1), ("FP", 4), ("BIODATA", 7)]
    assert entries[0].fields["Name"] == "李娜" and entries[2].pin == "7"
    assert [(r.line_no, r.reason.split(" ")[0]) for r in rejected] == [(2, "non-numeric"), (3, "bad"),
                                                                       (5, "unknown")]


def test_operlog_mixed_encodings_decoded_per_line() -> None:
    body = "USER PIN=1\tName=张伟\n".encode("gb18030") + "USER PIN=2\tName=李娜\n".encode("utf-8")
    assert [e.fields["Name"] for e in parse_operlog(body)] == ["张伟", "李娜"]


def test_decode_text_order() -> None:
    assert decode_text_with_encoding("张伟".encode()) == ("张伟", UTF8)
    assert decode_text_with_encoding("张伟".encode("gb18030")) == ("张伟", GB18030)
    assert decode_text_with_encoding(b"\xef\xbb\xbfabc") == ("abc", UTF8)
    text, how = decode_text_with_encoding(b"ok\x80\xff")
    assert how == REPLACED and text.startswith("ok")
    assert decode_text(b"") == ""


# ---------------------------------------------------------------- ATTPHOTO

@pytest.fixture
def jpeg(faces_dir: Path) -> bytes:
    data = (faces_dir / "examples" / "obama_small.jpg").read_bytes()
    assert data[:3] == b"\xff\xd8\xff"
    return data


def test_attphoto_real_jpeg_round_trip(jpeg: bytes) -> None:
    when = datetime(2026, 7, 22, 14, 30)
    body = build_attphoto("1001", when, jpeg, sn="0316144680030")
    assert body.startswith(b"PIN=20260722143000-1001.jpg\nSN=0316144680030\nsize=") and b"CMD=uploadphoto\0" in body
    photo = parse_attphoto(body)
    assert photo.pin == "1001" and photo.local_time == when and photo.image == jpeg
    assert photo.size == len(jpeg) and photo.sn == "0316144680030" and photo.file_name == "20260722143000-1001.jpg"


def test_attphoto_variants(jpeg: bytes) -> None:
    when = datetime(2026, 7, 22, 14, 30)
    # ID-card device name form time-type-pin-idnumber: the ID number is dropped
    body = (b"PIN=20260722143000-1-1001-110101199003071234.jpg\nSN=X\nsize=" + str(len(jpeg)).encode()
            + b"\nCMD=realupload\0" + jpeg + b"\r\n")
    photo = parse_attphoto(body)
    assert (photo.pin, photo.photo_type, photo.local_time) == ("1001", 1, when)
    assert photo.image == jpeg and "110101199003071234" not in repr(photo.pin)
    import base64
    b64 = b"PIN=20260722143000-1001.jpg\nSN=X\npicture=" + base64.b64encode(jpeg) + b"\n"
    assert parse_attphoto(b64).image == jpeg


def test_attphoto_malformed(jpeg: bytes) -> None:
    with pytest.raises(ProtocolError, match="no CMD=uploadphoto"):
        parse_attphoto(b"PIN=1.jpg\nSN=X\n")
    with pytest.raises(ProtocolError, match="truncated"):
        parse_attphoto(build_attphoto("1", datetime(2026, 1, 1), jpeg)[:-100])
    with pytest.raises(ProtocolError, match="no JPEG"):
        parse_attphoto(b"PIN=1.jpg\nsize=4\nCMD=uploadphoto\0GIF8")
    with pytest.raises(ProtocolError, match="PIN="):
        parse_attphoto(b"SN=1\nCMD=uploadphoto\0" + jpeg)


# ---------------------------------------------------------------- options, INFO, devicecmd

def test_options_spec_body_and_commas_inside_values() -> None:
    assert parse_options(b"FingerFunOn=1,FaceFunOn=1,UserPicURLFunOn=1") == {
        "FingerFunOn": "1", "FaceFunOn": "1", "UserPicURLFunOn": "1"}
    opts = parse_options(b"~DeviceName=MB10-VL,FWVersion=Ver 6.60 Sep 19 2019,~SerialNumber=UDP0000001,"
                         b"~OEMVendor=ZKTECO CO., LTD.,IPAddress=192.168.1.20")
    assert opts["~DeviceName"] == "MB10-VL" and opts["FWVersion"] == "Ver 6.60 Sep 19 2019"
    assert opts["~OEMVendor"] == "ZKTECO CO., LTD." and opts["IPAddress"] == "192.168.1.20"


def test_info_spec_example() -> None:
    info = parse_info("Ver 2.0.12-20150625,0,0,0,192.168.16.27,10,7,15,0,111")
    assert info["firmware"] == "Ver 2.0.12-20150625" and info["attlog_count"] == "0"
    assert info["ip"] == "192.168.16.27" and info["features"] == "111" and "card_count" not in info


def test_devicecmd_spec_example_and_replies() -> None:
    body = (b"ID=info8487&Return=0&CMD=DATA\nID=info8488&Return=0&CMD=DATA\nID=info8489&Return=0&CMD=DATA\n"
            b"ID=info7464&Return=0&CMD=DATA\nID=fp7464&Return=0&CMD=DATA\n")
    results = parse_devicecmd(body)
    assert [(r.raw_id, r.command_id, r.return_code, r.cmd) for r in results][:2] == [
        ("info8487", None, 0, "DATA"), ("info8488", None, 0, "DATA")]
    assert len(results) == 5
    body = (b"ID=12&Return=0&CMD=VERIFY SUM&StartTime=2026-03-01 00:00:00&EndTime=2026-03-01 23:59:59"
            b"&AttlogSum=42\r\nID=13&Return=0&CMD=INFO\r\n~DeviceName=MB10\r\nUserCount=30\r\n"
            b"ID=14&Return=-1002&CMD=DATA\r\n")
    r12, r13, r14 = parse_devicecmd(body)
    assert r12.command_id == 12 and r12.extra["AttlogSum"] == "42" and r12.cmd == "VERIFY SUM"
    assert r13.extra == {"~DeviceName": "MB10", "UserCount": "30"}
    assert r14.return_code == -1002
    with pytest.raises(ProtocolError):
        parse_devicecmd(b"hello world")
    assert parse_devicecmd(b"") == []


def test_devicecmd_builder_round_trip() -> None:
    results = [CommandResult(1, 0, "INFO", {"UserCount": "3", "FWVersion": "Ver 6.60"}),
               CommandResult(2, 0, "VERIFY SUM", {"AttlogSum": "17"}), CommandResult(3, -10, "DATA", {})]
    assert [(r.command_id, r.return_code, r.cmd, r.extra) for r in parse_devicecmd(
        build_devicecmd_results(results, line_ending="\r\n"))] == [
        (r.command_id, r.return_code, r.cmd, r.extra) for r in results]
    (r,) = parse_devicecmd(build_devicecmd_results([(7, 0, "CHECK")]))
    assert (r.command_id, r.cmd) == (7, "CHECK")
