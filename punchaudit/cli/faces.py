"""`punchaudit faces`: enrol trainees' faces, verify punch photos, find duplicate identities, scan footage."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from punchaudit.cli.common import console, engine, fail, progress, settings
from punchaudit.services import faces as svc
from punchaudit.services.registry import RegistryError
from storage import faces as repo
from storage.db import session_scope

app = typer.Typer(help="Face enrolment, punch-photo verification, duplicate identities, faces in footage.",
                  no_args_is_help=True)


@app.command()
def enroll(
    roster: Path = typer.Option(..., "--roster", exists=True, file_okay=False, help="Folder of JPEG/PNG photos"),
    class_code: str | None = typer.Option(None, "--class", help="Read file names as PINs of this class"),
) -> None:
    """Enrol the photos in a folder; each file is named by the trainee's resident ID, or by PIN with --class."""
    photos = svc.roster_photos(roster)
    if not photos:
        raise fail(f"no .jpg/.jpeg/.png files in {roster}")
    with progress() as bar:
        task = bar.add_task("enrolling", total=len(photos))
        report = svc.enrol_roster(engine(), settings(), roster, class_code=class_code,
                                  on_photo=lambda _p: bar.advance(task))
    console.print(f"enrolled {len(report.enrolled)} of {len(photos)} photos")
    if report.look_alikes:
        alike = Table("distance", "enrolled now", "already enrolled as", "institution / class")
        for r in report.look_alikes:
            alike.add_row(f"{r.distance:.3f}", f"{r.a.name} {r.a.id_masked}", f"{r.b.name} {r.b.id_masked}", _where(r.b))
        console.print("[yellow]faces matching another resident ID (check before paying):[/yellow]")
        console.print(alike)
    if report.refused:
        table = Table("file", "refused because")
        for name, reason in report.refused:
            table.add_row(name, reason)
        console.print(table)
        raise typer.Exit(1 if not report.enrolled else 0)


@app.command()
def verify(
    limit: int | None = typer.Option(None, help="Verify at most this many photos"),
    workers: int | None = typer.Option(None, help="Worker processes (default faces.workers; 0 = in this process)"),
) -> None:
    """Verify every punch photo not yet verified (the same work the server does in the background)."""
    with session_scope(engine()) as session:
        pending = repo.count_pending(session)
    total = pending if limit is None else min(limit, pending)
    with progress() as bar:
        task = bar.add_task("verifying", total=total)
        stats = svc.verify_pending(engine(), settings(), limit=limit, workers=workers,
                                   on_batch=lambda done, _left: bar.update(task, completed=min(done, total)))
    table = Table("outcome", "photos")
    for outcome, n in sorted(stats.outcomes.items()):
        table.add_row(outcome, str(n))
    for reason, n in sorted(stats.skipped.items()):
        table.add_row(f"skipped ({reason})", str(n))
    if stats.errors:
        table.add_row("unreadable", str(stats.errors))
    console.print(f"verified {stats.processed} photos")
    console.print(table)


@app.command()
def duplicates(
    tolerance: float | None = typer.Option(None, help="Distance limit (default faces.tolerance)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
) -> None:
    """List pairs of enrolled faces, city-wide, that look like one person under two resident IDs."""
    with session_scope(engine()) as session:
        rows = svc.find_duplicates(session, settings(), tolerance=tolerance)
    if as_json:
        console.print_json(json.dumps([_dup_json(r) for r in rows], ensure_ascii=False))
        return
    table = Table("distance", "trainee A", "institution / class A", "trainee B", "institution / class B")
    for r in rows:
        table.add_row(f"{r.distance:.3f}", f"{r.a.name} {r.a.id_masked}", _where(r.a), f"{r.b.name} {r.b.id_masked}", _where(r.b))
    console.print(f"{len(rows)} suspected duplicate identities")
    if rows:
        console.print(table)


def _where(p: repo.TraineePlace) -> str:
    return f"{', '.join(p.institutions)} / {', '.join(p.classes)}"


def _dup_json(r: svc.DuplicateRow) -> dict[str, object]:
    def side(p: repo.TraineePlace) -> dict[str, object]:
        return {"trainee_id": p.trainee_id, "name": p.name, "id_masked": p.id_masked,
                "institutions": list(p.institutions), "classes": list(p.classes)}

    return {"distance": r.distance, "a": side(r.a), "b": side(r.b)}


@app.command()
def video(
    footage: Path = typer.Argument(..., exists=True, dir_okay=False, help="Footage file (mp4, mkv, avi, ...)"),
    class_code: str = typer.Option(..., "--class", help="Identify the enrolled trainees of this class"),
    start: float = typer.Option(0.0, help="Window start, seconds from the start of the file"),
    end: float | None = typer.Option(None, help="Window end, seconds (default: end of file)"),
    step: float | None = typer.Option(None, help="Seconds between sampled frames (default faces.video_step_seconds)"),
) -> None:
    """Identify a class's enrolled trainees in a footage window: faces per sampled frame and who was seen."""
    try:
        with session_scope(engine()) as session:
            scan = svc.scan_class_footage(session, settings(), class_code, footage, start_s=start, end_s=end, step_s=step)
            names = repo.trainee_places(session, list(scan.identified))
    except (RegistryError, ValueError) as exc:
        raise fail(str(exc)) from None
    table = Table("t (s)", "faces", "identified")
    for f in scan.frames:
        table.add_row(f"{f.t_seconds:.1f}", str(f.face_count),
                      ", ".join(f"{names[t].name} ({d:.2f})" for t, d in zip(f.trainee_ids, f.distances, strict=True)))
    console.print(table)
    seen = ", ".join(f"{names[t].name} x{n}" for t, n in sorted(scan.identified.items()))
    console.print(f"{len(scan.frames)} frames sampled, at most {scan.max_faces} faces in a frame; identified: {seen or 'nobody'}")
