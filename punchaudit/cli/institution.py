"""`punchaudit institution`: training institutions (培训机构)."""
from __future__ import annotations

import typer

from punchaudit.cli.admin import registry_session, table
from punchaudit.cli.common import console
from punchaudit.services import registry as reg

app = typer.Typer(help="Training institutions (培训机构).", no_args_is_help=True)


@app.command("add")
def add(
    code: str = typer.Argument(..., help="Short unique code, e.g. PC-JX01"),
    name: str = typer.Argument(..., help="Registered name"),
    district: str = typer.Option(None, "--district", help="District, e.g. 平城区"),
    credit_code: str = typer.Option(None, "--credit-code", help="统一社会信用代码"),
) -> None:
    """Register a training institution."""
    with registry_session() as session:
        row = reg.create_institution(session, None, code, name, district=district, credit_code=credit_code)
        console.print(f"institution {row.code} registered (id {row.id})")


@app.command("list")
def list_(limit: int = typer.Option(1000, help="At most this many rows")) -> None:
    """List institutions."""
    with registry_session() as session:
        page = reg.list_institutions(session, None, limit)
        table("institutions", ["id", "code", "name", "district"], ((r.id, r.code, r.name, r.district) for r in page.items))
