"""Where an inspection's inputs come from in the other areas: the population and presence figures
from the latest presence run, the risk flags for spot checks, the review clips from the footage
area and the face pre-screen from the faces area."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from punchaudit.config import Settings
from storage import sampling as repo
from storage.db import session_scope
from storage.sampling import PopulationSession
from storage.schema.core import Trainee

log = logging.getLogger("punchaudit.sampling")


class PopulationUnavailable(Exception):
    """No presence run (or schedule) tells which sessions of the class lack punch records."""


def latest_run(session: Session, class_id: int) -> Any:
    try:
        from storage import presence as presence_repo
    except ImportError:
        raise PopulationUnavailable("the presence area is not installed") from None
    run = presence_repo.latest_run(session, class_id)
    if run is None:
        raise PopulationUnavailable("no presence run for this class yet; run `punchaudit presence run` first")
    return run


def presence_population(session: Session, settings: Settings, class_id: int, *, kind: str = "no_records") -> list[PopulationSession]:
    """From the class's latest presence run: its sessions without punch records (no_records), or all
    of its scheduled sessions (spot_check, for classes that do have records)."""
    from attendance.schedule import Schedule
    from punchaudit.services import presence as presence_svc

    if kind != "spot_check":
        try:
            return [PopulationSession(*row) for row in presence_svc.population(session, class_id)]
        except presence_svc.NotFound as exc:
            raise PopulationUnavailable(str(exc)) from None
    schedule = Schedule.from_json(json.loads(latest_run(session, class_id).schedule_json))
    zone = ZoneInfo(schedule.timezone)
    out = []
    for day in schedule.days:
        midnight = datetime(day.year, day.month, day.day)
        for s, sess in enumerate(schedule.sessions):
            start, end = (
                (midnight + timedelta(minutes=m)).replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
                for m in (sess.start, sess.end_offset)
            )
            out.append(PopulationSession(day, s, start, end))
    return out


def presence_figures(session: Session, class_id: int) -> dict[str, dict[str, Any]]:
    """session key -> punch coverage and trainees with a record-grade punch, from the latest run."""
    try:
        run = latest_run(session, class_id)
        from storage import presence as presence_repo
    except PopulationUnavailable:
        return {}
    schedule = json.loads(run.schedule_json)
    coverage = json.loads(run.session_coverage_json)
    codes = presence_repo.from_npy(run.session_codes)
    out = {}
    for d, day in enumerate(schedule["days"]):
        for s in range(len(schedule["sessions"])):
            present = int((codes[:, d, s] <= 1).sum()) if codes.size else 0
            out[f"{day}/{s}"] = {"coverage": coverage[d][s] if d < len(coverage) else 0.0, "present": present,
                                 "enrolled": int(codes.shape[0]) if codes.size else 0, "run_version": run.version}
    return out


def risk_flags(session: Session, class_id: int) -> dict[str, int]:
    """Counts of failure reasons (trainee-days) in the class's latest presence run: the spot-check weight."""
    from attendance.presence import Reason

    try:
        run = latest_run(session, class_id)
        from storage import presence as presence_repo
    except PopulationUnavailable:
        return {}
    codes = presence_repo.from_npy(run.codes)
    return {Reason(int(c)).name.lower(): int((codes == c).sum()) for c in range(Reason.NON_BIOMETRIC_ONLY, len(Reason))
            if (codes == c).any()}


SYSTEM_INSPECTOR = "system: footage check"
_PROBLEM_OF_STATUS = {"missing": "missing", "altered": "altered", "defective": "unreadable", "purging": "missing",
                      "deleted": "missing"}


@dataclass
class PreparedItem:
    item_id: int
    clip_path: str | None
    problem: str | None
    prescreen: dict[str, Any] | None


def _footage_problem(session: Session, site_id: int, start: datetime, end: datetime) -> str:
    """Why no usable footage covers a window: a file marked missing/altered/defective, else missing."""
    rows = session.execute(text(
        "SELECT status FROM footage WHERE site_id = :s AND start_utc <= :e AND end_utc >= :b ORDER BY id"
    ), {"s": site_id, "b": start, "e": end}).scalars().all()
    for status in rows:
        if status in _PROBLEM_OF_STATUS:
            return _PROBLEM_OF_STATUS[status]
    return "missing"


def _prescreen(session: Session, settings: Settings, class_code: str, path: str) -> dict[str, Any]:
    from punchaudit.services import faces as faces_svc

    scan = faces_svc.scan_class_footage(session, settings, class_code, Path(path))
    names = dict(session.execute(select(Trainee.id, Trainee.name).where(Trainee.id.in_(list(scan.identified)))).tuples().all())
    counts = [int(c) for c in scan.face_counts]
    return {"frames": len(counts), "max_faces": scan.max_faces, "face_counts": counts,
            "identified": {str(k): v for k, v in scan.identified.items()},
            "names": [names.get(k, str(k)) for k in sorted(scan.identified)]}


def prepare_clips(engine: Engine, settings: Settings, inspection_id: int, *, actor: str = "sampling",
                  prescreen: bool = True, on_item: Callable[[PreparedItem], None] | None = None) -> list[PreparedItem]:
    """Cut each sampled session's review window into a WebM clip and pre-screen it for faces.

    A window that no intact footage covers is a bad session by rule (missing, unreadable or altered
    footage): a system verdict saying so is appended. Each item commits on its own, so a long run
    can be resumed; items that already have a clip or a problem are skipped."""
    from punchaudit.services import footage as footage_svc
    from punchaudit.services import sampling as svc

    with session_scope(engine) as s:
        row = svc._get(s, inspection_id)
        cls = svc._class(s, row.class_id)
        todo = [(i.id, i.window_start_utc, i.window_end_utc) for i in repo.items(s, inspection_id)
                if not i.clip_path and not i.clip_problem]
        site_id, class_code = cls.site_id, cls.code
    done = []
    for item_id, w0, w1 in todo:
        clip_path = footage_id = clip_id = problem = None
        ids = footage_svc.footage_at(engine, site_id, w0)
        if ids:
            try:
                clip = footage_svc.make_clip(engine, settings, ids[0], w0, w1, actor=actor)
                clip_path, footage_id, clip_id = str(clip.path), clip.footage_id, clip.id
            except footage_svc.FootageError as exc:
                problem = "missing" if "missing" in str(exc) else "unreadable"
                log.warning("clip failed", extra={"item_id": item_id, "error": str(exc)})
        with session_scope(engine) as s:
            if problem is None and clip_path is None:
                problem = _footage_problem(s, site_id, w0, w1)
            screen = None
            if clip_path and prescreen:
                try:
                    screen = _prescreen(s, settings, class_code, clip_path)
                except Exception as exc:  # the pre-screen is advisory; the review goes on without it
                    screen = {"error": str(exc)}
            svc.attach_clip(s, item_id, clip_id=clip_id, clip_path=clip_path, footage_id=footage_id, problem=problem,
                        prescreen=screen)
            if problem:
                svc.record_verdict(s, inspection_id, item_id, inspector=SYSTEM_INSPECTOR, held_as_declared=False,
                               footage_problem=problem, notes="no intact footage covers the review window")
        prepared = PreparedItem(item_id, clip_path, problem, screen)
        done.append(prepared)
        if on_item:
            on_item(prepared)
    return done
