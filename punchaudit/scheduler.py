"""The scheduler process (`punchaudit scheduler`): APScheduler 3.11, one BlockingScheduler in its
own process, never inside the web workers (every worker would run every job: APScheduler FAQ,
issues #160/#655).

Jobs are defined here in code with fixed ids in a memory job store (no pickled job state in the
database). Each run first claims its (job, logical date) row (storage.jobs), so two schedulers
started by mistake, or a manual `punchaudit jobs --run` racing the nightly run, never run the same
sweep twice; the loser records nothing and returns "skipped".

Job defaults, on purpose:
* `misfire_grace_time` = scheduler.misfire_grace_seconds (1 h). APScheduler's default of 1 s drops a
  run that starts a second late (busy executor, restart at 02:30:01); an hour lets a restarted
  scheduler still do tonight's sweep, while a scheduler down all night does not start a full
  re-hash in the middle of the working day; tomorrow's run catches up.
* `coalesce=True`: after downtime, missed runs collapse into one. Every job here works from the
  current state (expired footage, least recently verified files), so one run catches up fully and
  repeating it would only redo work.
* `max_instances=1`: a long verification never overlaps itself within this process; across
  processes the claim row does that.

Every job function takes a JobContext with an explicit `now`, so tests drive them with a controlled
clock. Other areas add their jobs by appending a Job to JOBS (the sampling area adds its monthly run).
"""
from __future__ import annotations

import importlib
import inspect
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from punchaudit.config import Settings
from punchaudit.services import footage as footage_svc
from storage import audit, jobs

log = logging.getLogger("punchaudit.scheduler")


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    settings: Settings
    now: datetime  # naive UTC
    logical_date: date  # the scheduler-timezone day this run is for
    run_id: int


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[JobContext], dict[str, Any]]  # returns the outcome shown by `punchaudit jobs`
    trigger: Callable[[Settings], CronTrigger]
    description: str = ""


def daily_at(key: str) -> Callable[[Settings], CronTrigger]:
    """A trigger factory: every day at the HH:MM in settings.scheduler.<key>, scheduler time zone."""

    def make(settings: Settings) -> CronTrigger:
        hh, mm = str(getattr(settings.scheduler, key)).split(":")
        return CronTrigger(hour=int(hh), minute=int(mm), timezone=ZoneInfo(settings.scheduler.timezone))

    return make


def monthly_at(day_key: str, time_key: str) -> Callable[[Settings], CronTrigger]:
    """Every month on settings.scheduler.<day_key> at settings.scheduler.<time_key>."""

    def make(settings: Settings) -> CronTrigger:
        hh, mm = str(getattr(settings.scheduler, time_key)).split(":")
        return CronTrigger(day=int(getattr(settings.scheduler, day_key)), hour=int(hh), minute=int(mm),
                           timezone=ZoneInfo(settings.scheduler.timezone))

    return make


# --- the jobs ---------------------------------------------------------------------------------

def retention_sweep(ctx: JobContext) -> dict[str, Any]:
    """Delete expired, unheld footage; then check free disk space (alarm only, never evict)."""
    store = footage_svc.store_for(ctx.settings)
    result = footage_svc.run_sweep(ctx.engine, ctx.settings, store, now=ctx.now, job_run_id=ctx.run_id)
    disk = footage_svc.check_disk(ctx.engine, ctx.settings, store, now=ctx.now)
    return {**result.as_dict(), "free_bytes": disk.free_bytes, "low_disk_alarm": disk.alarm}


def integrity_verify(ctx: JobContext) -> dict[str, Any]:
    """Extend retain-until dates to lengthened classes, re-hash tonight's share of footage, walk the
    audit chain against the last exported head, and export the new head."""
    store = footage_svc.store_for(ctx.settings)
    extended = footage_svc.refresh_retention(ctx.engine, ctx.settings, now=ctx.now)
    result = footage_svc.verify(ctx.engine, ctx.settings, store, now=ctx.now)
    head_file = Path(ctx.settings.footage.audit_head_file)
    with ctx.engine.connect() as conn:
        anchor = audit.read_head(head_file) if head_file.exists() else None
        chain = audit.verify(conn, anchor)
        if chain.ok:
            audit.export_head(conn, head_file, now=ctx.now)
    if not chain.ok:
        log.error("audit chain verification failed", extra={"problems": chain.problems[:5]})
    return {"retain_until_extended": extended, "checked": result.checked, "ok": result.ok, "missing": len(result.missing), "altered": len(result.altered),
            "restored": len(result.restored), "audit_entries": chain.entries, "audit_ok": chain.ok,
            "audit_problems": chain.problems[:5]}


def presence_recompute(ctx: JobContext) -> dict[str, Any]:
    """Recompute presence for running classes, through the presence service when it is installed."""
    try:
        module = importlib.import_module("punchaudit.services.presence")
    except ImportError:
        log.warning("presence recompute skipped: punchaudit.services.presence is not available")
        return {"skipped": "punchaudit.services.presence is not available"}
    func = next((getattr(module, n) for n in ("run_all", "recompute_all") if hasattr(module, n)), None)
    if func is None:
        log.warning("presence recompute skipped: punchaudit.services.presence has no run_all()")
        return {"skipped": "punchaudit.services.presence has no run_all()"}
    params = inspect.signature(func).parameters
    kwargs = {k: v for k, v in {"settings": ctx.settings, "now": ctx.now}.items() if k in params}
    outcome = func(ctx.engine, **kwargs)
    return outcome if isinstance(outcome, dict) else {"result": repr(outcome)[:500]}


# The registry: append a Job to add one (e.g. the monthly sampling run uses monthly_at(...)).
JOBS: list[Job] = [
    Job("presence_recompute", presence_recompute, daily_at("presence_recompute_time"),
        "recompute presence of running classes"),
    Job("retention_sweep", retention_sweep, daily_at("retention_sweep_time"),
        "delete expired, unheld footage; disk space alarm"),
    Job("integrity_verify", integrity_verify, daily_at("integrity_verify_time"),
        "re-hash a rolling share of footage; verify and export the audit chain head"),
    Job("sampling_monthly", lambda ctx: importlib.import_module("punchaudit.services.sampling_jobs").monthly(ctx),
        monthly_at("sampling_day_of_month", "sampling_time"),
        "open sampling inspections of finished classes without punch records; risk-based spot checks"),
]


def job_named(name: str) -> Job:
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(f"no job named {name!r}; jobs: {', '.join(j.name for j in JOBS)}")


# --- running ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunResult:
    job: str
    logical_date: date
    status: str  # ok | failed | skipped
    run_id: int | None
    outcome: dict[str, Any]


def run_job(job: Job | str, engine: Engine, settings: Settings, *, now: datetime | None = None,
            logical_date: date | None = None, retry_failed: bool = False) -> RunResult:
    """Claim (job, logical date) and run it, or skip if another process has the claim."""
    job = job_named(job) if isinstance(job, str) else job
    controlled = now is not None  # a test's clock: finish at the same instant instead of reading the clock
    now = footage_svc.utc_naive(now or datetime.now(timezone.utc))
    logical_date = logical_date or footage_svc.local_today(now, settings.scheduler.timezone)
    lease = timedelta(minutes=settings.scheduler.job_lease_minutes)
    claim = jobs.claim(engine, job.name, logical_date, now=now, lease=lease, retry_failed=retry_failed)
    if claim is None:
        log.info("job already claimed, skipping", extra={"job": job.name, "logical_date": logical_date.isoformat()})
        return RunResult(job.name, logical_date, "skipped", None, {})
    log.info("job started", extra={"job": job.name, "logical_date": logical_date.isoformat(), "run_id": claim.run_id})
    try:
        outcome = job.func(JobContext(engine, settings, now, logical_date, claim.run_id))
        status = "ok"
    except Exception as exc:  # recorded, and the scheduler keeps running
        log.exception("job failed", extra={"job": job.name, "run_id": claim.run_id})
        outcome, status = {"error": f"{type(exc).__name__}: {exc}"}, "failed"
    finished = now if controlled else max(now, footage_svc.utc_naive())
    jobs.finish(engine, claim.run_id, status=status, outcome=outcome, now=finished)
    return RunResult(job.name, logical_date, status, claim.run_id, outcome)


def _scheduled(job: Job, engine: Engine, settings: Settings) -> None:
    run_job(job, engine, settings)


def build_scheduler(engine: Engine, settings: Settings) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone=ZoneInfo(settings.scheduler.timezone),
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": settings.scheduler.misfire_grace_seconds},
    )
    for job in JOBS:
        scheduler.add_job(_scheduled, trigger=job.trigger(settings), args=[job, engine, settings], id=job.name,
                          name=job.description or job.name, replace_existing=True)
    return scheduler


def next_runs(settings: Settings, now: datetime | None = None) -> list[tuple[str, datetime | None]]:
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return [(job.name, job.trigger(settings).get_next_fire_time(None, now)) for job in JOBS]


def run_forever(engine: Engine, settings: Settings) -> None:
    """Block running the scheduler until SIGINT/SIGTERM."""
    scheduler = build_scheduler(engine, settings)

    def stop(signum: int, _frame: Any) -> None:
        log.info("scheduler stopping", extra={"signal": signum})
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    log.info("scheduler started", extra={"jobs": [j.name for j in JOBS], "timezone": settings.scheduler.timezone})
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
