"""Terminal protocol use cases: what each ZKTeco PUSH request or Hikvision event does to the database.

The HTTP routers only translate requests into `Push` values and replies into text; the decisions
(which table, which reply, which commands) live here so the CLI replay and the tests share them.
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, insert, select, update

from devices import hikvision, sheets, zkteco
from devices.punch import Punch as PunchRecord
from devices.punch import RejectedLine
from punchaudit.config import Settings
from punchaudit.services import ingest
from punchaudit.services.ingest import DeviceInfo, IngestResult, Push
from storage.db import transaction
from storage.punches import at_device_near
from storage.schema.core import Device, DeviceCommand, DeviceLog, Punch, PunchPhoto

log = logging.getLogger("punchaudit.terminals")

PUNCH_TABLES = {"ATTLOG", "RTLOG"}


def touch(engine: Engine, device: DeviceInfo, push: Push, **values: Any) -> None:
    with transaction(engine) as conn:
        ingest.touch_device(conn, device.id, push.received_at, **values)


def zkteco_handshake(engine: Engine, settings: Settings, device: DeviceInfo, push: Push, *,
                     push_version: str | None = None, language: str | None = None) -> str:
    """Answer `GET /iclock/cdata?options=all` with the options this server wants the terminal to use."""
    cfg = settings.zkteco
    options = zkteco.HandshakeOptions(
        delay=cfg.delay_seconds, error_delay=cfg.error_delay_seconds, trans_times=cfg.trans_times,
        trans_interval=cfg.trans_interval_minutes, timezone=cfg.timezone_hours, realtime=1 if cfg.realtime else 0,
    )
    touch(engine, device, push, push_version=push_version)
    log.info("handshake", extra={"serial": device.serial, "pushver": push_version, "language": language})
    return zkteco.handshake_reply(device.serial, options)


def zkteco_upload(engine: Engine, settings: Settings, device: DeviceInfo, push: Push) -> str:
    """`POST /iclock/cdata?table=..`: punches, logs, photos and options, each stored its own way."""
    table = (push.table or "").upper()
    if table in PUNCH_TABLES:
        parse = zkteco.parse_attlog if table == "ATTLOG" else zkteco.parse_rtlog
        result = ingest.ingest_punches(
            engine, settings, push, device, lambda: parse(push.body, device.serial, device.timezone),
            realtime=lambda conn: _zkteco_realtime(settings, conn, device, push),
        )
        return zkteco.ok_reply(result.received)
    if table == "OPERLOG":
        outcome = ingest.store_only(engine, push, device, lambda conn, raw: _store_operlog(conn, device, raw.id, push))
        return zkteco.ok_reply(outcome["lines"])
    if table == "ATTPHOTO":
        ingest.store_only(engine, push, device, lambda conn, raw: _store_attphoto(conn, device, raw.id, push))
        return zkteco.ok_reply(None)
    if table == "OPTIONS":
        ingest.store_only(engine, push, device, lambda conn, raw: _store_options(conn, device, push))
        return zkteco.ok_reply(None)
    # BIODATA, USERINFO, IDCARD, ERRORLOG...: kept raw; nothing in them bears on attendance.
    ingest.store_only(engine, push, device)
    return zkteco.ok_reply(None)


_LAST_CONTACT = select(Device.last_poll_at, Device.last_seen_at).where(Device.id == bindparam("device_id"))


def _zkteco_realtime(settings: Settings, conn: Connection, device: DeviceInfo, push: Push) -> bool:
    """Whether this push was sent as the punch happened, so that its time must be close to now.

    With Realtime=1 a terminal polls every Delay seconds and pushes each record as it is made. A push of a
    single record whose terminal's last contact was a poll a moment ago is such a push. Anything else (a
    batch, an upload right after other uploads or after a handshake) may be an offline buffer being
    replayed, whose records are legitimately old, so it is not held to the receive time.
    """
    if push.replay_of is not None or not settings.zkteco.realtime:
        return False
    if len([ln for ln in push.body.splitlines() if ln.strip()]) != 1:
        return False
    polled, seen = conn.execute(_LAST_CONTACT, {"device_id": device.id}).one()
    if polled is None or seen is None or polled < seen:
        return False
    return push.received_at - polled <= timedelta(seconds=3 * settings.zkteco.delay_seconds)


def _store_operlog(conn: Connection, device: DeviceInfo, raw_id: int, push: Push) -> dict[str, Any]:
    entries, rejected = zkteco.parse_operlog_full(push.body)
    ingest.insert_rows(conn, DeviceLog, [
        dict(device_id=device.id, raw_payload_id=raw_id, kind=e.kind, op_code=e.op_code, event_time=e.event_time,
             flag=e.flag, text=e.text[:4000], received_at=push.received_at)
        for e in entries
    ])
    from storage.punches import quarantine_lines

    quarantine_lines(conn, raw_payload_id=raw_id, device_serial=device.serial, rejected=rejected)
    for e in entries:
        if e.flag:
            log.warning("terminal reported a %s event", e.flag,
                        extra={"serial": device.serial, "op_code": e.op_code, "event_time": e.event_time})
    return {"lines": len(entries) + len(rejected)}


def _store_attphoto(conn: Connection, device: DeviceInfo, raw_id: int, push: Push) -> dict[str, Any]:
    photo = zkteco.parse_attphoto(push.body)
    punch_id = None
    if photo.pin and photo.local_time:
        punch_id = find_punch(conn, device.id, photo.pin, photo.local_time)
    return {"photo_id": store_photo(conn, device.id, raw_id, photo.image, pin=photo.pin, local_time=photo.local_time,
                                    file_name=photo.file_name, punch_id=punch_id, received_at=push.received_at)}


def _store_options(conn: Connection, device: DeviceInfo, push: Push) -> dict[str, Any]:
    options = zkteco.parse_options(push.body)
    ingest.touch_device(conn, device.id, push.received_at, info=json.dumps(options, ensure_ascii=False)[:8000])
    return {"options": len(options)}


def find_punch(conn: Connection, device_id: int, pin: str, local_time: datetime, slack_s: int = 2) -> int | None:
    """The punch a photo belongs to: same device and PIN, within a couple of seconds."""
    row = conn.execute(
        select(Punch.id).where(
            at_device_near(device_id, pin, local_time - timedelta(seconds=slack_s), local_time + timedelta(seconds=slack_s))
        ).order_by(Punch.id).limit(1)
    ).first()
    return row[0] if row else None


def store_photo(conn: Connection, device_id: int, raw_id: int | None, image: bytes, *, pin: str | None,
                local_time: datetime | None, file_name: str | None, punch_id: int | None,
                received_at: datetime, content_type: str = "image/jpeg") -> int | None:
    """Keep a punch photo once (by device and content hash) for face verification."""
    digest = hashlib.sha256(image).hexdigest()
    existing = conn.execute(select(PunchPhoto.id).where(PunchPhoto.device_id == device_id,
                                                        PunchPhoto.sha256 == digest)).first()
    if existing:
        return existing[0]
    return conn.execute(insert(PunchPhoto).returning(PunchPhoto.id), dict(
        device_id=device_id, raw_payload_id=raw_id, punch_id=punch_id, pin=pin, local_time=local_time,
        file_name=file_name, content_type=content_type, image=image, sha256=digest, received_at=received_at,
    )).scalar_one()


def zkteco_poll(engine: Engine, device: DeviceInfo, push: Push, *, info: str | None = None) -> str:
    """`GET /iclock/getrequest`: hand out queued commands (each once) or `OK`."""
    with transaction(engine, immediate=True) as conn:
        values: dict[str, Any] = {}
        if info:
            values["info"] = json.dumps(zkteco.parse_info(info), ensure_ascii=False)[:8000]
        ingest.touch_device(conn, device.id, push.received_at, last_poll_at=push.received_at, **values)
        pending = conn.execute(
            select(DeviceCommand.id, DeviceCommand.command)
            .where(DeviceCommand.device_id == device.id, DeviceCommand.sent_at.is_(None))
            .order_by(DeviceCommand.id).limit(20)
        ).all()
        if not pending:
            return "OK"
        conn.execute(update(DeviceCommand).where(DeviceCommand.id.in_([p.id for p in pending]))
                     .values(sent_at=push.received_at))
    return zkteco.format_commands([(p.id, p.command) for p in pending])


def zkteco_command_results(engine: Engine, device: DeviceInfo, push: Push) -> str:
    """`POST /iclock/devicecmd`: record what the terminal answered to each command."""
    def handle(conn: Connection, raw: Any) -> dict[str, Any]:
        results = zkteco.parse_devicecmd(push.body)
        for r in results:
            if r.command_id is None:
                continue
            conn.execute(
                update(DeviceCommand)
                .where(and_(DeviceCommand.id == r.command_id, DeviceCommand.device_id == device.id))
                .values(return_code=r.return_code, result=json.dumps({"cmd": r.cmd, **r.extra}, ensure_ascii=False)[:8000],
                        returned_at=push.received_at)
            )
        return {"results": len(results)}

    ingest.store_only(engine, push, device, handle)
    return "OK"


def enqueue_command(engine: Engine, serial: str, command: str) -> int:
    """Queue a command for a ZKTeco terminal; it is sent at the terminal's next poll."""
    with transaction(engine, immediate=True) as conn:
        device = ingest.load_device(conn, serial)
        if device is None:
            raise LookupError(f"unknown device {serial!r}")
        return conn.execute(insert(DeviceCommand).returning(DeviceCommand.id),
                            dict(device_id=device.id, command=command)).scalar_one()


def enqueue_backfill(engine: Engine, serial: str, start: datetime, end: datetime) -> list[int]:
    """Ask a terminal to resend its attendance log for a window and to report its count for it."""
    return [enqueue_command(engine, serial, zkteco.cmd_query_attlog(start, end)),
            enqueue_command(engine, serial, zkteco.cmd_verify_sum_attlog(start, end))]


def hikvision_event(engine: Engine, settings: Settings, device: DeviceInfo, push: Push) -> IngestResult:
    """One ISAPI event push: the punch (or failed attempt) it carries, its picture, and serialNo gaps."""
    holder: dict[str, Any] = {}

    def parse() -> tuple[list[PunchRecord], list[Any]]:
        event = hikvision.parse_event(push.body, push.content_type or "", device_sn_hint=device.serial,
                                      tz_name=device.timezone)
        holder["event"] = event
        # a verification the service cannot attribute (no employee number) is not dropped: it waits in
        # quarantine with the reason, next to its raw body
        rejected = [RejectedLine(1, f"serialNo={event.serial_no} dateTime={event.date_time.isoformat()}", event.note)] \
            if event.note else []
        return ([event.punch] if event.punch is not None else []), rejected

    def after(conn: Connection, result: IngestResult, punches: list[PunchRecord]) -> None:
        event = holder["event"]
        result.extra["event_type"] = event.event_type
        if event.serial_no is not None:
            result.extra["serial_no"] = event.serial_no
            _note_serial(conn, device, event.serial_no, result)
        if event.picture and event.punch is not None:
            punch_id = find_punch(conn, device.id, event.punch.pin, event.punch.local_time)
            result.extra["photo_id"] = store_photo(
                conn, device.id, result.raw_payload_id, event.picture, pin=event.punch.pin,
                local_time=event.punch.local_time, file_name="Picture", punch_id=punch_id,
                received_at=push.received_at)

    def realtime(conn: Connection) -> bool:  # currentEvent false marks an event replayed from the terminal's offline buffer
        return push.replay_of is None and holder["event"].current_event is not False

    return ingest.ingest_punches(engine, settings, push, device, parse, realtime=realtime, after=after)


def ingest_sheet(engine: Engine, settings: Settings, serial: str, filename: str, data: bytes, *,
                 institution_id: int | None = None) -> IngestResult:
    """A spreadsheet or CSV export of a terminal's log, uploaded by an operator or a site.

    The device must be registered (and, for a site caller, belong to its institution); the file is
    stored raw like any push, so it can be audited and replayed.
    """
    push = Push(source="sheet", serial=serial, table=filename[-32:], body=data, content_type=None)
    with transaction(engine) as conn:
        device = ingest.load_device(conn, serial)
    if device is None or (institution_id is not None and device.institution_id != institution_id):
        raise ingest.DeviceRefused(serial, f"unknown device serial {serial!r}", 404)
    if not device.enabled:
        raise ingest.DeviceRefused(serial, f"device {serial!r} is disabled")
    return ingest.ingest_punches(engine, settings, push, device,
                                 lambda: sheets.parse_sheet(data, filename, device.serial, device.timezone))


def _note_serial(conn: Connection, device: DeviceInfo, serial_no: int, result: IngestResult) -> None:
    """Track the terminal's event counter; a jump means events were lost and must be fetched back."""
    last = conn.execute(select(Device.last_serial_no).where(Device.id == device.id)).scalar_one_or_none()
    gaps = hikvision.serial_gaps(last, [serial_no])
    if gaps:
        result.extra["serial_gaps"] = gaps
        log.warning("hikvision serialNo gap", extra={"serial": device.serial, "gaps": gaps})
    if last is None or serial_no > last:
        conn.execute(update(Device).where(Device.id == device.id).values(last_serial_no=serial_no))
