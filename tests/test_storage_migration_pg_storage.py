"""PostgreSQL storage settings from migrations 0008 and 0009: footage pages filled to half, and large
values compressed with lz4 (when the server has it) and read back unchanged."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

pytestmark = pytest.mark.postgres


def test_footage_fillfactor_and_lz4_columns(_pg_engine: Engine | None) -> None:
    if _pg_engine is None:
        pytest.skip("PUNCHAUDIT_TEST_POSTGRES_URL is not set")
    with _pg_engine.connect() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE oid = 'footage'::regclass")).scalar()
        assert "fillfactor=50" in options
        lz4 = conn.execute(text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
        methods = dict(conn.execute(text(
            "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute "
            "WHERE attrelid IN ('raw_payload'::regclass, 'audit_log'::regclass, 'retention_deletion'::regclass) "
            "AND attname IN ('body', 'payload', 'gone_ids', 'pending_ids')")).all())
    assert methods == dict.fromkeys(
        ["raw_payload.body", "audit_log.payload", "retention_deletion.gone_ids", "retention_deletion.pending_ids"],
        "l" if lz4 else "")
    if not lz4:
        return
    # a value large enough to be compressed is stored with lz4 and comes back character for character
    payload = json.dumps({"ids": list(range(20_000))}, separators=(",", ":"))
    with _pg_engine.connect() as conn, conn.begin() as tx:
        conn.execute(text("INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) "
                          "VALUES (-1, now(), 't', 't', 't', :p, 'x', 'y')"), {"p": payload})
        stored, method, size = conn.execute(text(
            "SELECT payload, pg_column_compression(payload), pg_column_size(payload) FROM audit_log WHERE seq = -1")).one()
        tx.rollback()
    assert stored == payload and method == "lz4" and size < len(payload)
