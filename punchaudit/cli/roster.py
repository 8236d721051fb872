"""`punchaudit roster`: import the subsidy roster 《申请培训（取证）补贴人员名册》 (XLSX or CSV)."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from punchaudit.cli.common import console, engine, fail, settings
from punchaudit.services import presence as svc
from storage.db import session_scope

app = typer.Typer(help="Subsidy rosters (申请培训（取证）补贴人员名册).", no_args_is_help=True)


@app.command("import")
def import_(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Roster as .xlsx or .csv (UTF-8 or GBK)"),
            institution: int | None = typer.Option(None, "--institution", help="Only classes of this institution id")) -> None:
    """Import a roster: every row is checked (ID check digit, duplicates, overlapping classes, unknown
    classes, PINs) and nothing is stored unless every row is good."""
    with session_scope(engine()) as s:
        out = svc.import_roster(s, settings(), file.read_bytes(), file.name, scope=institution)
    if not out.ok:
        table = Table("row", "column", "problem", title=f"{file.name}: {len(out.errors)} problem(s), nothing imported")
        for e in out.errors:
            table.add_row(str(e.row_no), e.field, e.reason)
        console.print(table)
        raise fail("roster refused; fix the rows above and import the whole file again")
    console.print(f"[green]imported[/green] {out.rows} rows: {out.trainees_created} new trainees, "
                  f"{out.enrollments_created} enrolments")


@app.command("template")
def template(out: Path = typer.Argument(Path("roster-template.xlsx"), help="Where to write the empty roster")) -> None:
    """Write an empty roster workbook with the expected columns."""
    from attendance.roster import roster_xlsx

    out.write_bytes(roster_xlsx([]))
    console.print(f"wrote {out}")
