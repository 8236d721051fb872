"""The OpenAPI schema is served for developers and can be switched off in production."""
from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from punchaudit.api.app import create_app
from punchaudit.config import load_settings


def test_openapi_lists_terminal_and_rest_paths(engine: Engine) -> None:
    client = TestClient(create_app(load_settings(), engine))
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/iclock/cdata", "/iclock/getrequest", "/ISAPI/events/{serial}", "/api/v1/ingest/sheets",
                 "/api/v1/quarantine", "/api/v1/devices"):
        assert path in paths


def test_docs_can_be_switched_off(engine: Engine) -> None:
    client = TestClient(create_app(load_settings(public_docs=False), engine))
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/docs").status_code == 404
