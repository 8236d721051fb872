"""Claimed job runs: at most one run of a job per logical date, however many schedulers are running.

APScheduler 3.x cannot share a job store between processes (its FAQ: "You can't"), so the guard is
in the database: a run first inserts its (job, logical_date) row; only the process whose INSERT went
through runs the job. On PostgreSQL the claim transaction also takes `pg_try_advisory_xact_lock`, so a
contender skips at once instead of queueing on the unique index; on SQLite the claim runs in BEGIN
IMMEDIATE so claimers serialise on the database lock. A run whose lease expired (its process died)
can be taken over; a failed run is retried only when asked.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, text, update

from storage.db import dialect_insert, transaction
from storage.schema.footage import JobRun

T = JobRun.__table__


def lock_key(job: str, logical_date: date) -> int:
    """A signed 64-bit advisory-lock key for (job, date)."""
    digest = hashlib.sha256(f"punchaudit:{job}:{logical_date.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class Claim:
    run_id: int
    job: str
    logical_date: date
    attempt: int


def claim(engine: Engine, job: str, logical_date: date, *, now: datetime, lease: timedelta,
          retry_failed: bool = False) -> Claim | None:
    """Claim (job, logical_date) for this process, or None if another process has it (or had it
    and finished)."""
    now = now.replace(tzinfo=None)
    values = {"job": job, "logical_date": logical_date, "status": "running", "started_at": now,
              "lease_until": now + lease, "attempts": 1, "host": socket.gethostname()[:100], "pid": os.getpid()}
    with transaction(engine, immediate=True) as conn:
        if conn.dialect.name == "postgresql":
            got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_key(job, logical_date)}).scalar()
            if not got:
                return None
        ins = dialect_insert(conn, T).values(**values)
        row = conn.execute(ins.on_conflict_do_nothing(index_elements=["job", "logical_date"])
                           .returning(T.c.id, T.c.attempts)).first()
        if row is None:
            row = _take_over(conn, job, logical_date, now, lease, retry_failed)
        return Claim(row.id, job, logical_date, row.attempts) if row else None


def _take_over(conn: Connection, job: str, logical_date: date, now: datetime, lease: timedelta,
               retry_failed: bool) -> Any:
    stale = and_(T.c.status == "running", T.c.lease_until < now)
    cond = or_(stale, T.c.status == "failed") if retry_failed else stale
    stmt = (update(T).where(T.c.job == job, T.c.logical_date == logical_date, cond)
            .values(status="running", started_at=now, finished_at=None, lease_until=now + lease,
                    attempts=T.c.attempts + 1, host=socket.gethostname()[:100], pid=os.getpid(), outcome=None)
            .returning(T.c.id, T.c.attempts))
    return conn.execute(stmt).first()


def finish(engine: Engine, run_id: int, *, status: str, outcome: dict[str, Any], now: datetime) -> None:
    with transaction(engine, immediate=True) as conn:
        conn.execute(update(T).where(T.c.id == run_id).values(
            status=status, finished_at=now.replace(tzinfo=None), outcome=json.dumps(outcome, default=str)))


@dataclass(frozen=True)
class RunView:
    id: int
    job: str
    logical_date: date
    status: str
    started_at: datetime
    finished_at: datetime | None
    attempts: int
    host: str
    pid: int
    outcome: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in self.__dict__.items()}


def list_runs(conn: Connection, *, job: str | None = None, limit: int = 50) -> list[RunView]:
    stmt = select(T).order_by(T.c.started_at.desc(), T.c.id.desc()).limit(limit)
    if job:
        stmt = stmt.where(T.c.job == job)
    return [RunView(r.id, r.job, r.logical_date, r.status, r.started_at, r.finished_at, r.attempts, r.host, r.pid,
                    json.loads(r.outcome) if r.outcome else None) for r in conn.execute(stmt)]
