"""Roster parsing and validation: every bad row reported with its row number, never the clear ID."""
from __future__ import annotations

from datetime import date

import pytest

from attendance.resident_id import keyed_hash, make
from attendance.roster import (
    ClassWindow, Enrolment, RosterFormatError, RosterRow, RowError, parse_roster, roster_xlsx, validate_roster,
)

KEY = b"test-key"
A = make("110105", date(1990, 5, 17), 123)
B = make("140202", date(1985, 1, 2), 44)
C = make("140211", date(2001, 12, 31), 7)
CLASSES = {
    "DT-01": ClassWindow("DT-01", date(2026, 3, 2), date(2026, 3, 31)),
    "DT-02": ClassWindow("DT-02", date(2026, 3, 20), date(2026, 4, 30)),
    "DT-03": ClassWindow("DT-03", date(2026, 6, 1), date(2026, 6, 30)),
}


def hasher(rid: str) -> str:
    return keyed_hash(rid, KEY)


def bad_check_digit(rid: str) -> str:
    return rid[:17] + ("0" if rid[17] != "0" else "1")


def csv_bytes(lines: list[str], encoding: str) -> bytes:
    return "\n".join(lines).encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_every_encoding_with_a_title_row(encoding: str) -> None:
    data = csv_bytes([
        "申请培训（取证）补贴人员名册,,,,,,",
        "序号,姓名,性别,公民身份号码,手机号,人员类别,培训班编号,工号",
        f"1,张伟,男,{A},13800000000,农村转移劳动力,DT-01,1001",
        f"2,李娜,{'男' if int(B[16]) % 2 else '女'},{B.lower()},,失业人员,DT-01,1002",
        ",,,,,,,",
    ], encoding)
    rows = parse_roster(data, "roster.csv")
    assert [type(r) for r in rows] == [RosterRow, RosterRow]
    assert rows[0].row_no == 3 and rows[0].name == "张伟" and rows[0].resident_id == A and rows[0].pin == "1001"
    assert rows[1].resident_id == B.upper() and rows[1].target_group == "失业人员"
    assert A not in repr(rows[0])


def test_xlsx_roundtrip_and_numeric_pins() -> None:
    data = roster_xlsx([{"name": "王芳", "gender": "女" if int(C[16]) % 2 == 0 else "男", "resident_id": C,
                         "phone": "13900000000", "target_group": "退役军人", "class_code": "DT-03", "pin": "7"}])
    (row,) = parse_roster(data, "名册.xlsx")
    assert isinstance(row, RosterRow) and row.row_no == 3 and row.class_code == "DT-03" and row.pin == "7"


def test_every_bad_row_is_reported_without_the_clear_id() -> None:
    data = csv_bytes([
        "姓名,身份证号,性别,人员类别,班级编号,考勤号",
        f"甲,{bad_check_digit(A)},,农村转移劳动力,DT-01,1",   # row 2: check digit
        f"乙,{A},,农村转移劳动力,DT-01,2",                    # row 3: fine
        f"丙,{A},,农村转移劳动力,DT-01,3",                    # row 4: same person twice in the class
        f"丁,{B},,失业人员,DT-09,4",                          # row 5: unknown class
        f"戊,{C},,失业人员,DT-01,2",                          # row 6: PIN used on row 3
        f",{C},,失业人员,DT-03,5",                            # row 7: missing name
        f"己,{C},,外星人,DT-03,6",                            # row 8: unknown target group
        f"庚,{B},,残疾人,DT-02,7",                            # row 9: B enrolled in DT-01 already (overlaps)
    ], "utf-8")
    existing = [Enrolment(hasher(B), "DT-01", date(2026, 3, 2), date(2026, 3, 31))]
    check = validate_roster(parse_roster(data), CLASSES, existing, hasher)
    assert not check.ok
    got = {(e.row_no, e.field) for e in check.errors}
    assert got == {(2, "身份证号"), (4, "身份证号"), (5, "班级编号"), (6, "考勤号"), (7, "姓名"), (8, "人员类别"), (9, "身份证号")}
    assert "overlap" in next(e.reason for e in check.errors if e.row_no == 9)
    for e in check.errors:
        assert A not in str(e) and B not in str(e) and bad_check_digit(A) not in str(e)


def test_overlap_within_the_file_and_non_overlapping_classes() -> None:
    data = csv_bytes([
        "姓名,身份证号,班级编号,考勤号",
        f"甲,{A},DT-01,1",
        f"甲,{A},DT-02,1",  # overlaps DT-01 (from 03-20)
        f"甲,{A},DT-03,1",  # June: fine
    ], "utf-8")
    check = validate_roster(parse_roster(data), CLASSES, [], hasher)
    assert [(e.row_no, "DT-01" in e.reason) for e in check.errors] == [(3, True)]


def test_gender_must_match_the_id_and_pins_already_enrolled() -> None:
    wrong = "女" if int(A[16]) % 2 else "男"
    data = csv_bytes(["姓名,身份证号,性别,班级编号,考勤号", f"甲,{A},{wrong},DT-01,1", f"乙,{B},,DT-01,9"], "utf-8")
    check = validate_roster(parse_roster(data), CLASSES, [], hasher, existing_pins={"DT-01": {"9"}})
    assert [(e.row_no, e.field) for e in check.errors] == [(2, "性别"), (3, "考勤号")]


def test_a_file_without_a_roster_header_is_refused() -> None:
    with pytest.raises(RosterFormatError, match="header"):
        parse_roster("a,b\n1,2\n".encode(), "x.csv")
    with pytest.raises(RosterFormatError, match="考勤号"):
        parse_roster("姓名,身份证号,班级编号\n".encode(), "x.csv")
    assert isinstance(parse_roster(f"姓名,身份证号,班级编号,考勤号\n甲,{A},,1\n".encode())[0], RowError)
    with pytest.raises(RosterFormatError, match="neither UTF-8 nor GBK"):
        parse_roster("姓名,身份证号,班级编号,考勤号\n".encode("gb18030") + b"\x81", "x.csv")


def test_an_id_excel_stored_as_a_number_is_explained() -> None:
    from io import BytesIO

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "班级编号", "考勤号"])
    ws.append(["甲", float(A[:17] + "0") if A[17] != "X" else float(A[:17] + "1"), "DT-01", 12.0])
    ws.append(["乙", B, "DT-01", 13])
    buf = BytesIO()
    wb.save(buf)
    first, second = parse_roster(buf.getvalue(), "r.xlsx")
    assert isinstance(first, RowError) and "15 digits" in first.reason and first.row_no == 2
    assert isinstance(second, RosterRow) and second.pin == "13"
