"""`punchaudit db`: schema migrations."""
from __future__ import annotations

import typer

from punchaudit.cli.common import console, engine
from storage import migrate

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("heads", help="Target revision (default: every head)")) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    migrate.upgrade(engine(), revision)
    console.print(f"database at revision {migrate.current(engine())}")


@app.command()
def current() -> None:
    """Print the database's current revision."""
    console.print(migrate.current(engine()) or "(empty database)")
