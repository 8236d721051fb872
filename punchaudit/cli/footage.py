"""`punchaudit footage`: register, verify, cover, hold and (only when allowed) delete footage."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from punchaudit.cli.common import console, engine, fail, progress, settings
from punchaudit.services import footage as svc
from storage.retention import RetentionError

app = typer.Typer(help="Classroom footage: registry, integrity, retention, holds, coverage.", no_args_is_help=True)
ACTOR = "cli"


def _now() -> datetime:
    return svc.utc_naive()


def _when(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--{name}: not an ISO date-time (e.g. 2026-03-04T08:30:00): {text!r}") from None


@app.command()
def scan(
    directory: Path = typer.Argument(None, help="Folder to scan (default: footage.root)", exists=True, file_okay=False),
    site: str = typer.Option(None, "--site", help="Site code for every file (default: first folder under the root)"),
) -> None:
    """Register every footage file under DIRECTORY not registered yet (safe to re-run)."""
    cfg = settings()
    store = svc.store_for(cfg)
    directory = directory or Path(cfg.footage.root)
    files = svc.candidate_files(directory, cfg.footage.extensions)
    with progress() as bar:
        task = bar.add_task("registering", total=len(files))
        result = svc.scan(engine(), cfg, store, directory, site=site, actor=ACTOR, now=_now(),
                          on_file=lambda _p: bar.advance(task))
    console.print(f"{result.new} new ({result.defective} defective), {result.existing} already registered, "
                  f"{len(result.skipped)} skipped")
    for path, reason in result.skipped:
        console.print(f"[yellow]skipped[/yellow] {path}: {reason}")


@app.command()
def register(
    files: list[Path] = typer.Argument(..., help="Video files", exists=True, dir_okay=False),
    site: str = typer.Option(..., "--site", help="Site code or id"),
    camera: str = typer.Option(None, "--camera", help="Camera name (default: from the file name)"),
    start: str = typer.Option(None, "--start", help="Recording start, site-local ISO time (default: from the name)"),
    end: str = typer.Option(None, "--end", help="Recording end, site-local ISO time"),
) -> None:
    """Register FILES (copied into the footage store unless already under its root)."""
    cfg = settings()
    store = svc.store_for(cfg)
    for path in files:
        try:
            reg = svc.register_file(engine(), cfg, store, path, site=site, camera=camera, start=_when(start, "start"),
                                    end=_when(end, "end"), actor=ACTOR, now=_now())
        except svc.FootageError as exc:
            raise fail(str(exc)) from None
        state = "[green]ok[/green]" if reg.status == "ok" else f"[red]{reg.status}[/red]: {reg.reason}"
        console.print(f"footage {reg.id} {reg.key} {state}{'' if reg.created else ' (already registered)'}; "
                      f"retained until {reg.retain_until}")


@app.command()
def verify(all_: bool = typer.Option(False, "--all", help="Re-hash everything, not tonight's share"),
           digest: str = typer.Option(None, "--digest", metavar="blake3|sha256",
                                      help="Digest to re-check: blake3 (fast, taken at registration) or sha256 "
                                           "(the digest of record); default footage.verify_digest")) -> None:
    """Re-hash footage and report missing or altered files (exit 1 if any)."""
    cfg = settings()
    if digest not in (None, "blake3", "sha256"):
        raise fail(f"--digest {digest}: choose blake3 or sha256")
    with progress() as bar:
        task = bar.add_task("verifying", total=None)
        res = svc.verify(engine(), cfg, svc.store_for(cfg), now=_now(), everything=all_, digest=digest, actor=ACTOR,
                         on_file=lambda _i: bar.advance(task))
    console.print(f"{res.checked} checked, {res.ok} intact, {len(res.missing)} missing, {len(res.altered)} altered, "
                  f"{len(res.restored)} restored")
    for m in res.missing:
        console.print(f"[red]missing[/red] footage {m['footage_id']} {m['key']} (first seen missing {m['first_missing_at']})")
    for a in res.altered:
        console.print(f"[red]altered[/red] footage {a['footage_id']} {a['key']}: {a['digest']} {a['found']} != {a['expected']}")
    if res.missing or res.altered:
        raise typer.Exit(1)


@app.command("coverage")
def coverage_(class_ref: str = typer.Argument(..., metavar="CLASS", help="Class code or id")) -> None:
    """Which sessions of which days of CLASS have footage."""
    try:
        rows = svc.class_coverage(engine(), settings(), class_ref)
    except svc.FootageError as exc:
        raise fail(str(exc)) from None
    table = Table("day", "session", "covered", "share", title=f"footage coverage of class {class_ref}")
    for r in rows:
        table.add_row(r.day.isoformat(), r.session, "[green]yes[/green]" if r.covered else "[red]no[/red]",
                      f"{r.share:.0%}")
    console.print(table)
    console.print(f"{sum(r.covered for r in rows)} of {len(rows)} sessions filmed")


@app.command()
def delete(footage_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Delete footage ID: refused unless it is past its retain-until date and under no hold."""
    cfg = settings()
    try:
        svc.delete_footage(engine(), cfg, svc.store_for(cfg), footage_id, actor=ACTOR, now=_now())
    except RetentionError as exc:
        raise fail(f"refused: {exc}") from None
    console.print(f"footage {footage_id} deleted (recorded in the audit log)")


@app.command()
def hold(
    class_ref: str = typer.Option(None, "--class", help="Hold every file of this class (code or id)"),
    footage_id: int = typer.Option(None, "--footage", help="Hold one footage file"),
    reason: str = typer.Option(..., "--reason", help="Why (shown on refused deletions)"),
    by: str = typer.Option(ACTOR, "--by", help="Who sets the hold"),
) -> None:
    """Place a legal hold on a class's footage or one file."""
    class_id = None
    if class_ref is not None:
        from storage import footage as repo

        with engine().connect() as conn:
            row = repo.class_row(conn, class_ref)
        if row is None:
            raise fail(f"class {class_ref!r} not found")
        class_id = row.id
    try:
        h = svc.set_hold(engine(), reason=reason, set_by=by, now=_now(), class_id=class_id, footage_id=footage_id)
    except RetentionError as exc:
        raise fail(str(exc)) from None
    console.print(f"hold {h.id} set: {h.describe()}")


@app.command()
def release(
    hold_id: int = typer.Argument(..., help="Hold id"),
    reason: str = typer.Option("", "--reason"),
    by: str = typer.Option(ACTOR, "--by", help="Who releases the hold"),
) -> None:
    """Release legal hold HOLD_ID (the footage is again subject to its retain-until date)."""
    try:
        svc.release_hold(engine(), hold_id, released_by=by, now=_now(), reason=reason)
    except RetentionError as exc:
        raise fail(str(exc)) from None
    console.print(f"hold {hold_id} released")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """Footage counts by status, active holds, free disk space and the low-disk alarm."""
    cfg = settings()
    st = svc.status(engine(), cfg, svc.store_for(cfg))
    if as_json:
        console.print_json(json.dumps(st))
        return
    table = Table("status", "files", "GB")
    for name, c in st["counts"].items():
        table.add_row(name, str(c["files"]), f"{c['bytes'] / 1e9:.3f}")
    console.print(table)
    free = st["free_bytes"]
    console.print(f"active holds: {st['active_holds']}; free space: {free / 1e9:.1f} GB "
                  f"(alarm below {st['low_disk_threshold'] / 1e9:.1f} GB)")
    if st["low_disk"]:
        console.print("[red]ALARM: footage disk low on space; nothing will be evicted to make room[/red]")
    if st["last_low_disk_alarm"]:
        console.print(f"last low-disk alarm recorded {st['last_low_disk_alarm']}")


@app.command("list")
def list_(limit: int = typer.Option(50, min=1), offset: int = typer.Option(0, min=0)) -> None:
    """Footage with retain-until dates, days left and holds."""
    rows = svc.retention_state(engine(), settings(), now=_now(), limit=limit, offset=offset)
    table = Table("id", "site", "camera", "start (UTC)", "status", "retain until", "days left", "held")
    for r in rows:
        table.add_row(str(r["id"]), r["site"], r["camera"], r["start_utc"][:16], r["status"], r["retain_until"],
                      str(r["days_left"]), "yes" if r["held"] else "")
    console.print(table)


@app.command()
def sweep() -> None:
    """Run today's retention sweep now (claimed like the scheduled run: at most once a day)."""
    from punchaudit import scheduler

    res = scheduler.run_job("retention_sweep", engine(), settings())
    console.print(f"{res.status}: {json.dumps(res.outcome)}")
    if res.status == "failed":
        raise typer.Exit(1)
