"""The punch repository: raw payloads, idempotent bulk punch inserts, quarantine.

Inserts go through each dialect's fastest idempotent form, inside the caller's transaction:
SQLite `INSERT .. ON CONFLICT DO NOTHING` through the driver's executemany, PostgreSQL one
`INSERT .. SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING`. Both report how many rows were new, so a
resent batch is counted as duplicates and stored once. Datetimes on SQLite are written in the exact text
form SQLAlchemy uses, so ORM reads and the unique key see the same values whatever path wrote them.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, insert, select, update

from devices.punch import Punch as PunchRecord
from devices.punch import RejectedLine
from storage.schema.core import Quarantine, RawPayload

PUNCH_COLUMNS = (
    "device_id", "raw_payload_id", "source", "pin", "local_time", "tz_name", "utc_time", "method",
    "verify_code", "status_code", "success", "clock_fault", "serial_no", "work_code", "line_no", "received_at",
)


@dataclass(frozen=True)
class RawRef:
    id: int
    sha256: str


_INSERT_RAW = insert(RawPayload).returning(RawPayload.id)  # built once: this runs on every push


def store_raw(
    conn: Connection, *, source: str, device_serial: str, device_id: int | None, table_name: str | None,
    body: bytes, query: str | None, content_type: str | None, remote_addr: str | None,
    received_at: datetime, status: str = "accepted",
) -> RawRef:
    digest = hashlib.sha256(body).hexdigest()
    raw_id = conn.execute(
        _INSERT_RAW,
        dict(source=source, device_serial=device_serial, device_id=device_id, table_name=table_name, body=body,
             sha256=digest, query=query, content_type=content_type, remote_addr=remote_addr,
             received_at=received_at, status=status),
    ).scalar_one()
    return RawRef(raw_id, digest)


def reuse_raw(conn: Connection, raw_id: int, *, device_id: int | None, status: str) -> RawRef:
    digest = conn.execute(select(RawPayload.sha256).where(RawPayload.id == raw_id)).scalar_one()
    conn.execute(update(RawPayload).where(RawPayload.id == raw_id).values(device_id=device_id, status=status))
    return RawRef(raw_id, digest)


def set_raw_status(conn: Connection, raw_id: int, status: str) -> None:
    conn.execute(update(RawPayload).where(RawPayload.id == raw_id).values(status=status))


def _sqlite_dt(value: datetime) -> str:
    return value.isoformat(" ", "microseconds")


def insert_punches(
    conn: Connection, *, device_id: int, raw_payload_id: int | None, punches: Sequence[PunchRecord],
    clock_faults: np.ndarray, received_at: datetime,
) -> int:
    """Insert `punches` for one device, skipping any already stored; return how many were new."""
    if not punches:
        return 0
    faults = clock_faults.astype(int).tolist()
    if conn.dialect.name == "sqlite":
        recv = _sqlite_dt(received_at)
        fmt = datetime.isoformat
        sources = {s: s.value for s in {p.source for p in punches}}  # enum .value is slow per row
        rows = [
            (device_id, raw_payload_id, sources[p.source], p.pin, fmt(p.local_time, " ", "microseconds"), p.tz_name,
             fmt(p.utc_time, " ", "microseconds"), int(p.method), _code(p.verify_code), _code(p.status_code),
             p.success, fault, p.serial_no, p.work_code, p.line_no, recv)
            for p, fault in zip(punches, faults, strict=True)
        ]
        sql = (f"INSERT INTO punch ({', '.join(PUNCH_COLUMNS)}) VALUES ({', '.join('?' * len(PUNCH_COLUMNS))}) "
               "ON CONFLICT DO NOTHING")
        cursor = conn.connection.driver_connection.cursor()  # same DBAPI connection, same transaction
        try:
            cursor.executemany(sql, rows)
            return cursor.rowcount
        finally:
            cursor.close()
    return _insert_postgresql(conn, device_id, raw_payload_id, punches, faults, received_at)


_PG_TYPES = ("bigint", "bigint", "text", "text", "timestamp", "text", "timestamp", "smallint", "int", "int",
             "boolean", "smallint", "int", "text", "int", "timestamp")


def _insert_postgresql(
    conn: Connection, device_id: int, raw_payload_id: int | None, punches: Sequence[PunchRecord],
    faults: list[int], received_at: datetime,
) -> int:
    n = len(punches)
    columns = [
        [device_id] * n,
        [raw_payload_id] * n,
        [p.source.value for p in punches],
        [p.pin for p in punches],
        [p.local_time for p in punches],
        [p.tz_name for p in punches],
        [p.utc_time for p in punches],
        [int(p.method) for p in punches],
        [_code(p.verify_code) for p in punches],
        [_code(p.status_code) for p in punches],
        [p.success for p in punches],
        faults,
        [p.serial_no for p in punches],
        [p.work_code for p in punches],
        [p.line_no for p in punches],
        [received_at] * n,
    ]
    unnest = ", ".join(f"%s::{t}[]" for t in _PG_TYPES)
    sql = f"INSERT INTO punch ({', '.join(PUNCH_COLUMNS)}) SELECT * FROM unnest({unnest}) ON CONFLICT DO NOTHING"
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, columns)
        return cursor.rowcount
    finally:
        cursor.close()


def _code(value: int | None) -> int:
    return -1 if value is None else value


def quarantine_lines(conn: Connection, *, raw_payload_id: int | None, device_serial: str,
                     rejected: Sequence[RejectedLine]) -> int:
    if rejected:
        conn.execute(insert(Quarantine), [
            dict(raw_payload_id=raw_payload_id, device_serial=device_serial, kind="line", line_no=r.line_no,
                 text=r.text[:2000], reason=r.reason)
            for r in rejected
        ])
    return len(rejected)


def payload_already_quarantined(conn: Connection, *, device_serial: str, sha256: str) -> bool:
    """A terminal retrying a refused body must not fill the quarantine with copies."""
    return conn.execute(
        select(Quarantine.id).join(RawPayload, RawPayload.id == Quarantine.raw_payload_id).where(
            Quarantine.device_serial == device_serial, Quarantine.kind == "payload",
            Quarantine.resolved_at.is_(None), RawPayload.sha256 == sha256,
        ).limit(1)
    ).first() is not None


def quarantine_payload(conn: Connection, *, raw_payload_id: int, device_serial: str, reason: str) -> None:
    conn.execute(insert(Quarantine).values(raw_payload_id=raw_payload_id, device_serial=device_serial,
                                           kind="payload", reason=reason))
