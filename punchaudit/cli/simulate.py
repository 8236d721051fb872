"""`punchaudit simulate terminals`: drive a running server with simulated ZKTeco and Hikvision terminals."""
from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from punchaudit import simulate as sim
from punchaudit.cli.common import console, fail, progress

app = typer.Typer(help="Simulators that speak the real terminal protocols to a running server.", no_args_is_help=True)


@app.command()
def terminals(
    url: str = typer.Option("http://127.0.0.1:8088", help="Base URL of the running server"),
    key: str = typer.Option(..., envvar="PUNCHAUDIT_ADMIN_KEY", help="Admin API key, to read devices and rosters"),
    days: int = typer.Option(5, min=1, max=60, help="Training days to simulate (the weekdays before --until)"),
    until: str = typer.Option(None, help="Simulate the weekdays before this date (YYYY-MM-DD, default today)"),
    seed: int = typer.Option(2026, help="Random seed; the same seed sends the same punches"),
    unknown: bool = typer.Option(True, help="Also push from an unregistered terminal"),
) -> None:
    """Play handshakes, daily uploads, an offline buffer replay, a resent batch, a garbled line, a clock reset
    and an unknown device against the server, using every enabled terminal and the PINs enrolled at its site."""
    terms = sim.terminals_from_api(url, key)
    if not terms:
        raise fail("the server has no enabled ZKTeco or Hikvision terminals")
    day_list = sim.recent_weekdays(days, date.fromisoformat(until) if until else None)
    plan = sim.SimPlan(terminals=tuple(terms), days=day_list, unknown_serial="ZK-UNREGISTERED-01" if unknown else None,
                       seed=seed)
    with progress() as bar:
        task = bar.add_task("terminal-days", total=len(terms) * len(day_list))
        reports = sim.run(url, plan, on_day=lambda: bar.advance(task))
    print_reports(reports)


def print_reports(reports: list[sim.TerminalReport]) -> None:
    table = Table("terminal", "pushes", "lines sent", "acknowledged", "resent", "refused", "rejected", "errors")
    for r in reports:
        table.add_row(r.serial, str(r.pushes), str(r.lines_sent), str(r.lines_acked), str(r.resent_lines),
                      str(r.refused), str(r.rejected), str(len(r.errors)))
    console.print(table)
