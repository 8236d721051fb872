"""Config, resident IDs, log redaction and the migrated schema."""
from __future__ import annotations

import json
import logging
from datetime import date

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
