"""`punchaudit site`: training venues; terminals and cameras belong to a site."""
from __future__ import annotations

import typer

from punchaudit.cli.admin import registry_session, table
from punchaudit.cli.common import console
from punchaudit.services import registry as reg

app = typer.Typer(help="Training sites (venues) of institutions.", no_args_is_help=True)


@app.command("add")
def add(
    code: str = typer.Argument(..., help="Short unique site code"),
    name: str = typer.Argument(..., help="Site name"),
    institution: str = typer.Option(..., "--institution", help="Institution code"),
    address: str = typer.Option(None, "--address", help="Street address"),
    tz: str = typer.Option("Asia/Shanghai", "--tz", help="IANA time zone of the site"),
) -> None:
    """Add a training site to an institution."""
    with registry_session() as session:
        inst = reg.institution_by_code(session, None, institution)
        row = reg.create_site(session, None, inst.id, code, name, address=address, timezone=tz)
        console.print(f"site {row.code} added to {inst.code} (id {row.id})")


@app.command("list")
def list_(
    institution: str = typer.Option(None, "--institution", help="Only this institution's sites"),
    limit: int = typer.Option(1000, help="At most this many rows"),
) -> None:
    """List training sites."""
    with registry_session() as session:
        inst_id = reg.institution_by_code(session, None, institution).id if institution else None
        page = reg.list_sites(session, None, institution_id=inst_id, limit=limit)
        table("sites", ["id", "code", "name", "institution", "timezone"],
              ((r.id, r.code, r.name, r.institution_id, r.timezone) for r in page.items))
