"""Top-level `punchaudit scheduler` (the scheduler process) and `punchaudit jobs` (runs and outcomes)."""
from __future__ import annotations

import json
from datetime import date

import typer
from rich.table import Table

from punchaudit.cli.common import console, engine, fail, settings


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler_cmd)
    app.command("jobs")(jobs_cmd)


def scheduler_cmd(
    list_only: bool = typer.Option(False, "--list", help="Print the jobs and their next run times, then exit"),
) -> None:
    """Run the job scheduler in this process until stopped (one per deployment; never in web workers)."""
    from punchaudit import scheduler

    cfg = settings()
    if list_only:
        table = Table("job", "next run", "what")
        for job, (name, when) in zip(scheduler.JOBS, scheduler.next_runs(cfg)):
            table.add_row(name, when.isoformat() if when else "-", job.description)
        console.print(table)
        return
    console.print(f"scheduler running ({cfg.scheduler.timezone}); jobs: {', '.join(j.name for j in scheduler.JOBS)}")
    scheduler.run_forever(engine(), cfg)


def jobs_cmd(
    job: str = typer.Option(None, "--job", help="Only this job"),
    limit: int = typer.Option(30, min=1),
    run: str = typer.Option(None, "--run", help="Run this job now (claimed: skipped if already run for the date)"),
    on: str = typer.Option(None, "--date", help="Logical date for --run (YYYY-MM-DD, default today)"),
    retry: bool = typer.Option(False, "--retry", help="With --run: take over a failed run of that date"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Scheduled job runs and their outcomes; --run NAME runs one now."""
    from punchaudit import scheduler
    from storage import jobs

    if run:
        try:
            logical = date.fromisoformat(on) if on else None
            res = scheduler.run_job(run, engine(), settings(), logical_date=logical, retry_failed=retry)
        except (KeyError, ValueError) as exc:
            raise fail(str(exc)) from None
        console.print(f"{res.job} {res.logical_date}: {res.status} {json.dumps(res.outcome, default=str)}")
        if res.status == "failed":
            raise typer.Exit(1)
        return
    with engine().connect() as conn:
        runs = jobs.list_runs(conn, job=job, limit=limit)
    if as_json:
        console.print_json(json.dumps([r.as_dict() for r in runs]))
        return
    table = Table("id", "job", "date", "status", "started (UTC)", "finished", "try", "host/pid", "outcome")
    for r in runs:
        colour = {"ok": "green", "failed": "red"}.get(r.status, "yellow")
        table.add_row(str(r.id), r.job, r.logical_date.isoformat(), f"[{colour}]{r.status}[/{colour}]",
                      f"{r.started_at:%Y-%m-%d %H:%M:%S}", f"{r.finished_at:%H:%M:%S}" if r.finished_at else "",
                      str(r.attempts), f"{r.host}/{r.pid}", json.dumps(r.outcome, default=str)[:80] if r.outcome else "")
    console.print(table)
