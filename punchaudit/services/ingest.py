"""Ingest a terminal's push: device check, raw payload first, parse, idempotent store, quarantine.

Everything a push brings is written in one transaction, and the terminal's acknowledgement is sent only
after that transaction commits, so a crash between parse and commit means the terminal resends and
nothing is lost. SQLite takes its write lock at BEGIN (IMMEDIATE) so concurrent pushes queue cleanly.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from weakref import WeakKeyDictionary
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, insert, select, update

from devices import clock
from devices.punch import Punch as PunchRecord
from devices.punch import RejectedLine, utc_range
from punchaudit.config import Settings
from storage import punches as repo
from storage.db import transaction, write
from storage.schema.base import utcnow
from storage.schema.core import Device, Site

log = logging.getLogger("punchaudit.ingest")

Parsed = tuple[Sequence[PunchRecord], list[RejectedLine]]


class DeviceRefused(Exception):
    """The serial is unknown, disabled, or failed its token or address check. The payload is kept."""

    def __init__(self, serial: str, reason: str, status_code: int = 403) -> None:
        super().__init__(reason)
        self.serial = serial
        self.reason = reason
        self.status_code = status_code


class PayloadRejected(Exception):
    """The whole body could not be parsed; it is quarantined with this reason."""

    def __init__(self, reason: str, raw_payload_id: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw_payload_id = raw_payload_id


@dataclass(frozen=True)
class DeviceInfo:
    id: int
    serial: str
    vendor: str
    site_id: int
    institution_id: int
    timezone: str
    enabled: bool
    token_hash: str | None
    ip_allowlist: str | None


@dataclass
class IngestResult:
    raw_payload_id: int
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    clock_faults: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Push:
    """One request from a terminal, as received."""

    source: str  # zkteco | hikvision | sheet
    serial: str
    table: str | None
    body: bytes
    query: str | None = None
    content_type: str | None = None
    remote_addr: str | None = None
    token: str | None = None
    received_at: datetime = field(default_factory=utcnow)
    replay_of: int | None = None  # raw_payload.id when an operator replays a quarantined payload


def load_device(conn: Connection, serial: str) -> DeviceInfo | None:
    row = conn.execute(
        select(Device.id, Device.serial, Device.vendor, Device.site_id, Site.institution_id, Device.timezone,
               Device.enabled, Device.token_hash, Device.ip_allowlist)
        .join(Site, Site.id == Device.site_id).where(Device.serial == serial)
    ).first()
    return DeviceInfo(*row) if row else None


def check_device(device: DeviceInfo | None, push: Push, settings: Settings) -> str | None:
    """Why this push is refused, or None when the device may push."""
    if device is None:
        return f"unknown device serial {push.serial!r}: register it, then replay the quarantined payload"
    if not device.enabled:
        return f"device {push.serial!r} is disabled"
    if device.token_hash or settings.ingest.require_device_token:
        given = hashlib.sha256((push.token or "").encode()).hexdigest()
        if not device.token_hash or not hmac.compare_digest(given, device.token_hash):
            return f"device {push.serial!r} sent a missing or wrong token"
    if device.ip_allowlist and push.remote_addr:
        try:
            addr = ipaddress.ip_address(push.remote_addr)
        except ValueError:
            return f"device {push.serial!r} pushed from an unparseable address"
        networks = [ipaddress.ip_network(n.strip(), strict=False) for n in device.ip_allowlist.split(",") if n.strip()]
        if not any(addr in net for net in networks):
            return f"device {push.serial!r} pushed from {push.remote_addr}, which is not on its allowlist"
    return None


# per engine (dropped with it), then per serial: (monotonic time cached, device)
_device_cache: WeakKeyDictionary[Engine, dict[str, tuple[float, DeviceInfo]]] = WeakKeyDictionary()


def authorize(engine: Engine, push: Push, settings: Settings) -> DeviceInfo:
    """The device behind `push`, or DeviceRefused. A refused body is quarantined once for replay.

    Registered devices are cached for `ingest.device_cache_seconds` (default 2 s), which saves a
    database round trip on every push; disabling a device or changing its token takes effect within it.
    """
    cache = _device_cache.setdefault(engine, {})
    hit = cache.get(push.serial)
    now = time.monotonic()
    if hit is not None and now - hit[0] < settings.ingest.device_cache_seconds:
        device: DeviceInfo | None = hit[1]
    else:
        with transaction(engine, immediate=False) as conn:
            device = load_device(conn, push.serial)
        if device is not None:
            cache[push.serial] = (now, device)
    reason = check_device(device, push, settings)
    if reason is None:
        assert device is not None
        return device
    _quarantine_refused(engine, push, device, reason)
    raise DeviceRefused(push.serial, reason, 403)


def forget_devices() -> None:
    """Drop cached device rows (after a registry change made in this process)."""
    _device_cache.clear()


def _quarantine_refused(engine: Engine, push: Push, device: DeviceInfo | None, reason: str) -> None:
    if not push.body:
        log.warning("device refused", extra={"serial": push.serial, "reason": reason, "table": push.table})
        return
    digest = hashlib.sha256(push.body).hexdigest()
    with transaction(engine, immediate=True) as conn:
        if repo.payload_already_quarantined(conn, device_serial=push.serial, sha256=digest):
            return
        raw = _store_raw(conn, push, device, status="refused")
        repo.quarantine_payload(conn, raw_payload_id=raw.id, device_serial=push.serial, reason=reason)
    log.warning("device refused, payload quarantined",
                extra={"serial": push.serial, "reason": reason, "raw_payload_id": raw.id, "bytes": len(push.body)})


def _store_raw(conn: Connection, push: Push, device: DeviceInfo | None, status: str = "accepted") -> repo.RawRef:
    if push.replay_of is not None:  # the body is already stored as received: file it under the device now
        return repo.reuse_raw(conn, push.replay_of, device_id=device.id if device else None, status=status)
    return repo.store_raw(
        conn, source=push.source, device_serial=push.serial, device_id=device.id if device else None,
        table_name=push.table, body=push.body, query=push.query, content_type=push.content_type,
        remote_addr=push.remote_addr, received_at=push.received_at, status=status,
    )


def clock_fault_codes(punches: Sequence[PunchRecord], received_at: datetime, settings: Settings, *, realtime: bool) -> np.ndarray:
    """Clock-fault code per punch. A batch whose whole time range is plausible (the usual case) needs no
    per-punch array: two C-level passes for min and max decide it."""
    cfg = settings.ingest
    if not realtime:
        first, last = utc_range(punches)
        if first.year >= cfg.min_year and last <= received_at + timedelta(minutes=cfg.future_tolerance_minutes):
            return np.zeros(len(punches), dtype=np.int8)
    utc = np.array([p.utc_time for p in punches], dtype="datetime64[s]")
    return clock.clock_faults(
        utc, received_at, realtime=realtime, min_year=settings.ingest.min_year,
        future_tolerance=timedelta(minutes=settings.ingest.future_tolerance_minutes),
        realtime_skew=timedelta(minutes=settings.ingest.realtime_skew_minutes),
    )


def ingest_punches(
    engine: Engine, settings: Settings, push: Push, device: DeviceInfo, parse: Callable[[], Parsed], *,
    realtime: bool | Callable[[Connection], bool] = False, after: Callable[[Connection, IngestResult, list[PunchRecord]], None] | None = None,
) -> IngestResult:
    """Store a punch-bearing push (ATTLOG, rtlog, Hikvision event, sheet) and return the counts.

    `realtime` (or a callable asked after parsing, inside the transaction) says the terminal pushed as the punches happened, so
    punches far from the receive time betray a wrong device clock. `after` runs inside the same transaction (photos, logs).
    On SQLite the push is written together with the pushes queued beside it (`storage.db.write`, group commit, in a
    savepoint of its own) and this returns only after that commit.
    """

    def store(conn: Connection) -> tuple[IngestResult, PayloadRejected | None]:
        raw = _store_raw(conn, push, device)
        result = IngestResult(raw.id)
        rejected_payload = None
        if isinstance(parsed, ValueError):  # devices' ProtocolError is a ValueError
            repo.set_raw_status(conn, raw.id, "refused")
            repo.quarantine_payload(conn, raw_payload_id=raw.id, device_serial=push.serial, reason=str(parsed))
            rejected_payload = PayloadRejected(str(parsed), raw.id)
        else:
            punches, rejected = parsed
            live = realtime(conn) if callable(realtime) else realtime
            faults = (clock_fault_codes(punches, push.received_at, settings, realtime=live) if punches
                      else np.zeros(0, np.int8))
            result.received = len(punches)
            result.accepted = repo.insert_punches(conn, device_id=device.id, raw_payload_id=raw.id, punches=punches,
                                                  clock_faults=faults, received_at=push.received_at)
            result.duplicates = result.received - result.accepted
            result.quarantined = repo.quarantine_lines(conn, raw_payload_id=raw.id, device_serial=push.serial,
                                                       rejected=rejected)
            result.clock_faults = int(np.count_nonzero(faults))
            if rejected:
                repo.set_raw_status(conn, raw.id, "partial")
            if after is not None:
                after(conn, result, punches)
        touch_device(conn, device.id, push.received_at)
        return result, rejected_payload

    try:
        # parsed before the write lock is taken: parsing needs no database, and a 10,000-line body
        # takes as long to parse as a quarter of its insert
        try:
            parsed: Parsed | ValueError = parse()
        except ValueError as exc:
            parsed = exc
        result, rejected_payload = write(engine, store)
    except Exception as exc:
        _keep_after_failure(engine, push, device, exc)
        raise
    if rejected_payload is not None:
        log.warning("payload rejected", extra={"serial": push.serial, "table": push.table, "reason": rejected_payload.reason})
        raise rejected_payload
    log.info("push stored", extra={"serial": push.serial, "table": push.table, "received": result.received,
                                   "accepted": result.accepted, "duplicates": result.duplicates,
                                   "quarantined": result.quarantined, "clock_faults": result.clock_faults})
    return result


def store_only(engine: Engine, push: Push, device: DeviceInfo,
               handle: Callable[[Connection, repo.RawRef], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Store a push that carries no punches (OPERLOG, ATTPHOTO, options, ...) and let `handle` file it."""
    try:
        with transaction(engine, immediate=True) as conn:
            raw = _store_raw(conn, push, device)
            outcome = handle(conn, raw) if handle else {}
            touch_device(conn, device.id, push.received_at)
    except ValueError as exc:
        with transaction(engine, immediate=True) as conn:
            raw = _store_raw(conn, push, device, status="refused")
            repo.quarantine_payload(conn, raw_payload_id=raw.id, device_serial=push.serial, reason=str(exc))
        raise PayloadRejected(str(exc), raw.id) from exc
    except Exception as exc:
        _keep_after_failure(engine, push, device, exc)
        raise
    return {"raw_payload_id": raw.id, **outcome}


def _keep_after_failure(engine: Engine, push: Push, device: DeviceInfo | None, exc: Exception) -> None:
    """The push's transaction failed: keep the body in quarantine so it can be replayed."""
    try:
        with transaction(engine, immediate=True) as conn:
            raw = _store_raw(conn, push, device, status="refused")
            repo.quarantine_payload(conn, raw_payload_id=raw.id, device_serial=push.serial,
                                    reason=f"internal error while storing: {type(exc).__name__}: {exc}"[:1000])
        log.error("push failed, payload quarantined", extra={"serial": push.serial, "raw_payload_id": raw.id},
                  exc_info=exc)
    except Exception:  # the database itself is down: the terminal keeps the data and resends
        log.exception("push failed and could not be quarantined", extra={"serial": push.serial})


def touch_device(conn: Connection, device_id: int, at: datetime, **values: Any) -> None:
    """Record that the terminal was heard from (and any other device fields it reported)."""
    if values:
        conn.execute(update(Device).where(Device.id == device_id).values(last_seen_at=at, **values))
    else:
        repo.touch_device(conn, device_id, at)


def insert_rows(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(model), rows)
