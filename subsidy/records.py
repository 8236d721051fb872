"""Employment contracts, certificates and final-assessment results as institutions send them: a CSV
or XLSX table with Chinese or English headers. Parsing is pure (bytes in, rows and errors out); every
bad row is reported with its row number and reason, and the caller imports all rows or none.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO, StringIO
from typing import Any, Literal

from attendance.resident_id import InvalidResidentId, normalize
from subsidy.rules import normalize_level

RecordKind = Literal["employment", "certificates", "assessment"]

ALIASES = {
    "resident_id": ("resident_id", "身份证号", "身份证号码", "公民身份号码", "id_number"),
    "name": ("name", "姓名"),
    "class_code": ("class_code", "class", "班级", "班级编号", "培训班编号"),
    "employer": ("employer", "就业单位", "用人单位", "单位名称"),
    "contract_start": ("contract_start", "合同开始日期", "合同起始日期", "起始日期"),
    "contract_months": ("contract_months", "合同期限（月）", "合同期限(月)", "合同期限", "期限（月）"),
    "evidence_ref": ("evidence_ref", "证明材料", "合同编号", "证明材料编号"),
    "level": ("level", "等级", "证书等级", "取证等级"),
    "certificate_no": ("certificate_no", "证书编号"),
    "issued_date": ("issued_date", "发证日期", "取证日期"),
    "first_time": ("first_time", "初次取证", "是否初次取证"),
    "occupation": ("occupation", "职业工种", "职业（工种）"),
    "passed": ("passed", "结业考核", "考核结果", "是否合格"),
    "score": ("score", "成绩", "考核成绩"),
}
REQUIRED: dict[RecordKind, tuple[str, ...]] = {
    "employment": ("resident_id", "employer", "contract_start", "contract_months"),
    "certificates": ("resident_id", "level", "certificate_no", "issued_date"),
    "assessment": ("resident_id", "class_code", "passed"),
}
_TRUE = {"1", "true", "yes", "y", "是", "合格", "通过", "pass", "passed"}
_FALSE = {"0", "false", "no", "n", "否", "不合格", "未通过", "fail", "failed"}


@dataclass(frozen=True)
class Row:
    row_no: int  # as the institution sees it in its file (header is row 1)
    resident_id: str  # canonical; never logged or shown in clear
    values: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    row_no: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row_no}: {self.reason}"


class UnreadableTable(ValueError):
    """The file is neither a workbook nor text in an encoding Chinese offices write."""


def read_table(data: bytes, filename: str) -> list[list[Any]]:
    """Cells of the first sheet (XLSX) or of the CSV (UTF-8 with or without BOM, or GB18030)."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            ws = load_workbook(BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException
            raise UnreadableTable(f"not a readable XLSX workbook: {exc.__class__.__name__}") from None
        return [list(r) for r in ws.iter_rows(values_only=True)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise UnreadableTable(f"CSV is neither UTF-8 nor GBK/GB18030 text (byte {exc.start})") from None
    return [list(r) for r in csv.reader(StringIO(text))]


def _header_map(header: list[Any]) -> dict[str, int]:
    out = {}
    for i, cell in enumerate(header):
        name = str(cell or "").strip()
        for key, names in ALIASES.items():
            if name in names or name.lower() in names:
                out.setdefault(key, i)
    return out


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    return date.fromisoformat(text)


def _bool(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not yes/no: {value!r}")


def _convert(kind: RecordKind, v: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: (str(x).strip() if x is not None else None) for k, x in v.items()}
    if kind == "employment":
        out["contract_start"] = _date(v["contract_start"])
        months = int(str(v["contract_months"]).strip().removesuffix("个月").removesuffix("月"))
        if months <= 0:
            raise ValueError("contract length must be positive months")
        out["contract_months"] = months
    elif kind == "certificates":
        out["level"] = normalize_level(str(v["level"]))
        out["issued_date"] = _date(v["issued_date"])
        out["first_time"] = True if v.get("first_time") in (None, "") else _bool(v["first_time"])
    else:
        out["passed"] = _bool(v["passed"])
    return out


def parse(kind: RecordKind, data: bytes, filename: str) -> tuple[list[Row], list[RowError]]:
    """Rows that parsed and the errors of those that did not. The resident ID is checked (GB 11643).
    A file that cannot be read at all is one error on row 1."""
    try:
        table = [r for r in read_table(data, filename) if any(c not in (None, "") for c in r)]
    except UnreadableTable as exc:
        return [], [RowError(1, str(exc))]
    if not table:
        return [], [RowError(1, "empty file")]
    cols = _header_map(table[0])
    missing = [k for k in REQUIRED[kind] if k not in cols]
    if missing:
        return [], [RowError(1, "missing columns: " + ", ".join(missing))]
    rows, errors = [], []
    for n, cells in enumerate(table[1:], start=2):
        v = {k: (cells[i] if i < len(cells) else None) for k, i in cols.items()}
        empty = [k for k in REQUIRED[kind] if v.get(k) in (None, "")]
        if empty:
            errors.append(RowError(n, "empty " + ", ".join(empty)))
            continue
        try:
            rid = normalize(str(v.pop("resident_id")))
            rows.append(Row(n, rid, _convert(kind, v)))
        except InvalidResidentId as exc:
            errors.append(RowError(n, str(exc)))
        except (ValueError, TypeError) as exc:
            errors.append(RowError(n, str(exc)))
    return rows, errors
