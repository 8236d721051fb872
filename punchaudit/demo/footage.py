"""Demo step: classroom footage for the classes whose sites have terminals, registered, verified,
covered and kept.

Each session is filmed as a small real video (OpenCV, 160x120, one frame every 20 s, a timestamp
burnt into every frame) whose length matches its declared times, written into the footage store in
the recorder layout <site>/<camera>/<camera>_<start>_<end>.mp4 and registered by `scan`. One session
per site is left unfilmed and one stops early, so coverage shows gaps; a corrupt file and a file
whose length disagrees with its name are registered as defective; one file is altered after
registration and the integrity check catches it. Sites without terminals are left to the sampling
step, which records the windows it samples.
"""
from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
from rich.table import Table
from sqlalchemy import select

from punchaudit import scheduler
from punchaudit.demo.context import DemoContext
from punchaudit.services import footage as svc
from storage import audit, retention
from storage import footage as footage_repo
from storage.schema.core import Device, Site, TrainingClass

FPS = 0.05  # one frame every 20 s: a three-hour session is 540 frames
SIZE = (160, 120)


def write_timelapse(path: Path, start_local: datetime, seconds: float, label: str) -> Path:
    """A real MPEG-4 video of `seconds` duration with the local time burnt into each frame."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    base = np.full((SIZE[1], SIZE[0], 3), (200, 210, 220), np.uint8)
    for col in range(4):
        cv2.rectangle(base, (8 + col * 38, 80), (38 + col * 38, 100), (60, 90, 130), -1)
    for i in range(int(round(seconds * FPS))):
        frame = base.copy()
        stamp = start_local + timedelta(seconds=i / FPS)
        cv2.putText(frame, stamp.strftime("%m-%d %H:%M:%S"), (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (20, 20, 20), 1)
        cv2.putText(frame, label, (4, 34), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (40, 40, 160), 1)
        writer.write(frame)
    writer.release()
    return path


def _name(camera: str, start: datetime, end: datetime) -> str:
    return f"{camera}_{start:%Y%m%dT%H%M%S}_{end:%Y%m%dT%H%M%S}.mp4"


def _sessions_to_film(ctx: DemoContext) -> dict[str, list[tuple[date, str, datetime, datetime]]]:
    """site code -> (day, session, local start, local end), for sites with a terminal, deduplicated
    across the classes sharing a site."""
    out: dict[str, set[tuple[date, str, datetime, datetime]]] = {}
    with ctx.engine.connect() as conn:
        with_terminals = set(conn.execute(select(Device.site_id).where(Device.enabled.is_(True))).scalars())
        for code in ctx.class_codes:
            cls = conn.execute(select(TrainingClass).where(TrainingClass.code == code)).first()
            if cls is None or cls.site_id not in with_terminals:
                continue
            site = conn.execute(select(Site.code, Site.timezone).where(Site.id == cls.site_id)).one()
            sched = svc.schedule_for(conn, cls, site.timezone)  # the one coverage is measured against
            for day in sched.days[: ctx.days]:
                for s in sched.sessions:
                    start = datetime.combine(day, time()) + timedelta(minutes=s.start)
                    end = datetime.combine(day, time()) + timedelta(minutes=s.end_offset)
                    out.setdefault(site.code, set()).add((day, s.label(), start, end))
    return {k: sorted(v) for k, v in out.items()}


def _film(ctx: DemoContext) -> int:
    root = Path(ctx.settings.footage.root)
    made = 0
    for site, sessions in _sessions_to_film(ctx).items():
        for i, (day, label, start, end) in enumerate(sessions):
            if i == 1:
                continue  # the camera was off: this session has no footage
            begin = start - timedelta(minutes=5)
            finish = start + timedelta(hours=1) if i == 2 else end + timedelta(minutes=5)  # stopped early
            write_timelapse(root / site / "cam1" / _name("cam1", begin, finish), begin,
                            (finish - begin).total_seconds(), f"{site} {label}")
            made += 1
        day, label, start, end = sessions[0]
        bad = root / site / "cam2" / _name("cam2", start, end)
        bad.parent.mkdir(parents=True, exist_ok=True)
        bad.write_bytes(os.urandom(20_000))  # an unreadable export
        write_timelapse(root / site / "cam3" / _name("cam3", start, end), start, 60.0, "short")  # 1 min named as 3 h
        noon = datetime.combine(day, time(12, 0))
        write_timelapse(root / site / "cam9" / _name("cam9", noon, noon + timedelta(minutes=10)), noon, 600.0,
                        "lunch break")
        made += 3
    return made


def run(ctx: DemoContext) -> None:
    ctx.console.rule("[bold]Classroom footage: registry, integrity, coverage, two-year retention")
    settings, engine = ctx.settings, ctx.engine
    store = svc.store_for(settings)
    now = datetime.now(timezone.utc)
    made = _film(ctx)
    root = Path(settings.footage.root)
    from punchaudit.cli.common import progress

    files = svc.candidate_files(root, settings.footage.extensions)
    with progress() as bar:
        task = bar.add_task("registering footage", total=len(files))
        scan = svc.scan(engine, settings, store, root, site=None, actor="demo", now=now,
                        on_file=lambda _p: bar.advance(task))
    again = svc.scan(engine, settings, store, root, site=None, actor="demo", now=now)
    ctx.console.print(f"{made} video files written by OpenCV; scan registered {scan.new} ({scan.defective} defective); "
                      f"a second scan found {again.new} new, {again.existing} already registered")
    rows = svc.retention_state(engine, settings, now=now, limit=10_000)
    defects = Table("footage", "file", "why it is defective", title="registered as defective, not refused")
    for r in rows:
        if r["status"] == "defective":
            defects.add_row(str(r["id"]), f"{r['site']}/{r['camera']}", r["defect_reason"])
    ctx.console.print(defects)

    altered = next(r for r in rows if r["camera"] == "cam9")
    with engine.connect() as conn:
        path = store.local_path(footage_repo.get(conn, altered["id"]).key)
    with open(path, "r+b") as f:  # someone edits an exported file after registration
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0x55]))
    ver = svc.verify(engine, settings, store, now=now, everything=True, actor="demo")
    ctx.console.print(f"integrity check: {ver.checked} files re-hashed ({settings.footage.verify_digest}), {ver.ok} intact, {len(ver.altered)} altered "
                      f"(footage {', '.join(str(a['footage_id']) for a in ver.altered)}: now under an integrity hold), "
                      f"{len(ver.missing)} missing")

    cov = Table("class", "sessions filmed", "not filmed (day session share)", title="footage coverage")
    for code in ctx.class_codes:
        sessions = svc.class_coverage(engine, settings, code)
        gaps = [f"{s.day:%m-%d} {s.session} {s.share:.0%}" for s in sessions if not s.covered]
        cov.add_row(code, f"{sum(s.covered for s in sessions)} / {len(sessions)}",
                    ", ".join(gaps[:4]) + (f" (+{len(gaps) - 4})" if len(gaps) > 4 else ""))
    ctx.console.print(cov)

    ret = Table("site", "files", "ok", "defective", "altered", "retain until", "days left", "held",
                title="retention state")
    by_site: dict[str, list[dict]] = {}
    for r in svc.retention_state(engine, settings, now=now, limit=10_000):
        by_site.setdefault(r["site"], []).append(r)
    for site, items in sorted(by_site.items()):
        until = sorted({r["retain_until"] for r in items})
        ret.add_row(site, str(len(items)), *(str(sum(r["status"] == s for r in items)) for s in ("ok", "defective", "altered")),
                    until[0] if len(until) == 1 else f"{until[0]} .. {until[-1]}",
                    str(min(r["days_left"] for r in items)), str(sum(r["held"] for r in items)))
    ctx.console.print(ret)

    victim = next(r for r in rows if r["status"] == "ok")
    try:
        svc.delete_footage(engine, settings, store, victim["id"], actor="demo", now=now)
        ctx.console.print("[red]unexpected: an unexpired file was deleted[/red]")
    except retention.DeletionRefused as exc:
        ctx.console.print(f"delete footage {victim['id']} -> refused: {exc}")
    sweep = scheduler.run_job("retention_sweep", engine, settings, now=now)
    again_sweep = scheduler.run_job("retention_sweep", engine, settings, now=now)
    ctx.console.print(f"retention sweep job ({sweep.logical_date}): {sweep.status}, deleted {sweep.outcome.get('deleted')}, "
                      f"free space {sweep.outcome.get('free_bytes', 0) / 1e9:.1f} GB; a second scheduler claiming the same "
                      f"day: {again_sweep.status}")
    head_file = ctx.workdir / "audit-head.json"
    with engine.connect() as conn:
        chain = audit.verify(conn)
        audit.export_head(conn, head_file, now=now)
    ctx.console.print(f"audit log: {chain.entries} hash-chained entries, intact={chain.ok}; head exported to {head_file}")
    ctx.results["footage"] = {"files": len(rows), "defective": sum(r["status"] == "defective" for r in rows),
                              "altered": len(ver.altered), "audit_entries": chain.entries}
