"""Parsing contracts, certificates and assessment results: headers in Chinese or English, CSV or XLSX,
every bad row named with its number."""
from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

from openpyxl import Workbook

from attendance.resident_id import make
from subsidy import records

RID = make("140202", date(1991, 5, 6), 12)


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_with_english_headers_and_real_dates() -> None:
    data = xlsx([["resident_id", "employer", "contract_start", "contract_months", "evidence_ref"],
                 [RID, "Datong Data Co.", datetime(2023, 5, 1), 12, "HT-1"]])
    rows, errors = records.parse("employment", data, "jobs.xlsx")
    assert errors == [] and rows[0].resident_id == RID
    assert rows[0].values["contract_start"] == date(2023, 5, 1) and rows[0].values["contract_months"] == 12


def test_gb18030_csv_with_chinese_headers_and_units() -> None:
    text = f"身份证号,就业单位,合同起始日期,合同期限（月）\n{RID.lower()},大同公司,2023/05/01,12个月\n"
    rows, errors = records.parse("employment", text.encode("gb18030"), "jobs.csv")
    assert errors == [] and rows[0].values["contract_months"] == 12 and rows[0].values["employer"] == "大同公司"


def test_every_bad_row_is_reported_without_the_number() -> None:
    bad_id = RID[:17] + ("1" if RID[17] != "1" else "2")
    text = ("身份证号,班级编号,证书等级,证书编号,发证日期,初次取证\n"
            f"{RID},C1,技师,Z1,2023-05-01,是\n"
            f"{bad_id},C1,初级,Z2,2023-05-01,是\n"
            f"{RID},C1,高级工,,2023-05-01,是\n"
            f"{RID},C1,高级工,Z4,2023-13-01,是\n"
            f"{RID},C1,中级工,Z5,2023-05-01,也许\n"
            f"{RID},C1,中级,Z6,2023-05-01,\n")
    rows, errors = records.parse("certificates", text.encode(), "c.csv")
    assert [e.row_no for e in errors] == [2, 3, 4, 5, 6]
    assert "check digit" in errors[1].reason and bad_id not in str(errors[1])
    assert "empty certificate_no" in errors[2].reason
    assert [r.values["level"] for r in rows] == ["intermediate"] and rows[0].values["first_time"] is True


def test_missing_columns_and_empty_file() -> None:
    assert records.parse("assessment", "身份证号,结业考核\n".encode(), "r.csv")[1][0].reason == "missing columns: class_code"
    assert records.parse("assessment", b"", "r.csv")[1][0].reason == "empty file"
    # unreadable files are one clear error, not an exception the API would answer with a 500
    assert records.parse("assessment", "身份证号".encode("gb18030") + b"\x81", "r.csv")[1] == \
        [records.RowError(1, "CSV is neither UTF-8 nor GBK/GB18030 text (byte 8)")]
    assert records.parse("assessment", b"PK\x03\x04 not really a zip", "r.xlsx")[1] == \
        [records.RowError(1, "not a readable XLSX workbook: BadZipFile")]
    rows, errors = records.parse("assessment", f"身份证号,班级,结业考核\n{RID},C1,不合格\n".encode(), "r.csv")
    assert errors == [] and rows[0].values["passed"] is False
