"""Spreadsheet and CSV exports from attendance software (XLSX; CSV in UTF-8, UTF-8 with BOM, GBK).

Institutions without pushing terminals hand in exports; column names vary by vendor and language, so
headers are matched against the common names (工号, 姓名, 打卡时间, 验证方式, ...). The verify method is
mapped onto the ZKTeco codes (1 fingerprint, 15 face, 3 password, 4 card, 0 unknown) so a punch keeps
the same dedupe key whichever way it arrived. Row numbers are spreadsheet rows (header = its own row).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from typing import Any

from devices.errors import ProtocolError
from devices.localtime import LocalToUtc, match_datetime
from devices.punch import Method, Punch, PunchSource, RejectedLine
from devices.zkteco import method_for_verify

_HEADERS: dict[str, tuple[str, ...]] = {
    "pin": ("工号", "人员编号", "考勤号码", "考勤号", "用户编号", "登记号码", "员工编号", "员工号", "人员工号", "用户号",
            "编号", "用户id", "人员id", "pin", "no", "acno", "userid", "employeeid", "empno", "employeeno",
            "personid", "id"),
    "name": ("姓名", "人员姓名", "员工姓名", "名字", "name", "username", "employeename"),
    # a full date-time, or a time of day (or several) completed by the date column
    "datetime": ("打卡时间", "考勤时间", "日期时间", "刷卡时间", "记录时间", "识别时间", "通行时间", "签卡时间", "时间",
                 "打卡时刻", "datetime", "checktime", "punchtime", "attendancetime", "timestamp", "recordtime", "time"),
    "date": ("日期", "考勤日期", "打卡日期", "date"),
    # one row per person and day with a check-in and a check-out column; a lone 签到时间 is the punch time
    "in": ("签到时间", "上班时间", "上班打卡", "签到", "上班", "checkintime", "clockin", "intime"),
    "out": ("签退时间", "下班时间", "下班打卡", "签退", "下班", "checkouttime", "clockout", "outtime"),
    "verify": ("验证方式", "验证方法", "识别方式", "打卡方式", "认证方式", "比对方式", "验证", "verifymode", "verifytype",
               "verify", "verification", "verifycode"),
    "state": ("状态", "考勤状态", "打卡状态", "签到状态", "state", "status", "inout"),
}
_SYNONYM = {syn: key for key, syns in _HEADERS.items() for syn in syns}
_NORM_RE = re.compile(r"[\s:：()（）_.\-/\\]+")
_HEADER_SCAN_ROWS = 20

# Checked in order: the more specific words first (指静脉 before 指纹, 加班签到 before 签到).
_VERIFY_WORDS = (("指静脉", 21), ("fingervein", 21), ("静脉", 21), ("掌", 25), ("palm", 25), ("人脸", 15),
                 ("面部", 15), ("脸", 15), ("face", 15), ("指纹", 1), ("finger", 1), ("fp", 1), ("密码", 3),
                 ("password", 3), ("pwd", 3), ("卡", 4), ("card", 4))
_STATE_WORDS = (("加班签到", 4), ("加班签退", 5), ("外出返回", 3), ("外出", 2), ("签到", 0), ("上班", 0),
                ("签退", 1), ("下班", 1), ("overtimein", 4), ("otin", 4), ("overtimeout", 5), ("otout", 5),
                ("breakout", 2), ("breakin", 3), ("checkin", 0), ("cin", 0), ("checkout", 1), ("cout", 1),
                ("in", 0), ("out", 1))
_DT_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+|\s*)(\d{1,2})[:：时](\d{1,2})"
                    r"(?:[:：分](\d{1,2})秒?)?(?:\.\d+)?$")
_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_TIME_RE = re.compile(r"^(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2}))?$")


def _norm(cell: Any) -> str:
    return _NORM_RE.sub("", str(cell)).lower() if cell is not None else ""


def _cell_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.isoformat(" ", timespec="seconds")
    return str(cell).strip()


# ---------------------------------------------------------------- reading rows

def _decode_csv(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:  # odd length, lone surrogate
            raise ProtocolError(f"CSV starts with a UTF-16 byte-order mark but is not UTF-16 text "
                                f"(byte {exc.start}: {exc.reason})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # superset of GBK/GB2312, what Chinese Excel writes
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"CSV is neither UTF-8 nor GBK/GB18030 text (byte {exc.start})") from exc


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    text = _decode_csv(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(("\t", ",", ";"), key=first.count) if first else ","
    for row_no, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
        yield row_no, row


def _xlsx_sheets(data: bytes) -> Iterator[Iterator[tuple[int, list[Any]]]]:
    import openpyxl  # heavy; only sheets need it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException variants
        raise ProtocolError(f"not a readable XLSX workbook: {exc}") from exc
    for ws in wb.worksheets:
        yield ((row_no, list(values)) for row_no, values in enumerate(ws.iter_rows(values_only=True), 1))


def _row_sources(data: bytes, filename: str) -> Iterator[Iterator[tuple[int, list[Any]]]]:
    name = filename.lower()
    if name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ProtocolError("old binary .xls is not supported: save the export as .xlsx or .csv")
    if name.endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        yield from _xlsx_sheets(data)
    else:
        yield _csv_rows(data)


# ---------------------------------------------------------------- header and values

def _map_header(row: Sequence[Any]) -> dict[str, int]:
    cols: dict[str, int] = {}
    for i, cell in enumerate(row):
        key = _SYNONYM.get(_norm(cell))
        if key and key not in cols:
            cols[key] = i
    if "datetime" in cols:
        cols.pop("in", None)
        cols.pop("out", None)
    elif "in" in cols and "out" not in cols:
        cols["datetime"] = cols.pop("in")
    elif "out" in cols and "in" not in cols:
        cols["datetime"] = cols.pop("out")
    return cols


def _time_columns(cols: dict[str, int]) -> list[tuple[str, int | None]]:
    """The columns holding punch times, each with the state key it implies (check-in 0, check-out 1)."""
    if "datetime" in cols:
        return [("datetime", None)]
    return [(key, state) for key, state in (("in", 0), ("out", 1)) if key in cols]


def _has_required(cols: dict[str, int]) -> bool:
    return "pin" in cols and bool(_time_columns(cols))


def _to_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, (int, float)) and 20000 < value < 80000:  # an Excel serial without a date format
        from openpyxl.utils.datetime import from_excel
        return from_excel(value).replace(microsecond=0)
    return match_datetime(_DT_RE, _cell_text(value))


def _to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    dt = _to_datetime(value)
    if dt is not None:
        return dt.date()
    m = _DATE_RE.match(_cell_text(value))
    try:
        return date(*(int(g) for g in m.groups())) if m else None
    except ValueError:
        return None


def _to_times(value: Any) -> list[time] | None:
    """One or more times of day (some exports list all of a day's punches in one cell)."""
    if isinstance(value, time):
        return [value.replace(microsecond=0)]
    if isinstance(value, datetime):
        return [value.time().replace(microsecond=0)]
    if isinstance(value, float) and 0 <= value < 1:  # Excel time fraction
        seconds = round(value * 86400)
        return [time(seconds // 3600 % 24, seconds // 60 % 60, seconds % 60)]
    out = []
    for token in re.split(r"[\s,，;；]+", _cell_text(value)):
        if not token:
            continue
        m = _TIME_RE.match(token)
        if m is None:
            return None
        try:
            out.append(time(*(int(g) for g in m.groups(default="0"))))
        except ValueError:
            return None
    return out or None


def verify_from_text(value: Any) -> tuple[int, Method]:
    """ZKTeco verify code and method for a sheet's 验证方式 cell (text or numeric code); 0 if unknown."""
    text = _norm(value)
    if not text:
        return 0, Method.UNKNOWN
    if text.lstrip("-").isdigit():
        code = int(text)
        return code, method_for_verify(code)
    for word, code in _VERIFY_WORDS:
        if word in text:
            return code, method_for_verify(code)
    return 0, Method.UNKNOWN


def state_from_text(value: Any) -> int:
    """ZKTeco state key for a 状态 cell (签到 0, 签退 1, 外出 2, 外出返回 3, 加班签到 4, 加班签退 5); -1 if absent."""
    text = _norm(value)
    if not text:
        return -1
    if text.lstrip("-").isdigit():
        return int(text)
    for word, code in _STATE_WORDS:
        if (word in text) if (not word.isascii() or len(word) > 3) else (word == text):
            return code
    return -1


# ---------------------------------------------------------------- parse

def parse_sheet(data: bytes, filename: str, device_sn: str, tz_name: str) -> tuple[list[Punch], list[RejectedLine]]:
    """Parse an attendance export into punches and rejected rows.

    The header row is the first of the first 20 rows naming a PIN column and a time column (a full
    date-time, or a date plus a time). Raises ProtocolError when no such row exists, naming what was
    expected and what was found.
    """
    to_utc = LocalToUtc(tz_name)
    seen_headers: list[str] = []
    for rows in _row_sources(data, filename):
        cols: dict[str, int] | None = None
        punches: list[Punch] = []
        rejected: list[RejectedLine] = []
        for row_no, row in rows:
            if cols is None:
                if row_no > _HEADER_SCAN_ROWS:
                    break
                if any(c not in (None, "") for c in row):
                    candidate = _map_header(row)
                    if _has_required(candidate):
                        cols = candidate
                    elif not seen_headers:
                        seen_headers = [_cell_text(c) for c in row if c not in (None, "")]
                continue
            if not any(_cell_text(c) for c in row):
                continue
            _parse_row(row_no, row, cols, device_sn, tz_name, to_utc, punches, rejected)
        if cols is not None:
            return punches, rejected
    raise ProtocolError(
        "no header row found: expected a PIN column (工号/人员编号/考勤号码/PIN/No.) and a time column "
        "(打卡时间/考勤时间/日期时间/Time, 日期 + 时间, or 签到时间/签退时间); found: " + (", ".join(seen_headers) or "no cells"))


def _parse_row(row_no: int, row: list[Any], cols: dict[str, int], device_sn: str, tz_name: str,
               to_utc: LocalToUtc, punches: list[Punch], rejected: list[RejectedLine]) -> None:
    def cell(key: str) -> Any:
        i = cols.get(key)
        return row[i] if i is not None and i < len(row) else None

    text = "\t".join(_cell_text(c) for c in row)
    pin = _cell_text(cell("pin")).lstrip("'")
    if not pin:
        rejected.append(RejectedLine(row_no, text, "missing PIN"))
        return
    stamps: list[tuple[datetime, int | None]] = []
    for key, implied_state in _time_columns(cols):
        value = cell(key)
        if not _cell_text(value):
            continue
        got = _stamps(value, cell("date") if "date" in cols else None)
        if isinstance(got, str):
            rejected.append(RejectedLine(row_no, text, got))
            return
        stamps += [(t, implied_state) for t in got]
    if not stamps:
        rejected.append(RejectedLine(row_no, text, "missing time"))
        return
    verify, method = verify_from_text(cell("verify"))
    state = state_from_text(cell("state"))
    extra = {}
    name = _cell_text(cell("name"))
    if name:
        extra["name"] = name
    raw_verify = _cell_text(cell("verify"))
    if raw_verify:
        extra["verify_text"] = raw_verify
    for local, implied_state in stamps:
        status = state if state != -1 or implied_state is None else implied_state
        punches.append(Punch(PunchSource.SHEET, device_sn, pin, local, to_utc(local), tz_name, method, verify,
                             status, line_no=row_no, extra=dict(extra)))


def _stamps(value: Any, date_value: Any) -> list[datetime] | str:
    """Punch times from one time cell (a full date-time, or times of day completed by the date cell),
    or the reason they cannot be read."""
    dt = _to_datetime(value)
    if dt is not None and not (dt.year <= 1900 and date_value is not None):  # Excel time-only as 1899-12-30
        return [dt]
    if date_value is None:
        return f"bad time {_cell_text(value)!r}"
    d, times = _to_date(date_value), _to_times(value)
    if d is None:
        return f"bad date {_cell_text(date_value)!r}"
    if times is None:
        return f"bad time {_cell_text(value)!r}"
    return [datetime.combine(d, t) for t in times]


# ---------------------------------------------------------------- builders (tests, simulator)

def _cell_out(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def build_csv(rows: Iterable[Sequence[Any]], encoding: str = "utf-8", bom: bool = False,
              delimiter: str = ",") -> bytes:
    """A CSV export as Excel or attendance software writes it (first row = header)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell_out(c) for c in row])
    out = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + out) if bom else out


def build_xlsx(rows: Iterable[Sequence[Any]], headers: Sequence[str], *, title_rows: Sequence[str] = ()) -> bytes:
    """An XLSX export; datetime cells are real Excel date cells. `title_rows` go above the header."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for title in title_rows:
        ws.append([title])
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
