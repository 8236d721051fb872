"""The inspection report: plan (with its conventions), seed, population hash, sample, verdicts,
decision and bound, as XLSX and HTML, in Simplified Chinese (default) or English."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import Session

from punchaudit.services import sampling as svc
from punchaudit.web.i18n import labels
from punchaudit.web.templating import render
from storage.schema.base import utcnow
from storage.schema.core import Institution


@dataclass
class ReportFiles:
    xlsx: Path
    html: Path


def report_data(session: Session, inspection_id: int, lang: str = "zh", scope: int | None = None) -> dict[str, Any]:
    q = svc.queue(session, inspection_id, scope)
    row = q.inspection
    inst = session.get(Institution, row.institution_id)
    draw = json.loads(row.draw_json)
    verdicts = [
        {"session": qi.item.session_key, "inspector": v.inspector, "at": v.at.isoformat(timespec="seconds"),
         "held": v.held_as_declared, "head_count": v.head_count, "footage_problem": v.footage_problem, "notes": v.notes}
        for qi in q.items for v in qi.verdicts
    ]
    return {
        "L": labels(lang), "lang": lang, "generated": utcnow().isoformat(timespec="seconds"),
        "inspection": row, "class_code": q.class_code, "class_name": q.class_name,
        "institution": inst.name if inst else "", "plan": q.plan, "draw": draw, "items": q.items,
        "verdicts": verdicts, "evaluation": q.evaluation.to_json(), "roster_size": len(q.roster),
    }


def write_html(data: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render("report.html", **data), encoding="utf-8")
    return path


def write_xlsx(data: dict[str, Any], path: Path) -> Path:
    L, row, plan, ev = data["L"], data["inspection"], data["plan"], data["evaluation"]
    wb = Workbook()
    ws = wb.active
    ws.title = L["plan"][:31]
    bold = Font(bold=True)
    ws.append([L["report_title"]])
    ws["A1"].font = Font(bold=True, size=14)
    facts = [
        (L["institution"], data["institution"]), (L["class"], f"{data['class_code']} {data['class_name']}"),
        (L["status"], L.get(row.status, row.status)), (L["method"], plan["method"]), (L["severity"], row.severity),
        (L["population"], plan["population"]), (L["sample_size"], row.sample_size), (L["acceptance"], plan["acceptance"]),
        (L["confidence"], plan["confidence"]), (L["tolerable_rate"], plan["tolerable_rate"]),
        (L["defects"], plan["defects"]), (L["achieved"], f"{plan['achieved']} ≈ {plan['achieved_float']:.6f}"),
        (L["conventions"], json.dumps(plan["conventions"], ensure_ascii=False)), (L["design"], data["draw"]["design"]),
        (L["algorithm"], row.algorithm), (L["seed"], row.seed), (L["seed_source"], row.seed_source),
        (L["population_hash"], row.population_hash), (L["opened"], row.opened_at.isoformat(timespec="seconds")),
        (L["opened_by"], row.opened_by),
        (L["closed_at"], row.closed_at.isoformat(timespec="seconds") if row.closed_at else ""),
        (L["decision"], L.get(ev["decision"], ev["decision"])), (L["bad_sessions"], ev["bad"]),
        (L["reviewed"], ev["reviewed"]), (L["upper_bound"], ev["upper_bound"]),
        (L["upper_rate"], f"{ev['upper_rate_float']:.4f}"), ("", L["bound_def"]), (L["generated"], data["generated"]),
    ]
    for k, v in facts:
        ws.append([k, v])
    for cell in ws["A"]:
        cell.font = bold
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 80
    s = wb.create_sheet(L["sample"][:31])
    s.append(["#", L["session"], L["day"], L["session_no"], L["week"], L["window"], L["clip"], L["clip_problem"]])
    for qi in data["items"]:
        it = qi.item
        s.append([it.draw_order, it.session_key, it.day.isoformat(), it.session_index + 1, it.stratum,
                  f"{it.window_start_utc:%Y-%m-%d %H:%M:%S} – {it.window_end_utc:%H:%M:%S}",
                  Path(it.clip_path).name if it.clip_path else "", it.clip_problem or ""])
    v = wb.create_sheet(L["verdicts"][:31])
    v.append([L["session"], L["inspector"], L["at"], L["held"], L["head_count"], L["footage_problem"], L["notes"]])
    for d in data["verdicts"]:
        v.append([d["session"], d["inspector"], d["at"], L["yes"] if d["held"] else L["no"], d["head_count"],
                  L.get(d["footage_problem"] or "", d["footage_problem"] or ""), d["notes"] or ""])
    for sheet in (s, v):
        for cell in sheet[1]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True)
        for col in "ABCDEFGH":
            sheet.column_dimensions[col].width = 20
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_report(session: Session, inspection_id: int, out_dir: Path, lang: str = "zh") -> ReportFiles:
    data = report_data(session, inspection_id, lang)
    stem = f"inspection-{inspection_id}-{data['class_code']}-{lang}"
    return ReportFiles(write_xlsx(data, out_dir / f"{stem}.xlsx"), write_html(data, out_dir / f"{stem}.html"))


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(data: dict[str, Any]) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return write_xlsx(data, Path(tmp) / "report.xlsx").read_bytes()
