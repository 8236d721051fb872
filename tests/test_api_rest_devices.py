"""Terminals through the REST API: token hashing, allowlists, time zones, enable/disable, page caps."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from storage.db import session_scope
from storage.schema.core import Device
from test_api_rest_world import World, world  # noqa: F401  (fixture)


def _stored(w: World, serial: str) -> Device:
    with session_scope(w.engine) as session:
        return session.scalars(select(Device).where(Device.serial == serial)).one()


@pytest.mark.postgres
def test_token_is_stored_hashed_and_never_returned(world: World) -> None:  # noqa: F811
    key, token = world.keys["A"], "s3cret-terminal-token"
    created = world.ok("POST", "/api/v1/devices", key, 201,
                       json={"serial": "ZK-T1", "vendor": "zkteco", "site_id": world.ids["site_A"], "token": token})
    assert created["has_token"] is True and token not in str(created) and "token_hash" not in created
    assert _stored(world, "ZK-T1").token_hash == hashlib.sha256(token.encode()).hexdigest()
    rotated = world.ok("PATCH", f"/api/v1/devices/{created['id']}", key, json={"token": "another-token-2"})
    assert rotated["has_token"] and _stored(world, "ZK-T1").token_hash == hashlib.sha256(b"another-token-2").hexdigest()
    cleared = world.ok("PATCH", f"/api/v1/devices/{created['id']}", key, json={"token": None})
    assert cleared["has_token"] is False and _stored(world, "ZK-T1").token_hash is None
    short = world.call("POST", "/api/v1/devices", key, json={"serial": "ZK-T2", "vendor": "zkteco",
                                                            "site_id": world.ids["site_A"], "token": "abc"})
    assert short.status_code == 422


@pytest.mark.postgres
def test_allowlist_zone_vendor_and_serial_checks(world: World) -> None:  # noqa: F811
    key, site = world.keys["A"], world.ids["site_A"]
    made = world.ok("POST", "/api/v1/devices", key, 201,
                    json={"serial": "HK-1", "vendor": "hikvision", "site_id": site, "timezone": "Asia/Urumqi",
                          "ip_allowlist": ["10.1.2.3", "192.168.7.9/24", "2001:db8::1/32"]})
    assert made["ip_allowlist"] == ["10.1.2.3/32", "192.168.7.0/24", "2001:db8::/32"]
    assert made["timezone"] == "Asia/Urumqi" and made["vendor"] == "hikvision"
    assert _stored(world, "HK-1").ip_allowlist == "10.1.2.3/32,192.168.7.0/24,2001:db8::/32"
    bad = [
        {"serial": "X1", "vendor": "zkteco", "site_id": site, "ip_allowlist": ["10.1.2.300"]},
        {"serial": "X2", "vendor": "zkteco", "site_id": site, "timezone": "Mars/Olympus"},
        {"serial": "X3", "vendor": "suprema", "site_id": site},
        {"serial": "bad serial", "vendor": "zkteco", "site_id": site},
        {"serial": "X4", "vendor": "zkteco", "site_id": site, "owner": "me"},
        {"serial": "X" * 65, "vendor": "zkteco", "site_id": site},
    ]
    for body in bad:
        response = world.call("POST", "/api/v1/devices", key, json=body)
        assert response.status_code == 422, body
    assert "not an IP address" in world.call("POST", "/api/v1/devices", key, json=bad[0]).json()["detail"]
    assert "time zone" in world.call("POST", "/api/v1/devices", key, json=bad[1]).json()["detail"]
    dup = world.call("POST", "/api/v1/devices", key, json={"serial": "SN-B", "vendor": "zkteco", "site_id": site})
    assert dup.status_code == 409  # serials are unique city-wide (a terminal cannot be at two sites)
    cleared = world.ok("PATCH", f"/api/v1/devices/{made['id']}", key, json={"ip_allowlist": []})
    assert cleared["ip_allowlist"] == [] and _stored(world, "HK-1").ip_allowlist is None


@pytest.mark.postgres
def test_disable_enable_and_filter(world: World) -> None:  # noqa: F811
    key, device = world.keys["A"], world.ids["device_A"]
    assert world.ok("PATCH", f"/api/v1/devices/{device}", key, json={"enabled": False})["enabled"] is False
    assert _stored(world, "SN-A").enabled is False
    assert [d["serial"] for d in world.ok("GET", "/api/v1/devices", world.admin, params={"enabled": False})["items"]] == ["SN-A"]
    assert [d["serial"] for d in world.ok("GET", "/api/v1/devices", world.admin, params={"enabled": True})["items"]] == ["SN-B"]
    assert world.ok("PATCH", f"/api/v1/devices/{device}", key, json={"enabled": True})["enabled"] is True
    moved_site = world.ok("POST", "/api/v1/sites", key, 201, json={"code": "SITE-A2", "name": "二部", "timezone": "Asia/Shanghai"})
    moved = world.ok("PATCH", f"/api/v1/devices/{device}", key, json={"site_id": moved_site["id"]})
    assert moved["site_id"] == moved_site["id"]
    assert world.call("PATCH", f"/api/v1/devices/{device}", key, json={"serial": "NEW"}).status_code == 422


@pytest.mark.postgres
def test_page_size_is_capped_and_pages_chain(world: World) -> None:  # noqa: F811
    admin = world.admin
    for n in range(5):
        world.ok("POST", "/api/v1/devices", admin, 201, json={"serial": f"P{n}", "vendor": "sheet", "site_id": world.ids["site_B"]})
    for noun in ("institutions", "sites", "devices", "trainees", "classes", "enrollments", "punches"):
        assert world.call("GET", f"/api/v1/{noun}", admin, params={"limit": 1001}).status_code == 422, noun
        assert world.call("GET", f"/api/v1/{noun}", admin, params={"limit": 0}).status_code == 422, noun
        assert world.call("GET", f"/api/v1/{noun}", admin, params={"offset": -1}).status_code == 422, noun
    assert len(world.ok("GET", "/api/v1/devices", admin, params={"limit": 1000})["items"]) == 7
    seen, offset = [], 0
    while offset is not None:
        page = world.ok("GET", "/api/v1/devices", admin, params={"limit": 3, "offset": offset})
        assert len(page["items"]) <= 3
        seen += [d["serial"] for d in page["items"]]
        offset = page["next_offset"]
    assert seen == ["SN-A", "SN-B", "P0", "P1", "P2", "P3", "P4"]
