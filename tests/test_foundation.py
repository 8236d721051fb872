"""Config, resident IDs, log redaction and the migrated schema."""
from __future__ import annotations

import json
import logging
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from attendance import resident_id as rid
from punchaudit import logs
from punchaudit.config import ConfigError, load_settings
from storage.schema.base import Base


def test_env_overrides_yaml_and_names_bad_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUNCHAUDIT_PRESENCE__LATE_GRACE_MINUTES", "7")
    monkeypatch.setenv("PUNCHAUDIT_DATABASE_URL", "sqlite:///elsewhere.db")
    s = load_settings()
    assert s.presence.late_grace_minutes == 7
    assert s.database_url == "sqlite:///elsewhere.db"
    monkeypatch.setenv("PUNCHAUDIT_FOOTAGE__RETENTION_DAYS", "700")
    with pytest.raises(ConfigError, match=r"footage\.retention_days.*PUNCHAUDIT_FOOTAGE__RETENTION_DAYS.*two years"):
        load_settings()


def test_resident_id_check_digit() -> None:
    # the GB 11643 standard's own example
    assert rid.check_digit("11010519491231002") == "X"
    assert rid.normalize("11010519491231002x") == "11010519491231002X"
    with pytest.raises(rid.InvalidResidentId, match="check digit"):
        rid.normalize("110105194912310021")
    with pytest.raises(rid.InvalidResidentId, match="birth date"):
        month13 = "11010519491331002"
        rid.normalize(month13 + rid.check_digit(month13))
    made = rid.make("140202", date(1990, 5, 17), 123)
    assert rid.is_valid(made) and rid.birth_date(made) == date(1990, 5, 17)
    assert rid.gender(made) == "M"  # sequence 123: odd 17th digit
    assert rid.mask(made) == made[:4] + "*" * 10 + made[14:]
    assert rid.keyed_hash(made, b"k1") != rid.keyed_hash(made, b"k2")


def test_error_message_never_contains_the_number() -> None:
    bad = "110105194912310021"
    with pytest.raises(rid.InvalidResidentId) as info:
        rid.normalize(bad)
    assert bad not in str(info.value)


def test_logs_redact_resident_ids(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "json")
    logging.getLogger("t").info("trainee 11010519491231002X enrolled", extra={"id_number": "11010519491231002X"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "11010519491231002X" not in line
    entry = json.loads(line)
    assert entry["event"] == "trainee 1101**********002X enrolled"
    assert entry["id_number"] == "1101**********002X"


@pytest.mark.postgres
def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_connections_get_server_like_settings(tmp_path: Path) -> None:
    """WAL, enforced foreign keys, a busy timeout and 16 KiB pages on a new file; an existing file
    keeps the page size it was created with."""
    from storage.db import PAGE_SIZE, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                   for p in ("journal_mode", "foreign_keys", "busy_timeout", "page_size")}
    engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 1234, "page_size": PAGE_SIZE}

    old = tmp_path / "old.db"
    con = sqlite3.connect(old)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE t (x)")
    con.close()
    engine = make_engine(f"sqlite:///{old}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
