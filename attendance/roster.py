"""The subsidy roster 《申请培训（取证）补贴人员名册》: parse it and find every bad row before anything is stored.

Institutions fill the roster by hand in Excel, so the parser finds the header row wherever it is
(under a title and a note), accepts the header spellings in use, and the validator reports every
bad row with its spreadsheet row number and the reason, never the resident ID in clear. An import is
all or nothing: one bad row and nothing is stored, because a half-imported roster is worse than none
(the payment would silently cover fewer people than the institution believes).
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from attendance.resident_id import InvalidResidentId, gender as id_gender, normalize

# column -> accepted header spellings (compared without spaces, case-insensitive)
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "学员姓名", "name"),
    "resident_id": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证", "resident_id", "id_number"),
    "gender": ("性别", "gender", "sex"),
    "phone": ("联系电话", "手机号", "手机号码", "电话", "phone"),
    "target_group": ("人员类别", "就业重点群体类别", "人员类型", "类别", "target_group"),
    "class_code": ("班级编号", "培训班编号", "班级代码", "开班编号", "班级", "class_code", "class"),
    "pin": ("考勤号", "工号", "考勤编号", "pin", "用户编号"),
}
REQUIRED = ("name", "resident_id", "class_code", "pin")
FIELD_LABELS = {"name": "姓名", "resident_id": "身份证号", "gender": "性别", "phone": "联系电话",
                "target_group": "人员类别", "class_code": "班级编号", "pin": "考勤号"}

# 就业重点群体 named by the policy, plus the categories rosters commonly carry
TARGET_GROUPS = (
    "农村转移劳动力", "失业人员", "城镇登记失业人员", "脱贫劳动力", "脱贫人口", "残疾人", "退役军人",
    "高校毕业生", "离校未就业高校毕业生", "企业职工", "在岗职工", "就业困难人员", "城乡未继续升学初高中毕业生",
    "其他",
)
_GENDERS = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}


class RosterFormatError(ValueError):
    """The file is not a roster this parser can read (no header row, unreadable bytes)."""


@dataclass(frozen=True)
class RosterRow:
    """One trainee line. `resident_id` is the canonical clear number: it stays in memory only (repr hides it)."""

    row_no: int
    name: str
    resident_id: str = field(repr=False)
    gender: str | None
    phone: str | None
    target_group: str | None
    class_code: str
    pin: str


@dataclass(frozen=True)
class RowError:
    row_no: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row_no}, {self.field}: {self.reason}"


@dataclass(frozen=True)
class ClassWindow:
    """A class a roster may enrol into, with its dates (for the overlap check)."""

    code: str
    start: date
    end: date


@dataclass(frozen=True)
class Enrolment:
    """An existing enrolment: the person (keyed hash of the resident ID), the class and its dates."""

    id_hash: str
    class_code: str
    start: date
    end: date


@dataclass
class RosterCheck:
    rows: list[RosterRow]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


# ---------------------------------------------------------------- parsing

def read_table(data: bytes, filename: str = "") -> list[list[str]]:
    """Rows of cell texts from an XLSX workbook (first sheet) or a CSV file (UTF-8, UTF-8 BOM, GBK)."""
    if data[:2] == b"PK" or filename.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    return _read_csv(data)


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException
        raise RosterFormatError(f"not a readable XLSX workbook: {exc.__class__.__name__}") from None
    ws = wb.worksheets[0]
    rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    wb.close()
    return rows


class _FromNumber(str):
    """Cell text of a cell Excel stored as a number: an 18-digit ID stored so has lost its last digits."""


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return _FromNumber(int(value))  # a PIN or phone typed as a number
    return str(value).strip()


def _read_csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # e.g. a truncated multi-byte sequence at the end
        raise RosterFormatError("the CSV is neither UTF-8 nor GBK")
    dialect = csv.excel_tab if text.count("\t") > text.count(",") else csv.excel
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]


def _norm(text: str) -> str:
    return "".join(text.split()).replace("*", "").replace("＊", "").lower()


def find_columns(header: list[str]) -> dict[str, int]:
    wanted = {_norm(alias): key for key, aliases in HEADERS.items() for alias in aliases}
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = wanted.get(_norm(cell))
        if key and key not in found:
            found[key] = i
    return found


def parse_roster(data: bytes, filename: str = "") -> list[RosterRow | RowError]:
    """Every data row as a RosterRow, or a RowError when a required cell is empty or the ID is invalid.
    Row numbers are the spreadsheet's (1-based, counting the title and header rows)."""
    table = read_table(data, filename)
    for h, header in enumerate(table[:20]):
        columns = find_columns(header)
        if "name" in columns and "resident_id" in columns:
            break
    else:
        raise RosterFormatError("no header row with 姓名 and 身份证号 in the first 20 rows")
    missing = [FIELD_LABELS[k] for k in REQUIRED if k not in columns]
    if missing:
        raise RosterFormatError(f"the header row {h + 1} lacks the column(s) {', '.join(missing)}")
    out: list[RosterRow | RowError] = []
    for r, cells in enumerate(table[h + 1:], start=h + 2):
        values = {k: (cells[i].strip() if i < len(cells) else "") for k, i in columns.items()}
        if not any(values.values()):
            continue  # blank line, or the sign-off rows under the table
        numeric_id = isinstance(cells[columns["resident_id"]] if columns["resident_id"] < len(cells) else "", _FromNumber)
        out.extend(_row(r, values, numeric_id))
    return out


def _row(r: int, v: dict[str, str], numeric_id: bool = False) -> list[RosterRow | RowError]:
    errors: list[RosterRow | RowError] = [RowError(r, FIELD_LABELS[k], "missing") for k in REQUIRED if not v.get(k)]
    rid = ""
    if numeric_id and len(v.get("resident_id", "")) > 15:
        errors.append(RowError(r, FIELD_LABELS["resident_id"], "stored as a number in Excel, which keeps only 15 digits; "
                                                                 "format the column as text and type the ID again"))
    elif v.get("resident_id"):
        try:
            rid = normalize(v["resident_id"])
        except InvalidResidentId as exc:
            errors.append(RowError(r, FIELD_LABELS["resident_id"], str(exc)))
    gender = None
    if v.get("gender"):
        gender = _GENDERS.get(v["gender"].strip().lower())
        if gender is None:
            errors.append(RowError(r, FIELD_LABELS["gender"], f"unknown gender {v['gender']!r} (男/女)"))
        elif rid and gender != id_gender(rid):
            errors.append(RowError(r, FIELD_LABELS["gender"], "does not match the gender digit of the resident ID"))
    group = v.get("target_group") or None
    if group and group not in TARGET_GROUPS:
        errors.append(RowError(r, FIELD_LABELS["target_group"], f"unknown target group {group!r}"))
    if errors:
        return errors
    return [RosterRow(r, v["name"], rid, gender or id_gender(rid), v.get("phone") or None, group,
                      v["class_code"], v["pin"].lstrip("'"))]


# ---------------------------------------------------------------- validation

def validate_roster(
    parsed: Iterable[RosterRow | RowError],
    classes: Mapping[str, ClassWindow],
    existing: Iterable[Enrolment],
    hasher: Callable[[str], str],
    existing_pins: Mapping[str, set[str]] | None = None,
) -> RosterCheck:
    """Check the parsed rows against the classes and the enrolments already stored.

    `hasher` maps a canonical resident ID to its keyed hash, so existing enrolments can be matched
    without the clear number ever having been stored. Every problem of every row is reported.
    """
    items = list(parsed)
    rows = [p for p in items if isinstance(p, RosterRow)]
    errors = [p for p in items if isinstance(p, RowError)]
    existing_pins = existing_pins or {}
    by_person: dict[str, list[Enrolment]] = defaultdict(list)
    for e in existing:
        by_person[e.id_hash].append(e)
    seen_in_class: dict[tuple[str, str], int] = {}
    pin_in_class: dict[tuple[str, str], int] = {}
    file_enrolments: dict[str, list[tuple[int, ClassWindow]]] = defaultdict(list)
    for row in rows:
        cls = classes.get(row.class_code)
        if cls is None:
            errors.append(RowError(row.row_no, FIELD_LABELS["class_code"], f"unknown class {row.class_code!r}"))
            continue
        h = hasher(row.resident_id)
        first = seen_in_class.setdefault((h, cls.code), row.row_no)
        if first != row.row_no:
            errors.append(RowError(row.row_no, FIELD_LABELS["resident_id"], f"the same person is already on row {first} for this class"))
        pin_first = pin_in_class.setdefault((cls.code, row.pin), row.row_no)
        if pin_first != row.row_no:
            errors.append(RowError(row.row_no, FIELD_LABELS["pin"], f"PIN {row.pin} is already used on row {pin_first} in this class"))
        elif row.pin in existing_pins.get(cls.code, set()):
            errors.append(RowError(row.row_no, FIELD_LABELS["pin"], f"PIN {row.pin} is already enrolled in class {cls.code}"))
        for e in by_person.get(h, []):
            if e.class_code == cls.code:
                errors.append(RowError(row.row_no, FIELD_LABELS["resident_id"], f"already enrolled in class {cls.code}"))
            elif e.start <= cls.end and cls.start <= e.end:
                errors.append(RowError(row.row_no, FIELD_LABELS["resident_id"],
                                       f"enrolled in class {e.class_code} ({e.start} to {e.end}), whose dates overlap"))
        for other_row, other in file_enrolments[h]:
            if other.code != cls.code and other.start <= cls.end and cls.start <= other.end:
                errors.append(RowError(row.row_no, FIELD_LABELS["resident_id"],
                                       f"the same person is on row {other_row} for class {other.code}, whose dates overlap"))
        file_enrolments[h].append((row.row_no, cls))
    errors.sort(key=lambda e: (e.row_no, e.field))
    return RosterCheck(rows, errors)


def roster_xlsx(rows: Iterable[Mapping[str, str]], title: str = "申请培训（取证）补贴人员名册") -> bytes:
    """A roster workbook in the bureau's layout (title row, header row, one trainee a row): what the
    demo and tests feed to the importer, and a template an institution can fill in."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "名册"
    header = ["序号", "姓名", "性别", "身份证号", "联系电话", "人员类别", "班级编号", "考勤号"]
    keys = [None, "name", "gender", "resident_id", "phone", "target_group", "class_code", "pin"]
    ws.append([title])
    ws.append(header)
    for i, row in enumerate(rows, start=1):
        ws.append([i] + [str(row.get(k) or "") for k in keys[1:]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
