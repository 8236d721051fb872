"""The registry and the terminal endpoints together: a site registers a terminal and a roster over the
REST API, the terminal pushes over ZKTeco PUSH, and the site reads its punches with trainee names."""
from __future__ import annotations

import pytest

from test_api_rest_world import World, world  # noqa: F401  (fixture)

TOKEN = "terminal-token-A1"
ATTLOG = b"1\t2026-03-05 08:01:02\t0\t15\t0\t0\n7\t2026-03-05 08:02:00\t0\t1\t0\t0\n"


@pytest.fixture(autouse=True)
def _long_device_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Terminal endpoints cache device rows; a registry change through the API must not wait for that."""
    monkeypatch.setenv("PUNCHAUDIT_INGEST__DEVICE_CACHE_SECONDS", "600")


def _push(w: World, serial: str, token: str | None, body: bytes = ATTLOG) -> tuple[int, str]:
    params = {"SN": serial, "table": "ATTLOG", "Stamp": "1"} | ({"token": token} if token else {})
    response = w.client.post("/iclock/cdata", params=params, content=body)
    return response.status_code, response.text.strip()


@pytest.mark.postgres
def test_registered_terminal_pushes_and_site_reads_named_punches(world: World) -> None:  # noqa: F811
    key, ids = world.keys["A"], world.ids
    device = world.ok("POST", "/api/v1/devices", key, 201,
                      json={"serial": "ZK-E2E", "vendor": "zkteco", "site_id": ids["site_A"], "token": TOKEN})
    assert _push(world, "ZK-E2E", None)[0] == 403  # the token is required once one is registered
    assert _push(world, "ZK-E2E", "wrong-token-123")[0] == 403
    assert _push(world, "ZK-E2E", TOKEN) == (200, "OK: 2")

    punches = world.ok("GET", "/api/v1/punches", key, params={"device_id": device["id"]})["items"]
    assert [(p["pin"], p["local_time"], p["class_code"], p["trainee_name"]) for p in punches] == [
        ("1", "2026-03-05T08:01:02", "CLS-A", "学员A"),
        ("7", "2026-03-05T08:02:00", None, None),  # nobody is enrolled under PIN 7
    ]
    assert punches[0]["method"] == 2 and punches[0]["verify_code"] == 15  # face, as the terminal said
    named = world.ok("GET", "/api/v1/punches", key, params={"class_id": ids["class_A"], "date_from": "2026-03-05",
                                                            "date_to": "2026-03-05"})["items"]
    assert [p["trainee_id"] for p in named] == [ids["trainee_A"]]
    assert world.ok("GET", "/api/v1/punches", world.keys["B"])["items"] == []
    assert len(world.ok("GET", "/api/v1/punches", world.inspector)["items"]) == 2

    world.ok("PATCH", f"/api/v1/devices/{device['id']}", key, json={"enabled": False})
    status, text = _push(world, "ZK-E2E", TOKEN, b"1\t2026-03-06 08:00:00\t0\t15\t0\t0\n")
    assert status == 403 and "disabled" in text  # refused at once, not after a cache expires
    assert len(world.ok("GET", "/api/v1/punches", key)["items"]) == 2
