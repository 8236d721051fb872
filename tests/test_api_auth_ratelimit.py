"""Per-key rate limit on the registry API: a runaway key gets 429 with Retry-After, others are unaffected."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from punchaudit.api.ratelimit import TokenBuckets
from punchaudit.config import load_settings
from storage.db import session_scope


def test_bucket_refills_at_the_configured_rate() -> None:
    buckets = TokenBuckets()
    assert [buckets.take(1, 60, now=100.0) for _ in range(60)] == [0.0] * 60  # a full minute's burst
    assert buckets.take(1, 60, now=100.0) == pytest.approx(1.0)  # then one a second
    assert buckets.take(2, 60, now=100.0) == 0.0  # another key has its own bucket
    assert buckets.take(1, 60, now=101.0) == 0.0
    assert buckets.take(1, 60, now=101.5) == pytest.approx(0.5)


def test_runaway_key_gets_429(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUNCHAUDIT_API_RATE_PER_MINUTE", "5")
    with session_scope(engine) as session:
        noisy = create_key(session, "noisy", "admin")
        calm = create_key(session, "calm", "inspector")
    client = TestClient(create_app(load_settings(), engine))
    codes = [client.get("/api/v1/institutions", headers={"X-API-Key": noisy}).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    refused = client.get("/api/v1/sites", headers={"X-API-Key": noisy})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert client.get("/api/v1/institutions", headers={"X-API-Key": calm}).status_code == 200
    assert client.get("/api/v1/institutions").status_code == 401  # no key: refused before any limit


def test_zero_switches_the_limit_off(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUNCHAUDIT_API_RATE_PER_MINUTE", "0")
    with session_scope(engine) as session:
        key = create_key(session, "bulk loader", "admin")
    client = TestClient(create_app(load_settings(), engine))
    assert {client.get("/api/v1/classes", headers={"X-API-Key": key}).status_code for _ in range(30)} == {200}
