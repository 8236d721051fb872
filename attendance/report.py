"""The sign-in sheet (签到表) of a presence run, as XLSX or CSV bytes.

It looks like the paper sheet an inspector knows: trainees as rows, training days as columns, one
mark per cell (√ present, 迟 late, 早 left early, × absent, ...), the reason and the session detail in
a cell comment, a legend, and totals per trainee and per day. Chinese by default, English on request.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from attendance.presence import Reason

# mark, Chinese label, English label, fill colour
REASONS: dict[Reason, tuple[str, str, str, str]] = {
    Reason.PRESENT: ("√", "出勤", "present", "C6EFCE"),
    Reason.LATE: ("迟", "迟到（在迟到上限内，计出勤）", "late (within the limit, counts as present)", "FFEB9C"),
    Reason.LEFT_EARLY: ("早", "早退（未在下课前后签退）", "left early (no check-out around the end)", "FCD5B4"),
    Reason.ABSENT: ("×", "缺勤（签到时段内无打卡）", "absent (no punch in the check-in window)", "FFC7CE"),
    Reason.NON_BIOMETRIC_ONLY: ("卡", "仅刷卡/密码打卡（非人脸、指纹）", "card or password only (not biometric)", "FFC7CE"),
    Reason.WRONG_SITE: ("外", "非本培训点登记的考勤机", "terminal not registered at the class's site", "FFC7CE"),
    Reason.CLOCK_FAULT: ("钟", "考勤机时钟异常，时间不可信", "terminal clock fault: the time proves nothing", "FFC7CE"),
    Reason.FACE_MISMATCH: ("脸", "打卡照片与本人不符", "photo does not match the trainee", "FF9999"),
    Reason.PROXY_SUSPECTED: ("代", "疑似代打卡", "proxy punch suspected", "FF9999"),
}
WEEKDAYS_ZH = "一二三四五六日"
TEXT = {
    "zh": {"title": "培训班签到表（打卡出勤核验）", "institution": "培训机构", "site": "培训地点", "class": "班级",
           "run": "核验版本", "computed": "计算时间", "no": "序号", "name": "姓名", "id": "身份证号", "pin": "考勤号",
           "days": "出勤天数", "rate": "出勤率", "present": "出勤人数", "coverage": "打卡覆盖率", "legend": "图例",
           "has": "有人脸/指纹打卡记录", "needs": "打卡记录不全，需抽样核查培训视频", "sessions": "课时"},
    "en": {"title": "Class sign-in sheet (verified from punches)", "institution": "Institution", "site": "Site",
           "class": "Class", "run": "Run version", "computed": "Computed at", "no": "No.", "name": "Name",
           "id": "Resident ID", "pin": "PIN", "days": "Days present", "rate": "Attendance", "present": "Present",
           "coverage": "Punch coverage", "legend": "Legend", "has": "has biometric punch records",
           "needs": "punch records incomplete: video sampling inspection needed", "sessions": "Sessions"},
}


@dataclass(frozen=True)
class SignInSheet:
    """Everything the sheet shows; built by the service from a stored run."""

    class_code: str
    class_name: str
    institution: str
    site: str
    version: int
    computed_at: datetime | None
    has_records: bool
    days: list[date]
    sessions: list[str]
    trainees: list[tuple[str, str, str]]  # name, masked resident ID, PIN
    codes: np.ndarray  # int8 (trainees, days)
    session_codes: np.ndarray  # int8 (trainees, days, sessions)
    day_coverage: list[float]


def mark(code: int) -> str:
    return REASONS[Reason(int(code))][0]


def label(code: int, lang: str = "zh") -> str:
    entry = REASONS[Reason(int(code))]
    return entry[1] if lang == "zh" else entry[2]


def _day_header(d: date, lang: str) -> str:
    return f"{d:%m-%d} {WEEKDAYS_ZH[d.weekday()]}" if lang == "zh" else f"{d:%m-%d} {d:%a}"


def _cell_note(sheet: SignInSheet, t: int, d: int, lang: str) -> str:
    lines = [label(sheet.codes[t, d], lang)]
    for s, name in enumerate(sheet.sessions):
        lines.append(f"{name}: {label(sheet.session_codes[t, d, s], lang)}")
    return "\n".join(lines)


def _grid(sheet: SignInSheet, lang: str) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Header, trainee rows and total rows as text: shared by both formats."""
    tx = TEXT[lang]
    header = [tx["no"], tx["name"], tx["id"], tx["pin"]] + [_day_header(d, lang) for d in sheet.days] + [tx["days"], tx["rate"]]
    present = sheet.codes <= Reason.LATE
    n_days = len(sheet.days)
    rows = []
    for t, (name, masked, pin) in enumerate(sheet.trainees):
        attended = int(present[t].sum())
        rows.append([str(t + 1), name, masked, pin] + [mark(c) for c in sheet.codes[t]]
                    + [str(attended), f"{attended / n_days:.0%}" if n_days else "-"])
    per_day = present.sum(axis=0) if sheet.trainees else np.zeros(n_days, int)
    totals = [["", tx["present"], "", ""] + [str(int(x)) for x in per_day] + [str(int(present.sum())), ""],
              ["", tx["coverage"], "", ""] + [f"{c:.0%}" for c in sheet.day_coverage] + ["", ""]]
    return header, rows, totals


def _preamble(sheet: SignInSheet, lang: str) -> list[str]:
    tx = TEXT[lang]
    when = sheet.computed_at.strftime("%Y-%m-%d %H:%M UTC") if sheet.computed_at else ""
    return [f"{tx['institution']}: {sheet.institution}", f"{tx['site']}: {sheet.site}",
            f"{tx['class']}: {sheet.class_code} {sheet.class_name}", f"{tx['run']}: v{sheet.version} ({tx['computed']} {when})",
            f"{tx['sessions']}: {', '.join(sheet.sessions)}", tx["has"] if sheet.has_records else tx["needs"]]


def sheet_csv(sheet: SignInSheet, lang: str = "zh") -> bytes:
    """CSV in UTF-8 with BOM (Excel opens it with the Chinese intact)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([TEXT[lang]["title"]])
    for line in _preamble(sheet, lang):
        w.writerow([line])
    header, rows, totals = _grid(sheet, lang)
    w.writerow(header)
    w.writerows(rows)
    w.writerows(totals)
    w.writerow([])
    w.writerow([TEXT[lang]["legend"]])
    for code in Reason:
        w.writerow([mark(code), label(code, lang)])
    return buf.getvalue().encode("utf-8-sig")


def _number(text: str) -> str | int | float:
    """Counts and rates as numbers in the workbook, so an inspector can sum and sort them."""
    if text.isdigit():
        return int(text)
    if text.endswith("%") and text[:-1].isdigit():
        return int(text[:-1]) / 100
    return text


def sheet_xlsx(sheet: SignInSheet, lang: str = "zh") -> bytes:
    """The sheet as a workbook: marks coloured by reason, the reason per cell in a comment, a legend."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    tx = TEXT[lang]
    wb = Workbook()
    ws = wb.active
    ws.title = "签到表" if lang == "zh" else "sign-in"
    header, rows, totals = _grid(sheet, lang)
    width = len(header)
    ws.cell(1, 1, tx["title"]).font = Font(size=14, bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(width, 4))
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    pre = _preamble(sheet, lang)
    ws.cell(2, 1, "    ".join(pre[:3]))
    ws.cell(3, 1, "    ".join(pre[3:5]))
    verdict = ws.cell(4, 1, pre[5])
    verdict.font = Font(bold=True, color="006100" if sheet.has_records else "9C0006")
    top = 6
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for c, text in enumerate(header, start=1):
        cell = ws.cell(top, c, text)
        cell.font, cell.alignment, cell.border = Font(bold=True), center, border
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    fills = {code: PatternFill("solid", fgColor=entry[3]) for code, entry in REASONS.items()}
    for t, row in enumerate(rows):
        r = top + 1 + t
        for c, text in enumerate(row, start=1):
            cell = ws.cell(r, c, _number(text))
            cell.border = border
            day = c - 5
            if 0 <= day < len(sheet.days):
                code = Reason(int(sheet.codes[t, day]))
                cell.alignment, cell.fill = center, fills[code]
                if code != Reason.PRESENT:
                    cell.comment = Comment(_cell_note(sheet, t, day, lang), "punchaudit", width=260, height=90)
    for k, row in enumerate(totals):
        r = top + 1 + len(rows) + k
        for c, text in enumerate(row, start=1):
            cell = ws.cell(r, c, _number(text))
            cell.font, cell.border = Font(bold=True), border
            if c > 4:
                cell.alignment = center
    for row in ws.iter_rows(min_row=top + 1):
        for cell in row:
            if isinstance(cell.value, float):
                cell.number_format = "0%"
    r = top + len(rows) + len(totals) + 2
    ws.cell(r, 2, tx["legend"]).font = Font(bold=True)
    for k, code in enumerate(Reason, start=1):
        m = ws.cell(r + k, 2, mark(code))
        m.fill, m.alignment = fills[code], center
        ws.cell(r + k, 3, label(code, lang))
    for c, w in zip(range(1, 5), (6, 10, 21, 8)):
        ws.column_dimensions[get_column_letter(c)].width = w
    for c in range(5, 5 + len(sheet.days)):
        ws.column_dimensions[get_column_letter(c)].width = 7
    ws.freeze_panes = ws.cell(top + 1, 5)
    ws.print_title_rows = f"{top}:{top}"
    ws.page_setup.orientation = "landscape"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
