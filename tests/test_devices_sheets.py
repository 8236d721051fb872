"""Spreadsheet and CSV exports: XLSX and CSV in UTF-8, UTF-8 with BOM and GBK, Chinese and English headers."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.punch import Method, PunchSource
from devices.sheets import ProtocolError, build_csv, build_xlsx, parse_sheet, state_from_text, verify_from_text

TZ = "Asia/Shanghai"
HEADER = ["工号", "姓名", "打卡时间", "验证方式", "状态"]
ROWS = [
    ["1001", "张伟", "2026-03-02 08:01:02", "人脸", "上班签到"],
    ["1002", "李娜", "2026/3/2 8:03", "指纹", "签退"],
    ["1003", "王芳", "2026-03-02 08:05:00", "密码", ""],
    ["1004", "刘洋", "2026-03-02 08:06:00", "刷卡", "加班签到"],
]


def _expect(punches: list) -> None:
    assert [(p.pin, p.local_time, p.verify_code, p.method, p.status_code, p.line_no) for p in punches] == [
        ("1001", datetime(2026, 3, 2, 8, 1, 2), 15, Method.FACE, 0, 2),
        ("1002", datetime(2026, 3, 2, 8, 3), 1, Method.FINGERPRINT, 1, 3),
        ("1003", datetime(2026, 3, 2, 8, 5), 3, Method.PASSWORD, -1, 4),
        ("1004", datetime(2026, 3, 2, 8, 6), 4, Method.CARD, 4, 5),
    ]
    assert all(p.source is PunchSource.SHEET and p.device_sn == "SN1" and p.tz_name == TZ for p in punches)
    assert punches[0].utc_time == datetime(2026, 3, 2, 0, 1, 2) and punches[0].extra["name"] == "张伟"


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False)])
def test_csv_encodings(encoding: str, bom: bool) -> None:
    data = build_csv([HEADER, *ROWS], encoding=encoding, bom=bom)
    if encoding == "gbk":
        assert "工号".encode("gbk") in data
    punches, rejected = parse_sheet(data, "export.csv", "SN1", TZ)
    assert rejected == []
    _expect(punches)


def test_csv_tab_separated_and_utf16() -> None:
    data = build_csv([HEADER, *ROWS], delimiter="\t")
    _expect(parse_sheet(data, "export.txt", "SN1", TZ)[0])
    utf16 = "\r\n".join("\t".join(r) for r in [HEADER, *ROWS]).encode("utf-16")
    _expect(parse_sheet(utf16, "export.txt", "SN1", TZ)[0])



@pytest.mark.parametrize("data", [b"\xfe\xff\t", b"\xff\xfe\x00\xd8a\x00", "工号".encode("utf-16") + b"\x00"])
def test_csv_with_utf16_mark_but_broken_text_is_a_protocol_error(data: bytes) -> None:
    """Found by the fuzz test: a byte-order mark followed by an odd byte count or a lone surrogate
    raised UnicodeDecodeError, which the ingest would have answered as a server error."""
    with pytest.raises(ProtocolError, match="UTF-16 byte-order mark"):
        parse_sheet(data, "export.csv", "SN1", TZ)


def test_xlsx_with_datetime_cells_and_title_rows() -> None:
    rows = [[r[0], r[1], datetime.strptime(r[2].replace("/", "-").replace(" 8:", " 08:"), "%Y-%m-%d %H:%M:%S")
             if r[2].count(":") == 2 else datetime(2026, 3, 2, 8, 3), r[3], r[4]] for r in ROWS]
    data = build_xlsx(rows, HEADER)
    _expect(parse_sheet(data, "考勤记录.xlsx", "SN1", TZ)[0])
    titled = build_xlsx(rows, HEADER, title_rows=["某某职业培训学校 考勤记录表", ""])
    punches, rejected = parse_sheet(titled, "x.xlsx", "SN1", TZ)
    assert rejected == [] and [p.line_no for p in punches] == [4, 5, 6, 7]


def test_xlsx_separate_date_and_time_columns_numeric_pins() -> None:
    rows = [[1001, "张伟", date(2026, 3, 2), time(8, 1, 2), 15], [1002.0, "李娜", datetime(2026, 3, 2), "08:03", 1],
            [1003, "王芳", "2026-03-02", "08:05:00 12:01 17:30", "面部"]]
    data = build_xlsx(rows, ["人员编号", "姓名", "日期", "时间", "验证方式"])
    punches, rejected = parse_sheet(data, "x.xlsx", "SN1", TZ)
    assert rejected == []
    assert [(p.pin, p.local_time.time(), p.method, p.line_no) for p in punches] == [
        ("1001", time(8, 1, 2), Method.FACE, 2), ("1002", time(8, 3), Method.FINGERPRINT, 3),
        ("1003", time(8, 5), Method.FACE, 4), ("1003", time(12, 1), Method.FACE, 4),
        ("1003", time(17, 30), Method.FACE, 4)]
    assert all(p.local_time.date() == date(2026, 3, 2) and p.status_code == -1 for p in punches)


def test_english_headers_from_zk_software() -> None:
    data = build_csv([["AC-No.", "Name", "Time", "State", "Verify Mode"],
                      ["7", "Ann", "2026-03-02 08:00:00", "C/In", "FP"],
                      ["8", "Bob", "2026-03-02 17:00:00", "C/Out", "Face"]])
    punches, rejected = parse_sheet(data, "att.csv", "SN1", TZ)
    assert rejected == []
    assert [(p.pin, p.status_code, p.method) for p in punches] == [("7", 0, Method.FINGERPRINT),
                                                                  ("8", 1, Method.FACE)]


def test_bad_rows_rejected_with_spreadsheet_row_numbers() -> None:
    data = build_csv([HEADER, ROWS[0], ["", "无号", "2026-03-02 08:00:00", "人脸", ""],
                      ["1005", "坏时间", "明天早上", "人脸", ""], ["", "", "", "", ""], ROWS[1],
                      ["1006", "坏日期", "2026-02-30 08:00:00", "指纹", ""]], encoding="gbk")
    punches, rejected = parse_sheet(data, "x.csv", "SN1", TZ)
    assert [(p.pin, p.line_no) for p in punches] == [("1001", 2), ("1002", 6)]
    assert [(r.line_no, r.reason.split(" ")[0]) for r in rejected] == [(3, "missing"), (4, "bad"), (7, "bad")]
    assert "明天早上" in rejected[1].text and "明天早上" in rejected[1].reason


def test_missing_columns_named_in_error() -> None:
    data = build_csv([["姓名", "部门", "打卡时间"], ["张伟", "一班", "2026-03-02 08:00:00"]])
    with pytest.raises(ProtocolError, match="expected a PIN column") as info:
        parse_sheet(data, "x.csv", "SN1", TZ)
    assert "姓名, 部门, 打卡时间" in str(info.value)
    with pytest.raises(ProtocolError, match="found: no cells"):
        parse_sheet(b"", "x.csv", "SN1", TZ)
    with pytest.raises(ProtocolError, match="xls"):
        parse_sheet(b"\xd0\xcf\x11\xe0rest", "old.xls", "SN1", TZ)
    with pytest.raises(ProtocolError, match="XLSX"):
        parse_sheet(b"PK\x03\x04broken", "x.xlsx", "SN1", TZ)


def test_verify_and_state_words() -> None:
    assert verify_from_text("指静脉") == (21, Method.FINGER_VEIN) and verify_from_text("掌纹")[1] is Method.PALM
    assert verify_from_text("人脸+指纹")[1] is Method.FACE and verify_from_text(None) == (0, Method.UNKNOWN)
    assert verify_from_text("卡") == (4, Method.CARD) and verify_from_text("15") == (15, Method.FACE)
    assert verify_from_text("其他") == (0, Method.UNKNOWN)
    assert [state_from_text(s) for s in ("签到", "签退", "外出", "外出返回", "加班签退", "Check Out", "2", "?", None)] == [
        0, 1, 2, 3, 5, 1, 2, -1, -1]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 99999),
                          st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2035, 1, 1)),
                          st.sampled_from(["人脸", "指纹", "密码", "刷卡"])), min_size=1, max_size=20),
       st.sampled_from([("utf-8", False), ("utf-8", True), ("gbk", False)]))
def test_csv_round_trip(rows: list[tuple[int, datetime, str]], enc: tuple[str, bool]) -> None:
    data = build_csv([HEADER] + [[str(pin), "某", when.replace(microsecond=0), v, ""] for pin, when, v in rows],
                     encoding=enc[0], bom=enc[1])
    punches, rejected = parse_sheet(data, "x.csv", "SN", TZ)
    assert rejected == []
    assert [(p.pin, p.local_time, p.utc_time) for p in punches] == [
        (str(pin), when.replace(microsecond=0), when.replace(microsecond=0) - timedelta(hours=8)) for pin, when, _ in rows]


def test_xlsx_blank_rows_keep_row_numbers() -> None:
    data = build_xlsx([["1", datetime(2026, 3, 2, 8)], [None, None], [None, None], ["2", datetime(2026, 3, 2, 9)]],
                      ["工号", "打卡时间"])
    punches, rejected = parse_sheet(data, "x.xlsx", "SN1", TZ)
    assert rejected == [] and [(p.pin, p.line_no, p.verify_code) for p in punches] == [("1", 2, 0), ("2", 5, 0)]


def test_check_in_and_check_out_columns_give_two_punches() -> None:
    data = build_csv([["工号", "姓名", "日期", "签到时间", "签退时间", "验证方式"],
                      ["1001", "张伟", "2026-03-02", "08:01", "17:05", "人脸"],
                      ["1002", "李娜", "2026-03-02", "08:03", "", "指纹"],  # forgot to punch out
                      ["1003", "王芳", "2026-03-02", "", "", "指纹"],  # absent: nothing to record
                      ["1004", "刘洋", "2026-03-02", "8点", "17:00", "指纹"]], encoding="gbk")
    punches, rejected = parse_sheet(data, "x.csv", "SN1", TZ)
    assert [(p.pin, p.local_time.strftime("%H:%M"), p.status_code, p.line_no) for p in punches] == [
        ("1001", "08:01", 0, 2), ("1001", "17:05", 1, 2), ("1002", "08:03", 0, 3)]
    assert [(r.line_no, r.reason) for r in rejected] == [(4, "missing time"), (5, "bad time '8点'")]


def test_lone_sign_in_column_is_the_punch_time_and_date_column_with_full_times() -> None:
    data = build_csv([["考勤号码", "签到时间"], ["9", "2026-03-02 08:00:00"]])
    (p,), _ = parse_sheet(data, "x.csv", "SN1", TZ)
    assert p.local_time == datetime(2026, 3, 2, 8) and p.status_code == -1
    data = build_csv([["工号", "日期", "时间"], ["9", "2026-03-02", "2026-03-02 08:00:00"], ["9", "2026-03-0x", "08:00"]])
    punches, rejected = parse_sheet(data, "x.csv", "SN1", TZ)
    assert [p.local_time for p in punches] == [datetime(2026, 3, 2, 8)]
    assert [(r.line_no, r.reason) for r in rejected] == [(3, "bad date '2026-03-0x'")]


def test_xlsx_time_only_cells_stored_as_1899_datetimes() -> None:
    data = build_xlsx([["9", date(2026, 3, 2), datetime(1899, 12, 30, 8, 15)]], ["工号", "日期", "时间"])
    (p,), rejected = parse_sheet(data, "x.xlsx", "SN1", TZ)
    assert rejected == [] and p.local_time == datetime(2026, 3, 2, 8, 15)
