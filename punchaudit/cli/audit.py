"""`punchaudit audit`: check the hash-chained audit log and export its head."""
from __future__ import annotations

from pathlib import Path

import typer

from punchaudit.cli.common import console, engine, fail, settings
from punchaudit.services.footage import utc_naive
from storage import audit

app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
def verify(head: Path = typer.Option(None, "--head", help="An exported head file the log must still contain",
                                     exists=True, dir_okay=False)) -> None:
    """Walk the whole chain; with --head, also detect a rewritten or truncated log. Exit 1 on a problem."""
    anchor = audit.read_head(head) if head else None
    with engine().connect() as conn:
        result = audit.verify(conn, anchor)
    if not result.ok:
        for problem in result.problems:
            console.print(f"[red]{problem}[/red]")
        raise fail(f"audit log verification failed ({len(result.problems)} problems in {result.entries} entries)")
    h = result.head
    console.print(f"audit log intact: {result.entries} entries, head {h.seq if h else 0} {h.hash if h else '-'}"
                  + (f"; contains the exported head {anchor.seq}" if anchor else ""))


@app.command("export-head")
def export_head(out: Path = typer.Option(None, "--out", help="File to write (default: footage.audit_head_file)")) -> None:
    """Write the chain head (sequence + hash) to a file; keep copies off the database host."""
    path = out or Path(settings().footage.audit_head_file)
    with engine().connect() as conn:
        h = audit.export_head(conn, path, now=utc_naive())
    console.print(f"head {h.seq if h else 0} written to {path}")
