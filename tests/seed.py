"""Core rows most tests need: an institution with a site, terminals of each vendor, and API keys."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from punchaudit.api.auth import create_key
from storage.db import session_scope
from storage.schema.core import Device, Institution, Site


@dataclass
class Seeded:
    institution_id: int
    other_institution_id: int
    site_id: int
    zk_serial: str
    hik_serial: str
    admin_key: str
    site_key: str
    other_site_key: str
    inspector_key: str


def seed(engine: Engine, *, zk_serial: str = "0316144680030", hik_serial: str = "DS-K1T673DX-001") -> Seeded:
    with session_scope(engine) as s:
        inst = Institution(code="I001", name="大同市平城区职业培训学校", district="平城区")
        other = Institution(code="I002", name="云冈区技能培训中心", district="云冈区")
        s.add_all([inst, other])
        s.flush()
        site = Site(institution_id=inst.id, code="S001", name="平城校区", timezone="Asia/Shanghai")
        other_site = Site(institution_id=other.id, code="S002", name="云冈校区")
        s.add_all([site, other_site])
        s.flush()
        s.add_all([
            Device(serial=zk_serial, vendor="zkteco", site_id=site.id, timezone="Asia/Shanghai"),
            Device(serial=hik_serial, vendor="hikvision", site_id=site.id, timezone="Asia/Shanghai"),
        ])
        keys = dict(
            admin_key=create_key(s, "admin", "admin"),
            site_key=create_key(s, "site I001", "site", inst.id),
            other_site_key=create_key(s, "site I002", "site", other.id),
            inspector_key=create_key(s, "inspector", "inspector"),
        )
        return Seeded(inst.id, other.id, site.id, zk_serial, hik_serial, **keys)
