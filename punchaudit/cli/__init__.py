"""The `punchaudit` command line. Each area's commands live in their own module as a Typer app."""
from __future__ import annotations

import importlib

import typer

from punchaudit import logs
from punchaudit.cli.common import settings

app = typer.Typer(
    name="punchaudit",
    help="Attendance verification and audit sampling for subsidised vocational training.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# (command name, module defining `app`); add a line to mount an area's commands.
SUBCOMMANDS = [
    ("db", "punchaudit.cli.db"),
    ("sample", "punchaudit.cli.sample"),
    ("roster", "punchaudit.cli.roster"), ("presence", "punchaudit.cli.presence"),
    ("claims", "punchaudit.cli.claims"),
    ("quarantine", "punchaudit.cli.quarantine"),
    ("terminal", "punchaudit.cli.terminal"),
    ("simulate", "punchaudit.cli.simulate"),
    ("faces", "punchaudit.cli.faces"),
    ("footage", "punchaudit.cli.footage"), ("audit", "punchaudit.cli.audit"),
    *[(n, f"punchaudit.cli.{m}") for n, m in (("institution", "institution"), ("site", "site"), ("device", "device"), ("keys", "keys"), ("class", "classes"), ("trainee", "trainee"))],
]

# modules with a `register(app)` that adds top-level commands (serve, ingest, scheduler, ...)
COMMANDS: list[str] = ["punchaudit.cli.ingest", "punchaudit.cli.demo", "punchaudit.cli.jobs"]

for _name, _module in SUBCOMMANDS:
    app.add_typer(importlib.import_module(_module).app, name=_name)
for _module in COMMANDS:
    importlib.import_module(_module).register(app)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level")) -> None:
    cfg = settings()
    logs.configure("DEBUG" if verbose else cfg.logging.level, cfg.logging.format)


def main() -> None:
    app()
