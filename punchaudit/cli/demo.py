"""`punchaudit demo`: the main job end to end on the embedded default."""
from __future__ import annotations

from pathlib import Path

import typer

from punchaudit.cli.common import console, settings


def demo(
    workdir: Path = typer.Option(Path("var/demo"), help="Folder for the demo's database, footage and reports (wiped first)"),
    days: int = typer.Option(8, min=3, max=30, help="Training days to simulate"),
) -> None:
    """Register institutions, terminals and rosters, simulate terminals pushing punches over HTTP, compute
    presence, check footage, run a sampling inspection and build the subsidy claims, on SQLite."""
    from punchaudit.demo.runner import run_demo

    run_demo(settings(), workdir, days, console)
    console.rule("[bold green]demo finished")
    console.print(f"everything is in {workdir}/")


def register(app: typer.Typer) -> None:
    app.command()(demo)
