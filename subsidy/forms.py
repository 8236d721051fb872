"""The claim package as an XLSX workbook: annex 2 (申请表), annex 3 (人员名册) and an evidence sheet.

Annex 2 follows the policy's table cell by cell (4 columns: label, value, label, value; the amount
column in 万元 as printed, exact to the fen). The policy lists annex 3 by title only and gives no
columns, so the roster's columns are the roster fields the service holds plus the verified figures
behind each amount. Resident IDs appear masked: the service keeps only the masked number and a keyed
hash, never the full number. Building the workbook does no I/O; the caller saves it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from subsidy.claim import Line
from subsidy.reasons import Reason
from subsidy.rules import LEVEL_ZH, Rates, fen_to_wan, fen_to_yuan

TITLE2 = {"zh": "职业技能提升培训（取证）补贴资金申请表", "en": "Application for vocational skills training (certification) subsidy"}
TITLE3 = {"zh": "申请培训（取证）补贴人员名册", "en": "Roster of trainees claimed for training (certification) subsidy"}
SHEETS = {"zh": ("附件2 申请表", "附件3 人员名册", "证据摘要"), "en": ("Annex 2 application", "Annex 3 roster", "Evidence")}
ANNEX2_HEADER = {"zh": ("申请补贴类型", "补贴标准", "申请补贴人数", "申请补贴资金（万元）"),
                 "en": ("Subsidy type", "Standard", "Persons claimed", "Amount claimed (10,000 CNY)")}
ANNEX2_FIELDS = {
    "zh": [("单位名称", None), ("培训时间", "培训方式"), ("培训职业工种", "培训人数"), ("取证类别", "取证人数"),
           ("使用教材名称", None), ("账户名称", "账号"), ("开户银行", "开户行行号")],
    "en": [("Applicant", None), ("Training period", "Training mode"), ("Occupation", "Trainees"),
           ("Certificate levels", "Certificates"), ("Textbooks used", None), ("Account name", "Account number"),
           ("Bank", "Bank code")],
}
OPINIONS = {"zh": [("申请单位意见", "行业部门审核意见"), ("人社部门审核意见", "财政部门审核意见")],
            "en": [("Applicant's opinion", "Industry department review"), ("HR & social security review", "Finance review")]}
SIGN = {"zh": "签字：\n盖章：", "en": "Signature:\nSeal:"}
ROSTER_HEADER = {
    "zh": ("序号", "姓名", "性别", "公民身份号码（脱敏）", "人员类别", "联系电话", "培训（取证）职业工种", "核验培训天数",
           "结业考核", "就业单位", "劳动合同/就业协议期限（月）", "就业证明材料", "取证等级", "证书编号", "补贴类型", "申请补贴金额（元）", "扣减说明"),
    "en": ("No.", "Name", "Gender", "Resident ID (masked)", "Target group", "Phone", "Occupation", "Verified days",
           "Final assessment", "Employer", "Contract months", "Employment evidence", "Certificate level", "Certificate no.", "Subsidy type",
           "Amount (CNY)", "Reductions"),
}
KIND_LABEL = {
    "zh": {"project": "项目制培训补贴", "general": "普惠制培训补贴", "enterprise": "企业职工在岗培训补贴",
           "certification": "职业技能等级评价取证补贴"},
    "en": {"project": "project-based training", "general": "general (普惠制) training", "enterprise": "enterprise in-job training",
           "certification": "skill level certification"},
}
MODE_LABEL = {"zh": {"project": "项目制培训", "enterprise": "企业职工在岗培训", "certification": "职业技能等级评价"},
              "en": {"project": "project-based training", "enterprise": "enterprise in-job training",
                     "certification": "skill level certification"}}
LEVEL_EN = {"junior": "junior", "intermediate": "intermediate", "senior": "senior"}
YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}
WAN_FORMAT = "0.000000"  # 万元 to the fen
YUAN_FORMAT = "#,##0.00"
_thin = Side(style="thin")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)


@dataclass(frozen=True)
class Applicant:
    """Fields of annex 2 the service does not hold (bank details, textbooks): blank unless given."""

    textbook: str = ""
    account_name: str = ""
    account_no: str = ""
    bank: str = ""
    bank_code: str = ""


@dataclass(frozen=True)
class RosterRow:
    name: str
    gender: str | None
    id_masked: str
    target_group: str | None
    phone: str | None
    days: int
    passed: bool | None
    employer: str | None
    contract_months: int | None
    lines: tuple[Line, ...]
    evidence_ref: str | None = None  # contract / agreement file reference


@dataclass(frozen=True)
class Package:
    institution_name: str
    class_code: str
    class_name: str
    kind: str
    occupation: str | None
    start: date
    end: date
    rates: Rates
    roster: tuple[RosterRow, ...]
    evidence: tuple[tuple[str, str], ...]  # (label, value), already in the package's language
    events: tuple[tuple[str, str, str, str, str], ...] = ()  # (when, from, to, who, note)
    applicant: Applicant = field(default_factory=Applicant)


def level_label(level: str | None, language: str) -> str:
    if not level:
        return ""
    return LEVEL_EN.get(level, level) if language == "en" else LEVEL_ZH.get(level, level)


def standard_text(kind: str, level: str | None, rates: Rates, language: str) -> str:
    """The rate card as the form states it, from the same configured amounts the rules use."""
    y = lambda fen: f"{fen_to_yuan(fen).normalize():f}"  # noqa: E731
    if language == "en":
        return {
            "project": f"{y(rates.daily_first_fen)}/day for the first {rates.daily_first_days} days, "
                       f"{y(rates.daily_after_fen)}/day after, at most {y(rates.per_person_cap_fen)} a person",
            "general": f"at most {y(rates.general_cap_fen)} a person",
            "enterprise": f"{y(rates.enterprise_fen)} a person, at least {rates.enterprise_min_days} days",
            "certification": f"{level_label(level, 'en')} certificate {y(rates.cert_fen(level or '') or 0)} a person",
        }[kind]
    first = "" if level == "junior" else "初次取证"
    return {
        "project": f"培训前{rates.daily_first_days}天每人每天{y(rates.daily_first_fen)}元，超过部分每人每天"
                   f"{y(rates.daily_after_fen)}元，每人最高不超过{y(rates.per_person_cap_fen)}元",
        "general": f"普惠制每人不超过{y(rates.general_cap_fen)}元",
        "enterprise": f"不少于{rates.enterprise_min_days}天，每人{y(rates.enterprise_fen)}元",
        "certification": f"{first}{level_label(level, 'zh')}证书每人{y(rates.cert_fen(level or '') or 0)}元",
    }[kind]


def type_rows(lines: Sequence[Line], rates: Rates, language: str) -> list[tuple[str, str, int, int]]:
    """(type, standard, persons paid, fen) per subsidy type present, in a fixed order."""
    order = [("project", None), ("general", None), ("enterprise", None),
             ("certification", "junior"), ("certification", "intermediate"), ("certification", "senior")]
    rows = []
    for kind, level in order:
        group = [l for l in lines if l.kind == kind and (level is None or l.level == level)]
        if not group:
            continue
        label = KIND_LABEL[language][kind] + (f"（{level_label(level, language)}）" if level else "")
        paid = [l for l in group if l.amount_fen > 0]
        rows.append((label, standard_text(kind, level, rates, language), len({l.trainee_id for l in paid}),
                     sum(l.amount_fen for l in group)))
    return rows


def _cell(ws: Worksheet, ref: str, value: object, *, bold: bool = False, size: int = 11, fmt: str | None = None,
          wrap: bool = True, center: bool = True) -> None:
    c = ws[ref]
    c.value = value
    c.font = Font(name="SimSun", bold=bold, size=size)
    c.alignment = Alignment(horizontal="center" if center else "left", vertical="center", wrap_text=wrap)
    if fmt:
        c.number_format = fmt


def _box(ws: Worksheet, first_row: int, last_row: int, cols: int) -> None:
    for row in ws.iter_rows(min_row=first_row, max_row=last_row, max_col=cols):
        for c in row:
            c.border = BORDER


def _annex2(ws: Worksheet, p: Package, lang: str) -> None:
    for col, width in zip("ABCD", (22, 40, 20, 26)):
        ws.column_dimensions[col].width = width
    _cell(ws, "A1", "附件2" if lang == "zh" else "Annex 2", center=False)
    ws.merge_cells("A2:D2")
    _cell(ws, "A2", TITLE2[lang], bold=True, size=16)
    all_lines = [l for r in p.roster for l in r.lines]
    certs = [l for l in all_lines if l.kind == "certification"]
    levels = "、".join(sorted({level_label(l.level, lang) for l in certs})) if lang == "zh" else \
        ", ".join(sorted({level_label(l.level, lang) for l in certs}))
    period = f"{p.start:%Y-%m-%d} 至 {p.end:%Y-%m-%d}" if lang == "zh" else f"{p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}"
    a = p.applicant
    values = [(p.institution_name, None), (period, MODE_LABEL[lang].get(p.kind, p.kind)),
              (p.occupation or "", len(p.roster)), (levels, len(certs)), (a.textbook, None),
              (a.account_name, a.account_no), (a.bank, a.bank_code)]
    row = 3
    for (label, label2), (value, value2) in zip(ANNEX2_FIELDS[lang], values, strict=True):
        _cell(ws, f"A{row}", label)
        if label2 is None:
            ws.merge_cells(f"B{row}:D{row}")
            _cell(ws, f"B{row}", value)
        else:
            _cell(ws, f"B{row}", value)
            _cell(ws, f"C{row}", label2)
            _cell(ws, f"D{row}", value2)
        row += 1
    ws.merge_cells(f"A{row}:D{row}")
    _cell(ws, f"A{row}", "补贴申请" if lang == "zh" else "Subsidy claimed", bold=True)
    row += 1
    for col, text in zip("ABCD", ANNEX2_HEADER[lang]):
        _cell(ws, f"{col}{row}", text, bold=True)
    row += 1
    persons = total = 0
    for label, standard, n, fen in type_rows(all_lines, p.rates, lang):
        _cell(ws, f"A{row}", label)
        _cell(ws, f"B{row}", standard)
        _cell(ws, f"C{row}", n)
        _cell(ws, f"D{row}", fen_to_wan(fen), fmt=WAN_FORMAT)
        persons, total, row = persons + n, total + fen, row + 1
    _cell(ws, f"A{row}", "合计" if lang == "zh" else "Total", bold=True)
    _cell(ws, f"C{row}", len({l.trainee_id for l in all_lines if l.amount_fen > 0}))
    _cell(ws, f"D{row}", fen_to_wan(total), fmt=WAN_FORMAT)
    row += 1
    for left, right in OPINIONS[lang]:
        _cell(ws, f"A{row}", left)
        _cell(ws, f"B{row}", SIGN[lang], center=False)
        _cell(ws, f"C{row}", right)
        _cell(ws, f"D{row}", SIGN[lang], center=False)
        ws.row_dimensions[row].height = 90
        row += 1
    _box(ws, 3, row - 1, 4)


def _reasons_text(reasons: Sequence[Reason], lang: str) -> str:
    seen: list[str] = []
    for r in reasons:
        if r.text(lang) not in seen:
            seen.append(r.text(lang))
    return "；".join(seen) if lang == "zh" else "; ".join(seen)


def _annex3(ws: Worksheet, p: Package, lang: str) -> None:
    header = ROSTER_HEADER[lang]
    last = get_column_letter(len(header))
    _cell(ws, "A1", "附件3" if lang == "zh" else "Annex 3", center=False)
    ws.merge_cells(f"A2:{last}2")
    _cell(ws, "A2", TITLE3[lang], bold=True, size=16)
    ws.merge_cells(f"A3:{last}3")
    info = (f"单位名称：{p.institution_name}　班级：{p.class_code} {p.class_name}　培训时间：{p.start:%Y-%m-%d} 至 {p.end:%Y-%m-%d}"
            if lang == "zh" else
            f"Applicant: {p.institution_name}   Class: {p.class_code} {p.class_name}   Period: {p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}")
    _cell(ws, "A3", info, center=False)
    for i, text in enumerate(header, start=1):
        _cell(ws, f"{get_column_letter(i)}4", text, bold=True)
    widths = (6, 10, 6, 22, 14, 14, 16, 10, 10, 22, 12, 16, 10, 18, 20, 14, 40)
    amount_col = len(header) - 1  # 1-based: the amount, then the reductions
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    gender = {"M": "男", "F": "女"} if lang == "zh" else {"M": "M", "F": "F"}
    yes, no = ("合格", "不合格") if lang == "zh" else ("passed", "failed")
    row = 5
    total = 0
    for n, r in enumerate(p.roster, start=1):
        cert = next((l for l in r.lines if l.kind == "certification"), None)
        amount = sum(l.amount_fen for l in r.lines)
        kinds = "、".join(dict.fromkeys(KIND_LABEL[lang][l.kind] for l in r.lines))
        values = [n, r.name, gender.get(r.gender or "", r.gender or ""), r.id_masked, r.target_group or "", r.phone or "",
                  p.occupation or "", r.days, "" if r.passed is None else (yes if r.passed else no), r.employer or "",
                  r.contract_months if r.contract_months is not None else "", r.evidence_ref or "",
                  level_label(cert.level if cert else None, lang),
                  cert.certificate_no if cert else "", kinds, fen_to_yuan(amount),
                  _reasons_text([x for l in r.lines for x in l.reasons], lang)]
        for i, v in enumerate(values, start=1):
            _cell(ws, f"{get_column_letter(i)}{row}", v, fmt=YUAN_FORMAT if i == amount_col else None,
                  center=i != len(header))
        total += amount
        row += 1
    _cell(ws, f"A{row}", "合计" if lang == "zh" else "Total", bold=True)
    _cell(ws, f"{get_column_letter(amount_col)}{row}", fen_to_yuan(total), fmt=YUAN_FORMAT, bold=True)
    _box(ws, 4, row, len(header))


def _evidence(ws: Worksheet, p: Package, lang: str) -> None:
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 70
    _cell(ws, "A1", "证据摘要" if lang == "zh" else "Evidence summary", bold=True, size=14, center=False)
    row = 2
    for label, value in p.evidence:
        _cell(ws, f"A{row}", label, center=False)
        _cell(ws, f"B{row}", value, center=False)
        row += 1
    if p.events:
        row += 1
        heads = ("时间（UTC）", "原状态", "新状态", "操作人", "说明") if lang == "zh" else ("When (UTC)", "From", "To", "Who", "Note")
        for i, h in enumerate(heads, start=1):
            _cell(ws, f"{get_column_letter(i)}{row}", h, bold=True)
        for event in p.events:
            row += 1
            for i, v in enumerate(event, start=1):
                _cell(ws, f"{get_column_letter(i)}{row}", v, center=False)


def build_workbook(p: Package, language: str = "zh") -> Workbook:
    lang = "en" if language == "en" else "zh"
    wb = Workbook()
    ws2 = wb.active
    ws2.title = SHEETS[lang][0]
    _annex2(ws2, p, lang)
    _annex3(wb.create_sheet(SHEETS[lang][1]), p, lang)
    _evidence(wb.create_sheet(SHEETS[lang][2]), p, lang)
    return wb


def workbook_bytes(p: Package, language: str = "zh") -> bytes:
    buf = BytesIO()
    build_workbook(p, language).save(buf)
    return buf.getvalue()


def decimal_cell(value: object) -> Decimal:
    """Read back an amount written by this module exactly (openpyxl returns numbers as float or int)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
