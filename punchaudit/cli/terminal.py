"""`punchaudit terminal`: commands queued for ZKTeco terminals (sent at their next poll)."""
from __future__ import annotations

from datetime import datetime

import typer

from devices import zkteco
from punchaudit.cli.common import console, engine, fail
from punchaudit.services import terminals

app = typer.Typer(help="Queue commands for ZKTeco terminals (backfill, info).", no_args_is_help=True)


@app.command()
def backfill(
    serial: str = typer.Argument(..., help="Terminal serial number"),
    start: datetime = typer.Option(..., help="Window start, device-local time"),
    end: datetime = typer.Option(..., help="Window end, device-local time"),
) -> None:
    """Ask a terminal to resend its attendance log for a window and report its record count for it."""
    try:
        ids = terminals.enqueue_backfill(engine(), serial, start, end)
    except LookupError as exc:
        raise fail(str(exc)) from None
    console.print(f"queued commands {ids}; the terminal picks them up at its next poll")


@app.command()
def info(serial: str = typer.Argument(..., help="Terminal serial number")) -> None:
    """Ask a terminal to report its firmware, user and record counts."""
    try:
        cid = terminals.enqueue_command(engine(), serial, zkteco.cmd_info())
    except LookupError as exc:
        raise fail(str(exc)) from None
    console.print(f"queued command {cid}")
