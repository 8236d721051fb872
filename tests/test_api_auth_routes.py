"""Every API route needs a key, revoked keys stop working, and roles limit what a key may do.

The route walk covers every router mounted in the app, not only the registry's, so a router added later
without authentication fails here. Terminal endpoints are authenticated by registered serial (and
token), not by API key, and are left out by prefix.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from punchaudit.config import load_settings
from storage.db import session_scope
from test_api_rest_world import World, world  # noqa: F401  (fixture)

DEVICE_AUTHENTICATED = ("/iclock", "/ISAPI")
PUBLIC = ("/healthz",)
# not in the schema: the API docs themselves, and the inspector's login form (its pages use a session)
PUBLIC_HIDDEN = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/inspector/login"}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    schema = client.get("/openapi.json").json()
    routes = []
    for path, operations in schema["paths"].items():
        if path.startswith(DEVICE_AUTHENTICATED + PUBLIC):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        routes.extend((method.upper(), concrete) for method in operations if method in ("get", "post", "put", "patch", "delete"))
    return routes


def _all_routes(routes: Any) -> Any:
    """Every mounted route, including those left out of the schema (FastAPI nests included routers)."""
    for route in routes:
        nested = getattr(route, "effective_route_contexts", None)
        if nested is not None:
            yield from _all_routes(nested())
        else:
            yield route


def _request(client: TestClient, method: str, path: str, key: str | None) -> Any:
    headers = {"X-API-Key": key} if key else {}
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, path, headers=headers, json=body)


@pytest.fixture
def client(engine: Engine) -> TestClient:
    return TestClient(create_app(load_settings(), engine))


def test_openapi_lists_the_registry_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for noun in ("institutions", "sites", "devices", "trainees", "classes", "enrollments", "punches", "keys"):
        assert f"/api/v1/{noun}" in paths
    assert "/api/v1/devices/{device_id}" in paths and "patch" in paths["/api/v1/devices/{device_id}"]
    # the response models, not the tables: no hash or token ever in a schema
    components = client.get("/openapi.json").json()["components"]["schemas"]
    assert "id_hash" not in components["TraineeOut"]["properties"]
    assert "token_hash" not in components["DeviceOut"]["properties"]
    assert "key_hash" not in components["KeyOut"]["properties"]


def test_every_api_route_refuses_a_request_without_a_key(client: TestClient) -> None:
    routes = _routes(client)
    assert len(routes) >= 25  # the walk really covers the registry
    for method, path in routes:
        response = _request(client, method, path, None)
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} without a key"
        response = _request(client, method, path, "pa_not-a-key")
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} to an unknown key"


def test_routes_hidden_from_the_schema_are_guarded_too(client: TestClient) -> None:
    hidden = []
    for route in _all_routes(client.app.routes):  # type: ignore[attr-defined]
        if getattr(route, "include_in_schema", True) or route.path in PUBLIC_HIDDEN:
            continue
        if route.path.startswith(DEVICE_AUTHENTICATED + PUBLIC):
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        hidden.extend((method, path) for method in route.methods - {"HEAD"})
    for method, path in hidden:
        response = client.request(method, path, follow_redirects=False)
        if response.is_redirect:  # a browser page sends the visitor to its login form
            assert response.headers["location"].split("?")[0].endswith("/login"), f"{method} {path}"
        else:
            assert response.status_code == 401, f"{method} {path} answered {response.status_code} without credentials"


def test_every_api_route_refuses_a_revoked_key(client: TestClient, engine: Engine) -> None:
    with session_scope(engine) as session:
        admin = create_key(session, "ops", "admin")
        doomed = create_key(session, "leaked", "admin")
    listed = client.get("/api/v1/keys", headers={"X-API-Key": admin}).json()
    doomed_id = next(k["id"] for k in listed if k["name"] == "leaked")
    assert client.get("/api/v1/institutions", headers={"X-API-Key": doomed}).status_code == 200
    revoked = client.post(f"/api/v1/keys/{doomed_id}/revoke", headers={"X-API-Key": admin})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    for method, path in _routes(client):
        response = _request(client, method, path, doomed)
        assert response.status_code == 401, f"{method} {path} accepted a revoked key ({response.status_code})"
    assert [k["name"] for k in client.get("/api/v1/keys", headers={"X-API-Key": admin}).json()] == ["ops"]
    with_revoked = client.get("/api/v1/keys", headers={"X-API-Key": admin}, params={"include_revoked": True}).json()
    assert {k["name"] for k in with_revoked} == {"ops", "leaked"}


WRITES = [
    ("POST", "/api/v1/institutions", {"code": "X", "name": "x"}),
    ("PATCH", "/api/v1/institutions/{inst_A}", {"name": "renamed"}),
    ("POST", "/api/v1/sites", {"institution_id": "{inst_A}", "code": "S9", "name": "s"}),
    ("PATCH", "/api/v1/sites/{site_A}", {"name": "renamed"}),
    ("POST", "/api/v1/devices", {"serial": "SN9", "vendor": "zkteco", "site_id": "{site_A}"}),
    ("PATCH", "/api/v1/devices/{device_A}", {"enabled": False}),
    ("POST", "/api/v1/trainees", {"name": "n", "resident_id": "11010519491231002X"}),
    ("PATCH", "/api/v1/trainees/{trainee_A}", {"name": "renamed"}),
    ("POST", "/api/v1/classes", {"institution_id": "{inst_A}", "site_id": "{site_A}", "code": "C9", "name": "c",
                                 "start_date": "2026-05-01", "end_date": "2026-05-02"}),
    ("PATCH", "/api/v1/classes/{class_A}", {"name": "renamed"}),
    ("POST", "/api/v1/enrollments", {"class_id": "{class_A}", "pin": "9", "trainee_id": "{trainee_A}"}),
    ("DELETE", "/api/v1/enrollments/{enrollment_A}", None),
    ("POST", "/api/v1/keys", {"name": "k", "role": "admin"}),
    ("POST", "/api/v1/keys/1/revoke", None),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


@pytest.mark.postgres
def test_inspector_reads_everything_and_writes_nothing(world: World) -> None:  # noqa: F811
    for method, path, body in WRITES:
        response = world.call(method, path.format(**world.ids), world.inspector, json=_fill(body, world.ids))
        assert response.status_code == 403, f"inspector {method} {path}: {response.status_code}"
    for noun in ("institutions", "sites", "devices", "trainees", "classes", "enrollments"):
        assert len(world.ok("GET", f"/api/v1/{noun}", world.inspector)["items"]) == 2, noun
    assert world.ok("GET", f"/api/v1/devices/{world.ids['device_B']}", world.inspector)["serial"] == "SN-B"
    # nothing was changed by the refused writes
    assert world.ok("GET", f"/api/v1/devices/{world.ids['device_A']}", world.admin)["enabled"] is True
    assert len(world.ok("GET", "/api/v1/enrollments", world.admin)["items"]) == 2


@pytest.mark.postgres
def test_site_keys_cannot_use_admin_functions(world: World) -> None:  # noqa: F811
    key = world.keys["A"]
    assert world.call("POST", "/api/v1/institutions", key, json={"code": "X", "name": "x"}).status_code == 403
    assert world.call("PATCH", f"/api/v1/institutions/{world.ids['inst_A']}", key, json={"name": "x"}).status_code == 403
    assert world.call("POST", "/api/v1/trainees", key, json={"name": "n", "resident_id": "11010519491231002X"}).status_code == 403
    assert world.call("POST", "/api/v1/keys", key, json={"name": "k", "role": "admin"}).status_code == 403
    assert world.call("GET", "/api/v1/keys", key).status_code == 403
    assert world.call("POST", "/api/v1/keys/1/revoke", key).status_code == 403


@pytest.mark.postgres
def test_key_issue_rules(world: World) -> None:  # noqa: F811
    admin = world.admin
    assert world.call("POST", "/api/v1/keys", admin, json={"name": "k", "role": "site"}).status_code == 422
    assert world.call("POST", "/api/v1/keys", admin, json={"name": "k", "role": "root"}).status_code == 422
    assert world.call("POST", "/api/v1/keys", admin,
                      json={"name": "k", "role": "inspector", "institution_id": world.ids["inst_A"]}).status_code == 422
    assert world.call("POST", "/api/v1/keys", admin,
                      json={"name": "k", "role": "site", "institution_id": 999}).status_code == 404
    issued = world.ok("POST", "/api/v1/keys", admin, 201, json={"name": "bureau", "role": "inspector"})
    assert issued["key"].startswith("pa_") and issued["role"] == "inspector"
    assert world.ok("GET", "/api/v1/punches", issued["key"])["items"] == []
    assert all("key" not in k and "key_hash" not in k for k in world.ok("GET", "/api/v1/keys", admin))
    assert world.call("POST", "/api/v1/keys/999/revoke", admin).status_code == 404
