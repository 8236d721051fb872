"""The punch repository: raw payloads, idempotent bulk punch inserts, device last-seen, quarantine.

Inserts go through each dialect's fastest idempotent form, inside the caller's transaction:
SQLite `INSERT .. ON CONFLICT DO NOTHING` through the driver's executemany, PostgreSQL one
`INSERT .. SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING`. Both report how many rows were new, so a
resent batch is counted as duplicates and stored once. Datetimes on SQLite are written in the exact text
form SQLAlchemy uses, so ORM reads and the unique key see the same values whatever path wrote them.
A columnar batch (`devices.punch.PunchColumns`) is bound from its own lists on SQLite; PostgreSQL reads
it as punches. The statements every push runs once (raw payload, last-seen) also go through the SQLite
driver directly: doing so took a sequential single push from 437-464 to 290-344 us in process.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter, methodcaller, sub
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, and_, bindparam, insert, select, update

from devices.punch import Punch as PunchRecord
from devices.punch import PunchColumns, RejectedLine
from storage.schema.core import Device, Punch, Quarantine, RawPayload

PUNCH_COLUMNS = (
    "device_id", "raw_payload_id", "source", "pin", "local_time", "tz_name", "utc_time", "method",
    "verify_code", "status_code", "success", "clock_fault", "serial_no", "work_code", "line_no", "received_at",
)


@dataclass(frozen=True)
class RawRef:
    id: int
    sha256: str


_INSERT_RAW = insert(RawPayload).returning(RawPayload.id)  # built once: this runs on every push
_INSERT_RAW_SQLITE = ("INSERT INTO raw_payload (source, device_serial, device_id, table_name, query, content_type, "
                      "remote_addr, body, sha256, received_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")


def store_raw(
    conn: Connection, *, source: str, device_serial: str, device_id: int | None, table_name: str | None,
    body: bytes, query: str | None, content_type: str | None, remote_addr: str | None,
    received_at: datetime, status: str = "accepted",
) -> RawRef:
    digest = hashlib.sha256(body).hexdigest()
    if conn.dialect.name == "sqlite":  # one per push: the driver call costs a fraction of SQLAlchemy's
        cursor = conn.connection.driver_connection.execute(_INSERT_RAW_SQLITE, (
            source, device_serial, device_id, table_name, query, content_type, remote_addr, body, digest,
            _sqlite_dt(received_at), status))
        try:
            return RawRef(cursor.fetchone()[0], digest)
        finally:
            cursor.close()
    raw_id = conn.execute(
        _INSERT_RAW,
        dict(source=source, device_serial=device_serial, device_id=device_id, table_name=table_name, body=body,
             sha256=digest, query=query, content_type=content_type, remote_addr=remote_addr,
             received_at=received_at, status=status),
    ).scalar_one()
    return RawRef(raw_id, digest)


_TOUCH = update(Device).where(Device.id == bindparam("device_id")).values(last_seen_at=bindparam("at"))


def touch_device(conn: Connection, device_id: int, at: datetime) -> None:
    """Set the device's last-seen time: once a push, so SQLite gets it through the driver."""
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.execute(
            "UPDATE device SET last_seen_at = ? WHERE id = ?", (_sqlite_dt(at), device_id)).close()
    else:
        conn.execute(_TOUCH, {"device_id": device_id, "at": at})


# UTC offsets in use run from -12:00 to +14:00: a punch's UTC time is within 14 hours of its local time
_OFFSET_BOUND = timedelta(hours=14)


def at_device_near(device_id: int, pin: str, lo: datetime, hi: datetime) -> ColumnElement[bool]:
    """Punches of one terminal and PIN with a local time in [lo, hi]. The UTC window it adds is implied
    by the local one and lets the (PIN, UTC time) index find that PIN's punches of about a day."""
    return and_(Punch.device_id == device_id, Punch.utc_time >= lo - _OFFSET_BOUND, Punch.utc_time <= hi + _OFFSET_BOUND,
                Punch.pin == pin, Punch.local_time >= lo, Punch.local_time <= hi)


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
        return _insert_sqlite(conn, device_id, raw_payload_id, punches, faults, received_at)
    return _insert_postgresql(conn, device_id, raw_payload_id, punches, faults, received_at)


_SAFE_LITERAL = re.compile(r"[A-Za-z0-9_/+:. -]{1,64}")
_ISO_US = methodcaller("isoformat", " ", "microseconds")
_LOCAL, _UTC, _WIRE = attrgetter("local_time"), attrgetter("utc_time"), attrgetter("wire_time")
Values = Callable[[Sequence[PunchRecord]], Iterable[Any]]  # a C-level map over the batch, one value a row
# column -> SQL expression over named per-row parameters ({name}); verify/status None becomes -1
_ROW_EXPRESSIONS = {"pin": "{pin}", "method": "{method}", "verify_code": "coalesce({verify_code}, -1)",
                    "status_code": "coalesce({status_code}, -1)", "work_code": "{work_code}", "line_no": "{line_no}"}
_ROW_VALUES: dict[str, Values] = {name: (lambda get: lambda ps: map(get, ps))(attrgetter(name))
                                  for name in ("pin", "method", "verify_code", "status_code", "work_code", "line_no")}


def _insert_sqlite(
    conn: Connection, device_id: int, raw_payload_id: int | None, punches: Sequence[PunchRecord],
    faults: list[int], received_at: datetime,
) -> int:
    """One executemany binding only what differs from row to row (batches of _LITERALS_FROM or more).

    Whatever a batch shares (device, raw payload, receive time, and usually source, zone, outcome, no
    serial, no clock fault) is written into the statement as a literal, and when every punch carries
    its wire time text and the batch has one UTC offset, SQLite derives both stored times from that
    text: a 10,000-line ATTLOG batch then binds 7 values a row instead of 16 and formats no datetime
    in Python, which was most of the Python-side cost of the insert. A value goes into the SQL text
    only if it is an integer or a short string of plain characters; anything else is bound.

    A small batch (a realtime push carries one punch) binds every column instead, through one
    statement text that SQLite prepares once per connection: literals would make each push's
    statement new and cost a prepare each time.
    """
    if isinstance(punches, PunchColumns):
        return _insert_sqlite_columns(conn, device_id, raw_payload_id, punches, faults, received_at)
    if len(punches) < _LITERALS_FROM:
        recv = _sqlite_dt(received_at)
        return _executemany(conn, _ALL_BOUND, [
            (device_id, raw_payload_id, p.source.value, p.pin, _sqlite_dt(p.local_time), p.tz_name,
             _sqlite_dt(p.utc_time), p.method, p.verify_code, p.status_code, p.success, fault, p.serial_no,
             p.work_code, p.line_no, recv)
            for p, fault in zip(punches, faults, strict=True)
        ])
    expressions: dict[str, str] = {
        "device_id": str(int(device_id)),
        "raw_payload_id": "NULL" if raw_payload_id is None else str(int(raw_payload_id)),
        "received_at": f"'{_sqlite_dt(received_at)}'",
    }
    params: dict[str, Values] = {}
    per_batch: dict[str, tuple[Values, Callable[[Any], str | None]]] = {
        # PunchSource is a str enum: it binds as its value, and the set is built without a Python loop
        "source": (lambda ps: map(attrgetter("source"), ps), lambda v: _text_literal(v.value)),
        "tz_name": (lambda ps: map(attrgetter("tz_name"), ps), _text_literal),
        "success": (lambda ps: map(attrgetter("success"), ps), lambda v: str(int(bool(v)))),
        "clock_fault": (lambda _ps: faults, lambda v: str(int(v))),
        "serial_no": (lambda ps: map(attrgetter("serial_no"), ps), lambda v: "NULL" if v is None else str(int(v))),
    }
    for column, (values, literal) in per_batch.items():
        distinct = set(values(punches))
        text = literal(distinct.pop()) if len(distinct) == 1 else None
        if text is None:
            expressions[column], params[column] = f"{{{column}}}", values
        else:
            expressions[column] = text
    expressions.update(_time_expressions(punches, params))
    expressions.update(_ROW_EXPRESSIONS)
    params.update(_ROW_VALUES)
    numbered = {name: f"?{i}" for i, name in enumerate(params, 1)}
    sql = (f"INSERT INTO punch ({', '.join(expressions)}) VALUES "
           f"({', '.join(e.format_map(numbered) for e in expressions.values())}) ON CONFLICT DO NOTHING")
    return _executemany(conn, sql, zip(*(list(values(punches)) for values in params.values()), strict=True))


_LITERALS_FROM = 64


def _insert_sqlite_columns(
    conn: Connection, device_id: int, raw_payload_id: int | None, batch: PunchColumns, faults: list[int],
    received_at: datetime,
) -> int:
    """A columnar batch binds its own lists and shares the rest as literals, as `_insert_sqlite` does;
    its times are wire text with one UTC offset by construction."""
    literals = {"device_id": str(int(device_id)),
                "raw_payload_id": "NULL" if raw_payload_id is None else str(int(raw_payload_id)),
                "source": f"'{batch.source.value}'", "success": "1", "serial_no": "NULL",
                "received_at": f"'{_sqlite_dt(received_at)}'"}
    bound: dict[str, Sequence[Any]] = {
        "pin": batch.pins, "wire_time": batch.wire_times, "method": batch.methods, "verify_code": batch.verify_codes,
        "status_code": batch.status_codes, "work_code": batch.work_codes, "line_no": batch.line_nos}
    tz = _text_literal(batch.tz_name)
    if tz is None:
        bound["tz_name"] = [batch.tz_name] * len(batch)
    else:
        literals["tz_name"] = tz
    distinct_faults = set(faults)
    if len(distinct_faults) == 1:
        literals["clock_fault"] = str(int(distinct_faults.pop()))
    else:
        bound["clock_fault"] = faults
    numbered = {name: f"?{i}" for i, name in enumerate(bound, 1)}
    wire, shift = numbered.pop("wire_time"), -int(batch.utc_offset.total_seconds())
    expressions = {**literals, **numbered, "local_time": f"{wire} || '.000000'",
                   "utc_time": f"datetime({wire}, '{shift:+d} seconds') || '.000000'"}
    sql = f"INSERT INTO punch ({', '.join(expressions)}) VALUES ({', '.join(expressions.values())}) ON CONFLICT DO NOTHING"
    return _executemany(conn, sql, zip(*bound.values(), strict=True))


_ALL_BOUND = (f"INSERT INTO punch ({', '.join(PUNCH_COLUMNS)}) VALUES "
              f"({', '.join('coalesce(?, -1)' if c.endswith('_code') and c != 'work_code' else '?' for c in PUNCH_COLUMNS)}) "
              "ON CONFLICT DO NOTHING")


def _executemany(conn: Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
    cursor = conn.connection.driver_connection.cursor()  # same DBAPI connection, same transaction
    try:
        cursor.executemany(sql, rows)
        return cursor.rowcount
    finally:
        cursor.close()


def _time_expressions(punches: Sequence[PunchRecord], params: dict[str, Values]) -> dict[str, str]:
    """local_time and utc_time in SQLAlchemy's SQLite text form (YYYY-MM-DD HH:MM:SS.ffffff), adding
    the parameters they need to `params`."""
    if all(map(_WIRE, punches)):
        offsets = set(map(sub, map(_LOCAL, punches), map(_UTC, punches)))
        if len(offsets) == 1:
            offset = offsets.pop()
            if not offset.microseconds:
                params["wire_time"] = lambda ps: map(_WIRE, ps)
                shift = -int(offset.total_seconds())
                return {"local_time": "{wire_time} || '.000000'",
                        "utc_time": f"datetime({{wire_time}}, '{shift:+d} seconds') || '.000000'"}
    params["local_time"] = lambda ps: map(_ISO_US, map(_LOCAL, ps))
    params["utc_time"] = lambda ps: map(_ISO_US, map(_UTC, ps))
    return {"local_time": "{local_time}", "utc_time": "{utc_time}"}


def _text_literal(value: Any) -> str | None:
    if isinstance(value, str) and _SAFE_LITERAL.fullmatch(value):
        return f"'{value}'"
    return None


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
