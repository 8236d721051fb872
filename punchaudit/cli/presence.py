"""`punchaudit presence`: class schedules, presence runs, classification and the sign-in sheet."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich import box
from rich.table import Table

from punchaudit.cli.common import console, engine, fail, progress, settings
from punchaudit.services import presence as svc
from storage.db import session_scope

app = typer.Typer(help="Presence: schedules, runs, classification and sign-in sheets.", no_args_is_help=True)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise fail(f"not a date (YYYY-MM-DD): {text}") from None


def _rule(items: list[str]) -> dict[str, str] | None:
    if not items:
        return None
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--rule takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    if "methods" in out:
        out["methods"] = [m for m in out["methods"].split(",") if m]  # type: ignore[assignment]
    return out


@app.command("schedule")
def schedule(class_code: str = typer.Argument(..., metavar="CLASS"),
             session: list[str] = typer.Option(..., "--session", "-s", help="START-END, e.g. 08:30-11:30; repeat"),
             first: str | None = typer.Option(None, "--from", help="First day (default: the class start date)"),
             last: str | None = typer.Option(None, "--to", help="Last day (default: the class end date)"),
             rest_weekday: list[int] = typer.Option([], "--rest-weekday", help="ISO weekday off (6 Sat, 7 Sun); repeat"),
             rest_day: list[str] = typer.Option([], "--rest-day", help="A declared rest day YYYY-MM-DD; repeat"),
             holiday: list[str] = typer.Option([], "--holiday", help="A public holiday YYYY-MM-DD; repeat"),
             day: list[str] = typer.Option([], "--day", help="Explicit training days instead of a range; repeat"),
             rule: list[str] = typer.Option([], "--rule", help="Presence rule override KEY=VALUE, e.g. late_grace=5; repeat")) -> None:
    """Set CLASS's training days (a range minus rest days and holidays, or explicit days), its daily
    sessions in the site's time zone, and optional presence-rule overrides."""
    try:
        with session_scope(engine()) as s:
            sch = svc.set_schedule(s, settings(), class_code, sessions=session, first=_date(first), last=_date(last),
                                   days=[_date(d) for d in day] or None, rest_weekdays=rest_weekday,  # type: ignore[misc]
                                   rest_days=[_date(d) for d in rest_day], holidays=[_date(d) for d in holiday],  # type: ignore[misc]
                                   rule=_rule(rule))
    except svc.PresenceError as exc:
        raise fail(str(exc)) from None
    console.print(f"{class_code}: {len(sch.days)} training days {sch.days[0] if sch.days else ''}..{sch.days[-1] if sch.days else ''}, "
                  f"sessions {', '.join(s.label() for s in sch.sessions)} ({sch.timezone})")


@app.command("schedule-import")
def schedule_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="YAML or CSV")) -> None:
    """Set several classes' schedules from a file. YAML: `CODE: {sessions: [08:30-11:30], from, to,
    rest_weekdays: [6, 7], rest_days, holidays, days, rule: {late_grace_minutes: 5}}`; CSV columns
    class_code, sessions, from, to, rest_weekdays, rest_days, holidays (lists separated by ';')."""
    try:
        with session_scope(engine()) as s:
            done = svc.import_schedules(s, settings(), file.read_bytes(), file.name)
    except (svc.PresenceError, ValueError, KeyError) as exc:
        raise fail(f"nothing imported: {exc}") from None
    console.print(f"schedules set for {len(done)} classes: {', '.join(done)}")


def summary_table(runs: list[svc.RunSummary]) -> Table:
    """Runs and each class's classification (also used by the demo); fits an 80-column terminal."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True,
                  caption="days ok: training days with punch records; gaps: sessions without (the sampling population)")
    for name in ("class", "run", "trainees", "punches", "coverage", "days ok", "gaps", "classification"):
        table.add_column(name, no_wrap=name in ("class", "classification"), justify="left" if name in ("class", "classification") else "right")
    for r in runs:
        verdict = "[green]punch records[/green]" if r.has_records else "[yellow]needs sampling[/yellow]"
        table.add_row(r.class_code, f"v{r.version}" + ("" if r.new else "="), str(r.trainees), str(r.punches),
                      f"{r.coverage:.0%}", f"{r.days_with_records}/{r.days}", str(r.sessions_without_records), verdict)
    return table


@app.command("run")
def run(class_code: list[str] = typer.Option([], "--class", "-c", help="Class code; repeat"),
        all_: bool = typer.Option(False, "--all", help="Every class with a schedule"),
        on: str | None = typer.Option(None, "--date", help="Only classes with a training day on this date")) -> None:
    """Compute presence (a new stored version when punches, photos, roster, schedule or rule changed).
    With only --date: every class that has a training day on that date."""
    if not class_code and not all_ and not on:
        raise fail("give --class CODE, --all or --date D")
    with progress() as bar:
        task = bar.add_task("presence", total=None)
        try:
            with session_scope(engine()) as s:
                runs, skipped = svc.run_presence(s, settings(), class_code or None, on_date=_date(on), trigger="cli")
        except svc.PresenceError as exc:
            raise fail(str(exc)) from None
        bar.update(task, total=1, completed=1)
    console.print(summary_table(runs))
    if skipped:
        console.print(f"[yellow]no schedule (skipped):[/yellow] {', '.join(skipped)}")


@app.command("status")
def status(institution: int | None = typer.Option(None, "--institution", help="Only this institution id")) -> None:
    """Each class's latest run: has punch records, or needs a sampling inspection."""
    with session_scope(engine()) as s:
        rows = svc.classification(s, institution)
    table = Table("class", "name", "run", "computed (UTC)", "coverage", "sessions w/o records", "classification")
    for c in rows:
        table.add_row(c.class_code, c.class_name, f"v{c.version}" if c.version else "-",
                      f"{c.computed_at:%Y-%m-%d %H:%M}" if isinstance(c.computed_at, datetime) else "-",
                      f"{c.coverage:.0%}" if c.coverage is not None else "-",
                      str(c.sessions_without_records) if c.sessions_without_records is not None else "-", c.classification)
    console.print(table)


@app.command("report")
def report(class_code: str = typer.Argument(..., metavar="CLASS"),
           fmt: str = typer.Option("xlsx", "--format", "-f", help="xlsx or csv"),
           out: Path | None = typer.Option(None, "--out", "-o", help="File to write (default: <CLASS>-presence-v<N>.<fmt>)"),
           version: int | None = typer.Option(None, "--version", help="A stored run version (default: latest)"),
           language: str | None = typer.Option(None, "--language", "-l", help="zh or en (default: settings.language)")) -> None:
    """Write the sign-in sheet (签到表) of CLASS's presence run."""
    try:
        with session_scope(engine()) as s:
            data, name, _ = svc.report(s, class_code, fmt, language or settings().language, version=version)
    except svc.PresenceError as exc:
        raise fail(str(exc)) from None
    path = out or Path(name)
    path.write_bytes(data)
    console.print(f"wrote {path} ({len(data):,} bytes)")
