"""Footage repository: rows in and out of the footage tables, in the caller's transaction."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select, update

from storage.db import dialect_insert
from storage.schema.core import Site, TrainingClass
from storage.schema.footage import Footage, FootageClip, FootageDigest

F, S, C, K = Footage.__table__, Site.__table__, TrainingClass.__table__, FootageClip.__table__
D = FootageDigest.__table__
LIVE = ("ok", "defective", "missing", "altered")


@dataclass(frozen=True)
class SiteInfo:
    id: int
    code: str
    institution_id: int
    timezone: str


def site_by_code_or_id(conn: Connection, ref: str | int) -> SiteInfo | None:
    cond = S.c.id == int(ref) if isinstance(ref, int) or str(ref).isdigit() else S.c.code == str(ref)
    row = conn.execute(select(S.c.id, S.c.code, S.c.institution_id, S.c.timezone).where(cond)).first()
    return SiteInfo(row.id, row.code, row.institution_id, row.timezone) if row else None


def class_row(conn: Connection, ref: str | int) -> Any:
    cond = C.c.id == int(ref) if isinstance(ref, int) or str(ref).isdigit() else C.c.code == str(ref)
    return conn.execute(select(C).where(cond)).first()


def by_key(conn: Connection, key: str) -> Any:
    return conn.execute(select(F).where(F.c.key == key)).first()


def get(conn: Connection, footage_id: int) -> Any:
    return conn.execute(select(F).where(F.c.id == footage_id)).first()


def institution_of(conn: Connection, footage_id: int) -> int | None:
    return conn.execute(select(S.c.institution_id).select_from(F.join(S, S.c.id == F.c.site_id))
                        .where(F.c.id == footage_id)).scalar()


def insert_footage(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(F).values(**values).returning(F.c.id)).scalar_one())


def verify_batch(conn: Connection, *, period_days: int, everything: bool) -> list[Any]:
    """The rolling share to re-hash tonight: the least recently verified 1/period of live footage,
    so that every file is checked at least once per period."""
    stmt = (select(F.c.id, F.c.key, F.c.sha256, D.c.blake3, F.c.size, F.c.status, F.c.first_missing_at,
                   F.c.defect_reason)
            .select_from(F.outerjoin(D, D.c.footage_id == F.c.id))
            .where(F.c.deleted_at.is_(None), F.c.status.in_(LIVE))
            .order_by(F.c.last_verified_at.asc().nulls_first(), F.c.id))
    if not everything:
        total = conn.execute(select(func.count()).select_from(F).where(
            F.c.deleted_at.is_(None), F.c.status.in_(LIVE))).scalar_one()
        stmt = stmt.limit(max(1, math.ceil(total / period_days)) if total else 0)
    return list(conn.execute(stmt))


def insert_digest(conn: Connection, footage_id: int, blake3: str) -> None:
    """Record a file's BLAKE3; a second verifier recording it at the same time is not an error."""
    ins = dialect_insert(conn, D).values(footage_id=footage_id, blake3=blake3)
    conn.execute(ins.on_conflict_do_nothing(index_elements=["footage_id"]))


def blake3_of(conn: Connection, footage_id: int) -> str | None:
    return conn.execute(select(D.c.blake3).where(D.c.footage_id == footage_id)).scalar()


def mark(conn: Connection, footage_id: int, **values: Any) -> None:
    conn.execute(update(F).where(F.c.id == footage_id).values(**values))


def status_counts(conn: Connection, institution_id: int | None = None) -> dict[str, tuple[int, int]]:
    """status -> (files, bytes)."""
    stmt = select(F.c.status, func.count(), func.coalesce(func.sum(F.c.size), 0)).group_by(F.c.status)
    if institution_id is not None:
        stmt = stmt.select_from(F.join(S, S.c.id == F.c.site_id)).where(S.c.institution_id == institution_id)
    return {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(stmt)}


def list_footage(conn: Connection, *, institution_id: int | None = None, site_id: int | None = None,
                 status: str | None = None, limit: int = 100, offset: int = 0) -> list[Any]:
    stmt = (select(F, S.c.code.label("site_code"), S.c.institution_id)
            .select_from(F.join(S, S.c.id == F.c.site_id)).order_by(F.c.start_utc, F.c.id).limit(limit).offset(offset))
    if institution_id is not None:
        stmt = stmt.where(S.c.institution_id == institution_id)
    if site_id is not None:
        stmt = stmt.where(F.c.site_id == site_id)
    if status is not None:
        stmt = stmt.where(F.c.status == status)
    return list(conn.execute(stmt))


def intervals(conn: Connection, site_id: int, first_day: date, last_day: date) -> tuple[np.ndarray, np.ndarray]:
    """UTC start/end (seconds since the epoch) of usable footage at a site touching the days."""
    rows = conn.execute(select(F.c.start_utc, F.c.end_utc).where(
        F.c.site_id == site_id, F.c.first_day <= last_day, F.c.last_day >= first_day,
        F.c.status == "ok", F.c.deleted_at.is_(None))).all()
    epoch = datetime(1970, 1, 1)
    starts = np.array([(r.start_utc - epoch).total_seconds() for r in rows], dtype=np.float64)
    ends = np.array([(r.end_utc - epoch).total_seconds() for r in rows], dtype=np.float64)
    return starts, ends


def insert_clip(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(K).values(**values).returning(K.c.id)).scalar_one())


def clips_of(conn: Connection, footage_id: int) -> list[Any]:
    return list(conn.execute(select(K).where(K.c.footage_id == footage_id).order_by(K.c.id)))


def covering(conn: Connection, site_id: int, at_utc: datetime) -> list[int]:
    return list(conn.execute(select(F.c.id).where(
        F.c.site_id == site_id, F.c.start_utc <= at_utc, F.c.end_utc >= at_utc, F.c.status == "ok",
        F.c.deleted_at.is_(None)).order_by(F.c.camera, F.c.id)).scalars())
