"""Demo step: a sampling inspection of each class without punch records, over the REST API.

Plan, reproducible draw (recorded seed, population hash), legal hold, review clips cut from the
site's classroom footage (small videos are made here for the sampled windows when no earlier step
recorded any), face pre-screen, verdicts (every session held as declared except one with too few
trainees), decision with the exact upper bound, and the report in Chinese (XLSX + HTML).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from rich.table import Table
from sqlalchemy import select

from punchaudit.demo.context import DemoContext
from punchaudit.services import footage as footage_svc
from punchaudit.services import presence as presence_svc
from punchaudit.services import sampling_sources as sources
from punchaudit.web import report as reports
from storage import sampling as repo
from storage.db import session_scope
from storage.schema.core import Site, TrainingClass

SESSIONS = ["08:30-11:30", "14:00-17:00"]  # as the terminal simulation teaches
FACE = Path(__file__).resolve().parents[3] / "shared" / "data" / "faces" / "ageitgey_face_recognition" / "tests" / "test_images" / "obama.jpg"
if not FACE.exists():
    FACE = Path("/work/shared/data/faces/ageitgey_face_recognition/tests/test_images/obama.jpg")


def _classes_without_records(ctx: DemoContext) -> list[str]:
    """Latest presence classification; computes presence first when no earlier step did."""
    with session_scope(ctx.engine) as s:
        status = {c.class_code: c.has_records for c in presence_svc.classification(s)}
        missing = [code for code in ctx.class_codes if status.get(code) is None]
        for code in missing:
            cls = s.scalar(select(TrainingClass).where(TrainingClass.code == code))
            if cls is not None:
                presence_svc.set_schedule(s, ctx.settings, code, sessions=SESSIONS, rest_weekdays=(6, 7))
        if missing:
            presence_svc.run_presence(s, ctx.settings, missing, trigger="demo")
            status = {c.class_code: c.has_records for c in presence_svc.classification(s)}
    return [code for code in ctx.class_codes if status.get(code) is False]


def _classroom_video(path: Path, start_local: datetime, seconds: int, fps: float = 1.0) -> Path:
    """A small real video: desks, a clock-like counter and (when the sample photo is there) a face."""
    face = cv2.imread(str(FACE)) if FACE.exists() else None
    if face is not None:
        face = cv2.resize(face, (130, 130 * face.shape[0] // face.shape[1]))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (480, 320))
    for i in range(int(seconds * fps)):
        frame = np.full((320, 480, 3), (205, 215, 225), np.uint8)
        for row in range(2):
            for col in range(4):
                cv2.rectangle(frame, (20 + col * 115, 230 + row * 45), (110 + col * 115, 260 + row * 45), (60, 90, 130), -1)
        if face is not None:
            h, w = face.shape[:2]
            x = 300 + int(20 * np.sin(i / 10))
            frame[30:30 + h, x:x + w] = face
        stamp = (start_local + timedelta(seconds=i / fps)).strftime("%Y-%m-%d %H:%M:%S")
        cv2.putText(frame, stamp, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (20, 20, 20), 1)
        writer.write(frame)
    writer.release()
    return path


def _ensure_footage(ctx: DemoContext, inspection_id: int) -> int:
    """Record footage for sampled windows that no registered file covers; returns files made."""
    settings = ctx.settings
    with session_scope(ctx.engine) as s:
        row = repo.get(s, inspection_id)
        cls = s.get(TrainingClass, row.class_id)
        site = s.get(Site, cls.site_id)
        windows = [(i.session_key, i.window_start_utc, i.window_end_utc) for i in repo.items(s, inspection_id)]
        site_id, tz = site.id, ZoneInfo(site.timezone)
    made = 0
    folder = ctx.workdir / "camera-exports"
    folder.mkdir(parents=True, exist_ok=True)
    for key, w0, w1 in windows:
        if footage_svc.footage_at(ctx.engine, site_id, w0):
            continue
        start = (w0 - timedelta(minutes=1)).replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None)
        seconds = int((w1 - w0).total_seconds()) + 120
        video = _classroom_video(folder / f"cam1_{start:%Y%m%dT%H%M%S}.mp4", start, seconds)
        footage_svc.register_file(ctx.engine, settings, footage_svc.store_for(settings), video, site=site_id,
                                  camera="cam1", start=start, end=start + timedelta(seconds=seconds), actor="demo",
                                  now=datetime.now(timezone.utc))
        made += 1
    return made


def run(ctx: DemoContext) -> None:
    ctx.console.rule("[bold]Sampling inspection of classes without punch records")
    codes = _classes_without_records(ctx)
    if not codes:
        ctx.console.print("every class has punch records: no sampling inspection needed")
        return
    demo_settings = ctx.settings.model_copy(update={
        "faces": ctx.settings.faces.model_copy(update={"video_step_seconds": 30.0}),
        "footage": ctx.settings.footage.model_copy(update={"clip_max_fps": 2.0}),
    })
    results = {}
    with ctx.client(ctx.inspector_key or ctx.admin_key) as api:
        for code in codes:
            r = api.post("/api/v1/sampling/inspections", json={"class_code": code})
            r.raise_for_status()
            opened = r.json()
            iid, plan = opened["id"], opened["plan"]
            ctx.console.print(
                f"{code}: N = {plan['population']} sessions without punch records, D = {plan['defects']} "
                f"(ceil {float(Fraction(plan['tolerable_rate'])):.0%} x N), plan n = {plan['sample_size']} "
                f"(P(accept | D) = {plan['achieved']} = {plan['achieved_float']:.4f} <= alpha), drawn "
                f"{opened['sample_size']} ({opened['draw']['design']})")
            ctx.console.print(f"  seed {opened['seed']} ({opened['seed_source']}), population SHA-256 "
                              f"{opened['population_hash'][:16]}..., legal hold {opened['hold_reference']}")
            made = _ensure_footage(ctx, iid)
            prepared = sources.prepare_clips(ctx.engine, demo_settings, iid, actor="demo")
            ctx.console.print(f"  {made} classroom videos recorded for the demo; {sum(1 for p in prepared if p.clip_path)} "
                              f"WebM review clips cut and pre-screened for faces")
            q = api.get(f"/api/v1/sampling/inspections/{iid}/queue").json()
            enrolled = len(q["roster"])
            for k, item in enumerate(q["items"]):
                last = k == len(q["items"]) - 1
                body = {"held_as_declared": not last, "head_count": enrolled // 3 if last else enrolled,
                        "notes": f"现场仅{enrolled // 3}人，与申报{enrolled}人不符" if last else "按申报开课"}
                api.post(f"/api/v1/sampling/inspections/{iid}/items/{item['id']}/verdicts", json=body).raise_for_status()
            ev = api.post(f"/api/v1/sampling/inspections/{iid}/close").json()
            reproduced = api.get(f"/api/v1/sampling/inspections/{iid}/verify-draw").json()["reproduced"]
            with session_scope(ctx.engine) as s:
                files = reports.write_report(s, iid, ctx.workdir / "reports", ctx.settings.language)
            t = Table(title=f"{code}: decision")
            for col in ("sampled", "bad x", "c", "decision", "D_U (95%)", "draw reproduced", "report"):
                t.add_column(col)
            t.add_row(str(ev["sample_size"]), str(ev["bad"]), str(ev["acceptance"]), ev["decision"],
                      f"{ev['upper_bound']} of {ev['population']} ({ev['upper_rate_float']:.0%})", str(reproduced),
                      f"{files.xlsx.name}, {files.html.name}")
            ctx.console.print(t)
            results[code] = {"inspection_id": iid, "decision": ev["decision"], "upper_bound": ev["upper_bound"],
                             "report": str(files.html)}
    ctx.results["sampling"] = results
    ctx.console.print(f"inspector page: {ctx.base_url}/inspector/ (demo inspector key: {ctx.inspector_key or ctx.admin_key}). After the demo: "
                      f"PUNCHAUDIT_DATABASE_URL=sqlite:///{ctx.workdir / 'punchaudit.db'} punchaudit serve, then "
                      f"http://127.0.0.1:{ctx.settings.api_port}/inspector/ ; reports in {ctx.workdir / 'reports'}")
