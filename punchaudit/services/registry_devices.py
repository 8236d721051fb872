"""Punch terminals: registration, enabling and disabling, per-device token and IP allowlist.

A terminal is known by its serial number. The optional token is stored only as its SHA-256 (a leaked
database does not let anyone impersonate a terminal); the allowlist is stored normalised, one network
per comma, so the ingest path can parse it with `ipaddress` without surprises.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from punchaudit.services.registry import (
    Conflict,
    Invalid,
    Page,
    any_row,
    check_text,
    check_timezone,
    get_site,
    load,
    paginate,
)
from storage.schema.core import Device, Site

log = logging.getLogger("punchaudit.registry")

VENDORS = ("zkteco", "hikvision", "sheet")
MIN_TOKEN = 8


def hash_token(token: str) -> str:
    """What is stored in `device.token_hash` for a terminal's token (compare it in constant time)."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_allowlist(entries: list[str] | str | None) -> str | None:
    """Validate addresses or networks (10.0.0.5, 10.1.0.0/16, 2001:db8::/32); None or empty clears it."""
    if entries is None:
        return None
    items = entries.split(",") if isinstance(entries, str) else entries
    networks = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise Invalid(f"{item[:64]!r} is not an IP address or network") from None
    return ",".join(networks) or None


def allowlist(device: Device) -> list[str]:
    return device.ip_allowlist.split(",") if device.ip_allowlist else []


def _check_token(token: str) -> str:
    if len(token) < MIN_TOKEN or len(token) > 128:
        raise Invalid(f"a device token must be {MIN_TOKEN} to 128 characters")
    return hash_token(token)


def create_device(session: Session, scope: int | None, serial: str, vendor: str, site_id: int, *,
                  timezone: str = "Asia/Shanghai", enabled: bool = True, token: str | None = None,
                  ip_allowlist: list[str] | str | None = None) -> Device:
    """Register a terminal at a site. A site key may register terminals at its own institution's sites."""
    site = get_site(session, scope, site_id)
    serial = check_text(serial, "serial number", 64)
    if vendor not in VENDORS:
        raise Invalid(f"vendor must be one of {', '.join(VENDORS)}")
    if any_row(session, select(Device.id).where(Device.serial == serial)):
        raise Conflict(f"a device with serial {serial} is already registered")
    row = Device(serial=serial, vendor=vendor, site_id=site.id, timezone=check_timezone(timezone), enabled=enabled,
                 token_hash=_check_token(token) if token else None, ip_allowlist=parse_allowlist(ip_allowlist))
    session.add(row)
    session.flush()
    log.info("device registered", extra={"device_id": row.id, "serial": serial, "vendor": vendor, "site_id": site.id})
    return row


def _institution_of(session: Session, device: Device) -> int | None:
    return session.scalar(select(Site.institution_id).where(Site.id == device.site_id))


def get_device(session: Session, scope: int | None, device_id: int) -> Device:
    return load(session, scope, Device, "device", device_id, owner=lambda row: _institution_of(session, row))


def device_by_serial(session: Session, scope: int | None, serial: str) -> Device:
    return load(session, scope, Device, "device", serial, owner=lambda row: _institution_of(session, row),
                code_attr="serial")


def list_devices(session: Session, scope: int | None, *, site_id: int | None = None, enabled: bool | None = None,
                 limit: int = 100, offset: int = 0) -> Page:
    stmt = select(Device).order_by(Device.id)
    if scope is not None:
        stmt = stmt.join(Site, Site.id == Device.site_id).where(Site.institution_id == scope)
    if site_id is not None:
        stmt = stmt.where(Device.site_id == site_id)
    if enabled is not None:
        stmt = stmt.where(Device.enabled.is_(enabled))
    return paginate(session, stmt, limit, offset)


_UNSET: Any = object()


def update_device(session: Session, scope: int | None, device_id: int, *, enabled: bool | None = None,
                  timezone: str | None = None, site_id: int | None = None, token: str | None = _UNSET,
                  ip_allowlist: list[str] | str | None = _UNSET) -> Device:
    """Enable/disable, move, change zone, rotate or clear the token (token=None clears), replace the
    allowlist (None or [] clears). A disabled terminal's pushes are refused and quarantined."""
    row = get_device(session, scope, device_id)
    if enabled is not None and enabled != row.enabled:
        row.enabled = enabled
        log.info("device %s", "enabled" if enabled else "disabled", extra={"device_id": row.id, "serial": row.serial})
    if timezone is not None:
        row.timezone = check_timezone(timezone)
    if site_id is not None:
        row.site_id = get_site(session, scope, site_id).id
    if token is not _UNSET:
        row.token_hash = _check_token(token) if token else None
        log.info("device token %s", "set" if token else "cleared", extra={"device_id": row.id, "serial": row.serial})
    if ip_allowlist is not _UNSET:
        row.ip_allowlist = parse_allowlist(ip_allowlist)
    session.flush()
    return row
