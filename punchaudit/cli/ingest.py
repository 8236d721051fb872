"""Top-level commands: `punchaudit serve` and `punchaudit ingest FILE --device SN`."""
from __future__ import annotations

from pathlib import Path

import typer

from punchaudit.cli.common import console, engine, fail, settings
from punchaudit.services import terminals
from punchaudit.services.ingest import DeviceRefused, PayloadRejected


def serve(
    host: str = typer.Option(None, help="Address to bind (default: api_host in config.yaml)"),
    port: int = typer.Option(None, help="Port (default: api_port in config.yaml)"),
    workers: int = typer.Option(1, min=1, help="Worker processes"),
) -> None:
    """Run the HTTP service: terminal endpoints (/iclock, /ISAPI) and the REST API (/api/v1, /docs)."""
    import uvicorn

    cfg = settings()
    uvicorn.run("punchaudit.api.app:create_app", factory=True, host=host or cfg.api_host, port=port or cfg.api_port,
                workers=workers, log_config=None, access_log=False)


def ingest(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="XLSX or CSV exports"),
    device: str = typer.Option(..., "--device", "-d", help="Serial number of the terminal the export came from"),
) -> None:
    """Import spreadsheet or CSV exports of a terminal's attendance log (工号, 姓名, 打卡时间, 验证方式, ...).

    Rows already stored are counted as duplicates; malformed rows go to quarantine with their row number.
    """
    total = 0
    for path in files:
        try:
            r = terminals.ingest_sheet(engine(), settings(), device, path.name, path.read_bytes())
        except (DeviceRefused, PayloadRejected) as exc:
            raise fail(f"{path}: {exc}") from None
        total += r.accepted
        console.print(f"{path}: {r.received} rows, [green]{r.accepted} new[/green], {r.duplicates} duplicates, "
                      f"[yellow]{r.quarantined} quarantined[/yellow], {r.clock_faults} clock faults")
    console.print(f"{total} punches stored")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(ingest)
