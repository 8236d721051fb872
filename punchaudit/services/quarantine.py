"""Quarantine: list what was not accepted, and replay payloads once their device is registered.

A replay runs the stored body through the same upload path as a live push, with its original receive
time, so the result is exactly what the push would have produced had the device been known then.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from punchaudit.config import Settings
from punchaudit.services import ingest, terminals
from punchaudit.services.ingest import DeviceRefused, PayloadRejected, Push
from storage.db import session_scope, transaction
from storage.schema.base import utcnow
from storage.schema.core import Quarantine, RawPayload


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    device_serial: str
    kind: str
    line_no: int | None
    text: str | None
    reason: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    raw_payload_id: int | None


def list_entries(engine: Engine, *, include_resolved: bool = False, serial: str | None = None,
                 limit: int = 200) -> list[QuarantineEntry]:
    with session_scope(engine) as s:
        q = select(Quarantine).order_by(Quarantine.id)
        if not include_resolved:
            q = q.where(Quarantine.resolved_at.is_(None))
        if serial:
            q = q.where(Quarantine.device_serial == serial)
        return [QuarantineEntry(r.id, r.device_serial, r.kind, r.line_no, r.text, r.reason, r.created_at,
                                r.resolved_at, r.resolution, r.raw_payload_id)
                for r in s.scalars(q.limit(limit))]


@dataclass
class ReplayOutcome:
    quarantine_id: int
    ok: bool
    message: str


def replay(engine: Engine, settings: Settings, quarantine_id: int) -> ReplayOutcome:
    """Run a quarantined payload through ingest again. Still-refused payloads stay in quarantine."""
    with session_scope(engine) as s:
        entry = s.get(Quarantine, quarantine_id)
        if entry is None:
            raise LookupError(f"no quarantine entry {quarantine_id}")
        if entry.resolved_at is not None:
            return ReplayOutcome(quarantine_id, False, f"already resolved: {entry.resolution}")
        if entry.kind != "payload" or entry.raw_payload_id is None:
            return ReplayOutcome(quarantine_id, False, "a single malformed line cannot be replayed; fix it at the source")
        raw = s.get(RawPayload, entry.raw_payload_id)
        assert raw is not None
        push = Push(source=raw.source, serial=raw.device_serial, table=raw.table_name, body=raw.body, query=raw.query,
                    content_type=raw.content_type, remote_addr=None, received_at=raw.received_at,
                    replay_of=raw.id)
    try:
        with transaction(engine) as conn:
            device = ingest.load_device(conn, push.serial)
        reason = ingest.check_device(device, push, settings) if device is None or not device.enabled else None
        if reason:
            raise DeviceRefused(push.serial, reason)
        assert device is not None
        message = _dispatch(engine, settings, device, push)
    except (DeviceRefused, PayloadRejected) as exc:
        return ReplayOutcome(quarantine_id, False, str(exc))
    with transaction(engine) as conn:
        conn.execute(update(Quarantine).where(Quarantine.id == quarantine_id)
                     .values(resolved_at=utcnow(), resolution=f"replayed: {message}"))
    return ReplayOutcome(quarantine_id, True, message)


def _dispatch(engine: Engine, settings: Settings, device: ingest.DeviceInfo, push: Push) -> str:
    if push.source == "hikvision":
        r = terminals.hikvision_event(engine, settings, device, push)
        return f"accepted {r.accepted}, duplicates {r.duplicates}"
    if push.source == "zkteco":
        return terminals.zkteco_upload(engine, settings, device, push).strip()
    raise PayloadRejected(f"cannot replay a {push.source} payload", push.replay_of)


def replay_all(engine: Engine, settings: Settings, serial: str | None = None) -> list[ReplayOutcome]:
    return [replay(engine, settings, e.id) for e in list_entries(engine, serial=serial, limit=100_000)
            if e.kind == "payload"]
