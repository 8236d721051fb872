"""`punchaudit quarantine`: what was not accepted, and replaying it once the cause is fixed."""
from __future__ import annotations

import typer
from rich.table import Table

from punchaudit.cli.common import console, engine, fail, progress, settings
from punchaudit.services import quarantine as svc

app = typer.Typer(help="Payloads and lines that were not accepted, kept with their reason.", no_args_is_help=True)


@app.command("list")
def list_(
    device: str = typer.Option(None, "--device", "-d", help="Only this terminal serial"),
    all_: bool = typer.Option(False, "--all", help="Include resolved entries"),
    limit: int = typer.Option(200, min=1, max=100_000),
) -> None:
    """List quarantined payloads and lines with their reason."""
    entries = svc.list_entries(engine(), include_resolved=all_, serial=device, limit=limit)
    table = Table("id", "device", "kind", "line", "reason", "received", "resolution")
    for e in entries:
        table.add_row(str(e.id), e.device_serial, e.kind, str(e.line_no or ""), e.reason[:80],
                      f"{e.created_at:%Y-%m-%d %H:%M}", e.resolution or "")
    console.print(table)
    console.print(f"{len(entries)} entries")


@app.command()
def replay(
    ids: list[int] = typer.Argument(None, help="Quarantine entry ids (default: every open payload)"),
    device: str = typer.Option(None, "--device", "-d", help="Only payloads of this terminal"),
) -> None:
    """Replay quarantined payloads, e.g. after registering the device that sent them."""
    targets = ids or [e.id for e in svc.list_entries(engine(), serial=device, limit=100_000) if e.kind == "payload"]
    if not targets:
        console.print("nothing to replay")
        return
    ok = 0
    with progress() as bar:
        task = bar.add_task("replaying", total=len(targets))
        for qid in targets:
            try:
                out = svc.replay(engine(), settings(), qid)
            except LookupError as exc:
                raise fail(str(exc)) from None
            ok += out.ok
            console.print(f"#{qid}: {'[green]replayed[/green]' if out.ok else '[yellow]kept[/yellow]'} {out.message}")
            bar.advance(task)
    console.print(f"{ok} of {len(targets)} replayed")
