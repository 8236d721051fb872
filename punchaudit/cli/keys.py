"""`punchaudit keys`: API keys with a role (site, inspector, admin)."""
from __future__ import annotations

import typer

from punchaudit.cli.admin import registry_session, table
from punchaudit.cli.common import console
from punchaudit.services import registry as reg

app = typer.Typer(help="API keys for the REST API (shown once at creation, stored hashed).", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Who holds the key, e.g. 'pingcheng-school office'"),
    role: str = typer.Option(..., "--role", help="site, inspector or admin"),
    institution: str = typer.Option(None, "--institution", help="Institution code (site keys only)"),
) -> None:
    """Issue a key and print it once: it cannot be shown again."""
    with registry_session() as session:
        inst_id = reg.institution_by_code(session, None, institution).id if institution else None
        row, clear = reg.issue_key(session, name, role, inst_id)
    console.print(f"key {row.id} ({row.role}) for {row.name}:")
    console.print(clear, markup=False, highlight=False)


@app.command("list")
def list_(all_: bool = typer.Option(False, "--all", help="Include revoked keys")) -> None:
    """List keys (never the keys themselves)."""
    with registry_session() as session:
        rows = reg.list_keys(session, include_revoked=all_)
        table("API keys", ["id", "name", "role", "institution", "created", "revoked"],
              ((r.id, r.name, r.role, r.institution_id, f"{r.created_at:%Y-%m-%d %H:%M}",
                r.revoked_at and f"{r.revoked_at:%Y-%m-%d %H:%M}") for r in rows))


@app.command("revoke")
def revoke(key_id: int = typer.Argument(..., help="Key id from `keys list`")) -> None:
    """Revoke a key; the next request with it is refused."""
    with registry_session() as session:
        row = reg.revoke_key(session, key_id)
        console.print(f"key {row.id} ({row.name}) revoked")
