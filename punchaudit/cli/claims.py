"""`punchaudit claims`: build claim versions, move them through their states, write the claim package,
import employment / certificate / assessment records and report district targets."""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from punchaudit.cli.common import console, engine, fail, settings
from punchaudit.services import claims as svc
from storage.db import session_scope
from subsidy import forms, targets
from subsidy.rules import format_yuan

app = typer.Typer(help="Subsidy claims and claim packages (附件2 申请表, 附件3 人员名册).", no_args_is_help=True)
employment_app = typer.Typer(help="Employment contracts / agreements (就业协议、劳动合同).", no_args_is_help=True)
certificates_app = typer.Typer(help="Skill level certificates (职业技能等级证书).", no_args_is_help=True)
assessment_app = typer.Typer(help="Final assessment results (结业考核成绩).", no_args_is_help=True)
app.add_typer(employment_app, name="employment")
app.add_typer(certificates_app, name="certificates")
app.add_typer(assessment_app, name="assessment")

BY = typer.Option(None, "--by", help="Who does this (recorded in the claim history); default: the OS user")
LANG = typer.Option(None, "--language", "-l", help="zh or en (default: settings.language)")


def _who(by: str | None) -> str:
    return by or getpass.getuser()


def claim_table(d: dict[str, Any], language: str = "zh") -> Table:
    """A claim's lines with the reasons for every reduction (also used by the demo)."""
    table = Table(title=f"{d['class_code']} v{d['version']} [{d['state']}] total {d['total_yuan']} CNY",
                  caption="; ".join(r["en" if language == "en" else "zh"] for r in d["reasons"]) or None)
    for col in ("trainee", "ID (masked)", "kind", "days", "rate card", "amount", "reductions"):
        table.add_column(col, justify="right" if col in ("days", "rate card", "amount") else "left")
    for line in d["lines"]:
        table.add_row(line["name"], line["id_masked"], line["kind"] + (f" {line['level']}" if line["level"] else ""),
                      str(line["days"]), format_yuan(line["base_fen"]), format_yuan(line["amount_fen"]),
                      "; ".join(r["en" if language == "en" else "zh"] for r in line["reasons"]))
    return table


@app.command("build")
def build(class_code: str = typer.Argument(..., metavar="CLASS", help="Class code"),
          out: Path | None = typer.Option(None, "--out", help="Write the XLSX claim package into this folder"),
          language: str | None = LANG, by: str | None = BY) -> None:
    """Build a new claim version for CLASS from its latest presence run, inspection decision and
    employment / certificate records. Submitted versions are never changed."""
    cfg = settings()
    try:
        with session_scope(engine()) as s:
            claim = svc.build_claim(s, cfg, class_code, _who(by))
            detail = svc.detail(s, claim.id)
            path = svc.write_package(s, cfg, claim.id, out, language=language) if out else None
    except svc.NotFound as exc:
        raise fail(str(exc)) from None
    console.print(claim_table(detail, language or cfg.language))
    console.print(f"claim {detail['id']} (class {class_code}, version {detail['version']}): {detail['total_yuan']} CNY"
                  f"{'' if detail['payable'] else ' - NOT PAYABLE'}")
    if path:
        console.print(f"package written to {path}")


@app.command("list")
def list_(class_code: str | None = typer.Option(None, "--class", help="Only this class"),
          state: str | None = typer.Option(None, "--state", help="draft, submitted, approved or rejected")) -> None:
    """List claim versions with their state and amount."""
    try:
        with session_scope(engine()) as s:
            rows = svc.list_claims(s, class_code=class_code, state=state)
    except svc.NotFound as exc:
        raise fail(str(exc)) from None
    table = Table(title="claims")
    for col in ("id", "class", "version", "state", "kind", "total CNY", "payable", "presence run", "inspection",
                "employment", "reductions"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["class_code"], str(r["version"]), r["state"], r["kind"], r["total_yuan"],
                      "yes" if r["payable"] else "no", str(r["presence_run_id"] or "-"),
                      f"{r['inspection_id'] or '-'} {r['inspection_decision'] or ''}", r["employment_rate"] or "-",
                      ", ".join(x["code"] for x in r["reasons"]))
    console.print(table)


@app.command("show")
def show(claim_id: int, language: str | None = LANG) -> None:
    """Show a claim version's lines, reductions and state history."""
    try:
        with session_scope(engine()) as s:
            d = svc.detail(s, claim_id)
    except svc.NotFound as exc:
        raise fail(str(exc)) from None
    console.print(claim_table(d, language or settings().language))
    for e in d["events"]:
        console.print(f"{e['at']}  {e['from'] or '-'} -> {e['to']}  by {e['actor']}  {e['note'] or ''}")


def _move(claim_id: int, action: str, by: str | None, note: str | None) -> None:
    try:
        with session_scope(engine()) as s:
            claim = svc.transition(s, claim_id, action, _who(by), note=note)
            state = claim.state
    except (svc.NotFound, svc.ClaimStateError) as exc:
        raise fail(str(exc)) from None
    console.print(f"claim {claim_id} is now {state}")


@app.command("submit")
def submit(claim_id: int, by: str | None = BY, note: str | None = typer.Option(None, "--note")) -> None:
    """Submit a draft (the latest version only); its amounts are frozen from now on."""
    _move(claim_id, "submit", by, note)


@app.command("approve")
def approve(claim_id: int, by: str | None = BY, note: str | None = typer.Option(None, "--note")) -> None:
    """Approve a submitted claim (bureau)."""
    _move(claim_id, "approve", by, note)


@app.command("reject")
def reject(claim_id: int, by: str | None = BY, note: str | None = typer.Option(None, "--note", help="Why")) -> None:
    """Reject a submitted claim (bureau); the institution may build and submit a new version."""
    _move(claim_id, "reject", by, note)


@app.command("package")
def package(claim_id: int, out: Path = typer.Option(Path("."), "--out", help="Folder for the XLSX"),
            language: str | None = LANG,
            account_name: str = typer.Option("", "--account-name", help="附件2 账户名称"),
            account_no: str = typer.Option("", "--account-no", help="附件2 账号"),
            bank: str = typer.Option("", "--bank", help="附件2 开户银行"),
            bank_code: str = typer.Option("", "--bank-code", help="附件2 开户行行号"),
            textbook: str = typer.Option("", "--textbook", help="附件2 使用教材名称")) -> None:
    """Write a claim version's XLSX package (附件2, 附件3, evidence summary); bank details and
    textbooks, which the service does not hold, go into annex 2 when given."""
    applicant = forms.Applicant(textbook, account_name, account_no, bank, bank_code)
    try:
        with session_scope(engine()) as s:
            path = svc.write_package(s, settings(), claim_id, out, language=language, applicant=applicant)
    except svc.NotFound as exc:
        raise fail(str(exc)) from None
    console.print(f"package written to {path}")


@app.command("targets")
def targets_cmd(year: list[int] = typer.Option(None, "--year", help="2022, 2023 or 2024 (repeatable; default all)"),
                measure: str | None = typer.Option(None, "--measure", help="project, enterprise or certificates")) -> None:
    """Annex 1 targets per district and year with the verified count and the share done."""
    try:
        with session_scope(engine()) as s:
            rows, unknown = svc.targets_report(s, settings(), year or None)
    except ValueError as exc:
        raise fail(str(exc)) from None
    table = Table(title="annex 1 targets (verified = trainees paid in submitted/approved claims)")
    for col in ("district", "year", "measure", "3-year target", "year target", "verified", "share done"):
        table.add_column(col, justify="right" if col not in ("district", "measure") else "left")
    for r in rows:
        if measure and r.measure != measure:
            continue
        table.add_row(r.district, str(r.year), r.measure, str(r.three_year_target), str(r.year_target), str(r.verified),
                      targets.percent(r.share_done))
    console.print(table)
    for district, n in unknown.items():
        console.print(f"[yellow]{n} verified in district {district!r}, which annex 1 does not list[/yellow]")


def _import(kind: str, file: Path) -> None:
    if not file.exists():
        raise fail(f"{file} not found")
    try:
        with session_scope(engine()) as s:
            n = svc.import_records(s, settings(), kind, file.name, file.read_bytes())  # type: ignore[arg-type]
    except svc.ImportRejected as exc:
        for e in exc.errors:
            console.print(f"[red]{e}[/red]")
        raise fail(f"nothing imported: {len(exc.errors)} bad row(s)") from None
    console.print(f"{n} {kind} record(s) imported or updated from {file.name}")


@employment_app.command("import")
def employment_import(file: Path) -> None:
    """Import contracts from XLSX/CSV: 身份证号, 班级编号 (optional), 就业单位, 合同开始日期, 合同期限（月）, 证明材料.
    All rows or none; every bad row is listed."""
    _import("employment", file)


@certificates_app.command("import")
def certificates_import(file: Path) -> None:
    """Import certificates from XLSX/CSV: 身份证号, 班级编号, 证书等级, 证书编号, 发证日期, 初次取证 (是/否)."""
    _import("certificates", file)


@assessment_app.command("import")
def assessment_import(file: Path) -> None:
    """Import final assessment results from XLSX/CSV: 身份证号, 班级编号, 结业考核 (合格/不合格)."""
    _import("assessment", file)
