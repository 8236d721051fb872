"""Claimed job runs: one run per (job, logical date) however many schedulers race for it."""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from punchaudit import scheduler
from punchaudit.config import load_settings
from storage import jobs

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 9, 18, 30)  # 02:30 on 2026-03-10 in Asia/Shanghai


def test_two_schedulers_racing_run_the_job_once(engine: Engine) -> None:
    ran: list[str] = []
    job = scheduler.Job("race_test", lambda ctx: (ran.append(threading.current_thread().name), time.sleep(0.2), {"n": 1})[2],
                        scheduler.daily_at("retention_sweep_time"))
    settings = load_settings()
    barrier = threading.Barrier(4)
    results: list[scheduler.RunResult] = []

    def contender() -> None:
        barrier.wait()
        results.append(scheduler.run_job(job, engine, settings, now=NOW))

    threads = [threading.Thread(target=contender, name=f"scheduler-{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ran) == 1
    assert sorted(r.status for r in results) == ["ok", "skipped", "skipped", "skipped"]
    assert {r.logical_date for r in results} == {date(2026, 3, 10)}
    with engine.connect() as conn:
        runs = jobs.list_runs(conn, job="race_test")
    assert len(runs) == 1 and runs[0].status == "ok" and runs[0].outcome == {"n": 1}
    # the next day is a new run
    assert scheduler.run_job(job, engine, settings, now=NOW + timedelta(days=1)).status == "ok"
    assert len(ran) == 2


def test_stale_lease_is_taken_over_and_failures_retried_only_when_asked(engine: Engine) -> None:
    lease = timedelta(minutes=30)
    first = jobs.claim(engine, "j", date(2026, 1, 1), now=NOW, lease=lease)
    assert first is not None and first.attempt == 1
    assert jobs.claim(engine, "j", date(2026, 1, 1), now=NOW + timedelta(minutes=29), lease=lease) is None
    second = jobs.claim(engine, "j", date(2026, 1, 1), now=NOW + timedelta(minutes=31), lease=lease)
    assert second is not None and second.run_id == first.run_id and second.attempt == 2
    jobs.finish(engine, second.run_id, status="failed", outcome={"error": "x"}, now=NOW + timedelta(minutes=32))
    assert jobs.claim(engine, "j", date(2026, 1, 1), now=NOW + timedelta(hours=5), lease=lease) is None
    third = jobs.claim(engine, "j", date(2026, 1, 1), now=NOW + timedelta(hours=5), lease=lease, retry_failed=True)
    assert third is not None and third.attempt == 3


def test_failing_job_is_recorded_not_raised(engine: Engine) -> None:
    def boom(ctx: scheduler.JobContext) -> dict:
        raise RuntimeError("disk on fire")

    res = scheduler.run_job(scheduler.Job("boom", boom, scheduler.daily_at("retention_sweep_time")), engine,
                            load_settings(), now=NOW)
    assert res.status == "failed" and res.outcome == {"error": "RuntimeError: disk on fire"}
    with engine.connect() as conn:
        run = jobs.list_runs(conn, job="boom")[0]
    assert run.status == "failed" and run.finished_at == NOW


def test_scheduler_wiring_times_and_defaults(engine: Engine) -> None:
    settings = load_settings()
    sched = scheduler.build_scheduler(engine, settings)
    by_id = {j.id: j for j in sched.get_jobs()}
    assert set(by_id) == {j.name for j in scheduler.JOBS}
    assert sched._job_defaults == {"coalesce": True, "max_instances": 1,
                                   "misfire_grace_time": settings.scheduler.misfire_grace_seconds}
    nxt = dict(scheduler.next_runs(settings, datetime(2026, 3, 9, 12, 0)))  # 20:00 local
    assert nxt["retention_sweep"].strftime("%Y-%m-%d %H:%M %Z") == "2026-03-10 02:30 CST"
    assert nxt["integrity_verify"].strftime("%H:%M") == "03:30"
    assert nxt["presence_recompute"].strftime("%H:%M") == "01:30"
    if "sampling_monthly" in nxt:  # the sampling area's monthly job, from the same registry
        assert nxt["sampling_monthly"].strftime("%Y-%m-%d %H:%M") == "2026-04-01 04:30"


def test_presence_job_runs_or_explains(engine: Engine) -> None:
    res = scheduler.run_job("presence_recompute", engine, load_settings(), now=NOW)
    assert res.status in ("ok", "failed")
    assert isinstance(res.outcome, dict) and res.outcome


def test_two_scheduler_processes_claim_once(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two real processes run the same day's sweep at once: one runs it, the other skips."""
    import os
    import subprocess
    import sys

    if engine.dialect.name != "sqlite":  # the PG fixture's schema lives in connect args, not the URL
        pytest.skip("processes reach the test database by URL; PostgreSQL races are covered by the thread test")
    env = {**os.environ, "PUNCHAUDIT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "PUNCHAUDIT_FOOTAGE__ROOT": str(tmp_path / "footage"), "PUNCHAUDIT_LOGGING__FORMAT": "text"}
    cmd = [sys.executable, "-m", "punchaudit", "jobs", "--run", "retention_sweep", "--date", "2026-03-10"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sorted("2026-03-10: ok" in o for o in outs) == [False, True], outs
    assert sum("2026-03-10: skipped" in o for o in outs) == 1, outs
    with engine.connect() as conn:
        runs = jobs.list_runs(conn, job="retention_sweep")
    assert len(runs) == 1 and runs[0].status == "ok"
