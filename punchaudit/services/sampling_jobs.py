"""The monthly sampling run: open an inspection for every finished class without punch records that
has none yet, and risk-based spot checks of finished classes that do have punch records (flags from
the presence matrix and face verification raise a class's selection weight; weighted sampling
without replacement with a recorded seed). Then cut the clips and pre-screen them."""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from punchaudit.config import Settings
from punchaudit.services import sampling as svc
from punchaudit.services import sampling_sources as sources
from sampling import select as sel
from storage import sampling as repo
from storage.db import session_scope
from storage.schema.core import TrainingClass

log = logging.getLogger("punchaudit.sampling")


def _finished_classes(engine: Engine, today: date) -> list[tuple[int, str]]:
    with session_scope(engine) as s:
        rows = s.execute(select(TrainingClass.id, TrainingClass.code).where(TrainingClass.end_date < today)
                         .order_by(TrainingClass.code)).tuples().all()
    return [(int(i), str(c)) for i, c in rows]


def classes_due(engine: Engine, today: date) -> tuple[list[tuple[int, str]], dict[int, dict[str, int]]]:
    """(classes needing an inspection, risk flags of finished classes with records)."""
    due: list[tuple[int, str]] = []
    flags: dict[int, dict[str, int]] = {}
    with session_scope(engine) as s:
        inspected = repo.classes_with_inspections(s)
        for class_id, code in _finished_classes(engine, today):
            if class_id in inspected:
                continue
            try:
                run = sources.latest_run(s, class_id)
            except sources.PopulationUnavailable:
                continue  # presence not computed: nothing to decide on yet
            if not run.has_records:
                due.append((class_id, code))
            else:
                flags[class_id] = sources.risk_flags(s, class_id)
    return due, flags


def monthly_run(engine: Engine, settings: Settings, *, now: datetime, today: date, seed: str | None = None,
                prescreen: bool = True) -> dict[str, Any]:
    """Open every due inspection (each in its own transaction) and the month's spot checks."""
    due, flags = classes_due(engine, today)
    weights = {str(cid): sel.risk_weight(f, settings.sampling.risk_weights) for cid, f in flags.items()}
    seed = seed or sel.new_seed()
    spot = [int(k) for k in sel.weighted_sample(f"spot/{today.isoformat()}/{seed}", weights,
                                                settings.sampling.spot_checks_per_month)]
    opened: list[int] = []
    errors: dict[str, str] = {}
    codes = dict(_finished_classes(engine, today))
    for class_id, kind in [(c, "no_records") for c, _ in due] + [(c, "spot_check") for c in spot]:
        try:
            with session_scope(engine, immediate=True) as s:
                row = svc.open_inspection(s, settings, class_id, actor="scheduler", kind=kind, now=now)
                opened.append(row.id)
        except svc.SamplingError as exc:
            errors[codes.get(class_id, str(class_id))] = str(exc)
            log.warning("inspection not opened", extra={"class_id": class_id, "error": str(exc)})
    clips = 0
    for inspection_id in opened:
        clips += sum(1 for p in sources.prepare_clips(engine, settings, inspection_id, actor="scheduler",
                                                      prescreen=prescreen) if p.clip_path)
    return {"opened": opened, "due": [c for _, c in due], "spot_checks": [codes.get(c, str(c)) for c in spot],
            "spot_seed": seed, "spot_weights": {codes.get(int(k), k): w for k, w in weights.items()},
            "clips": clips, "errors": errors}


def monthly(ctx: Any) -> dict[str, Any]:
    """Scheduler entry point (punchaudit.scheduler JOBS: sampling_monthly)."""
    return monthly_run(ctx.engine, ctx.settings, now=ctx.now, today=ctx.logical_date)
