"""`punchaudit class`: training classes (培训班)."""
from __future__ import annotations

from datetime import datetime

import typer

from punchaudit.cli.admin import DATE_FORMATS, day, registry_session, table
from punchaudit.cli.common import console
from punchaudit.services import registry as reg
from punchaudit.services import registry_people as people

app = typer.Typer(help="Training classes (培训班).", no_args_is_help=True)


@app.command("add")
def add(
    code: str = typer.Argument(..., help="Unique class code"),
    name: str = typer.Argument(..., help="Class name"),
    institution: str = typer.Option(..., "--institution", help="Institution code"),
    site: str = typer.Option(..., "--site", help="Code of one of the institution's sites"),
    start: datetime = typer.Option(..., "--start", formats=DATE_FORMATS, help="First training day (YYYY-MM-DD)"),
    end: datetime = typer.Option(..., "--end", formats=DATE_FORMATS, help="Last training day (YYYY-MM-DD)"),
    kind: str = typer.Option("project", "--kind", help="project, enterprise or certification"),
    occupation: str = typer.Option(None, "--occupation", help="培训工种, e.g. 育婴员"),
    level: str = typer.Option(None, "--level", help="培训等级"),
) -> None:
    """Open a class at one of an institution's sites."""
    with registry_session() as session:
        inst = reg.institution_by_code(session, None, institution)
        site_row = reg.site_by_code(session, None, site)
        row = people.create_class(session, None, inst.id, site_row.id, code, name, start.date(), end.date(),
                                  kind=kind, occupation=occupation, level=level)
        console.print(f"class {row.code} opened at {site_row.code}, {row.start_date} to {row.end_date} (id {row.id})")


@app.command("list")
def list_(
    institution: str = typer.Option(None, "--institution", help="Only this institution's classes"),
    active_on: datetime = typer.Option(None, "--active-on", formats=DATE_FORMATS, help="Only classes running that day"),
    limit: int = typer.Option(1000, help="At most this many rows"),
) -> None:
    """List classes."""
    with registry_session() as session:
        inst_id = reg.institution_by_code(session, None, institution).id if institution else None
        page = people.list_classes(session, None, institution_id=inst_id, active_on=day(active_on), limit=limit)
        table("classes", ["id", "code", "name", "kind", "institution", "site", "start", "end"],
              ((r.id, r.code, r.name, r.kind, r.institution_id, r.site_id, r.start_date, r.end_date) for r in page.items))


@app.command("set")
def set_(
    code: str = typer.Argument(..., help="Class code"),
    name: str = typer.Option(None, "--name", help="New class name"),
    start: datetime = typer.Option(None, "--start", formats=DATE_FORMATS, help="New first training day"),
    end: datetime = typer.Option(None, "--end", formats=DATE_FORMATS, help="New last training day"),
) -> None:
    """Rename a class or move its dates (refused if an enrolled trainee would sit in two classes)."""
    with registry_session() as session:
        cls = people.class_by_code(session, None, code)
        row = people.update_class(session, None, cls.id, name=name, start_date=day(start), end_date=day(end))
        console.print(f"class {row.code}: {row.name}, {row.start_date} to {row.end_date}")
