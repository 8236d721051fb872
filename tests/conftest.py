"""Shared fixtures: a migrated database per test on SQLite, and on PostgreSQL too for tests marked
`postgres` when PUNCHAUDIT_TEST_POSTGRES_URL is set.

SQLite: one file migrated with Alembic per session, copied for each test. PostgreSQL: one schema per
xdist worker, migrated once, truncated between tests.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from storage.db import make_engine
from storage.migrate import upgrade
from storage.schema.base import Base

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # CI clones next to shared/; a developer may run from elsewhere
    SHARED = Path(os.environ.get("PUNCHAUDIT_SHARED", "/work/shared"))
FACES = SHARED / "data" / "faces" / "ageitgey_face_recognition"
PG_URL = os.environ.get("PUNCHAUDIT_TEST_POSTGRES_URL")

os.environ.setdefault("PUNCHAUDIT_SECRET_KEY", "test-secret-key-0123456789")
os.environ.setdefault("PUNCHAUDIT_INGEST__DEVICE_CACHE_SECONDS", "0")  # tests change devices between pushes
os.environ.setdefault("PUNCHAUDIT_FACES__BACKGROUND", "false")  # face tests start the verifier themselves


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames:
        kinds = ["sqlite"]
        if PG_URL and metafunc.definition.get_closest_marker("postgres"):
            kinds.append("postgresql")
        metafunc.parametrize("db_kind", kinds)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_engine(worker_id: str) -> Iterator[Engine | None]:
    if not PG_URL:
        yield None
        return
    schema = f"pa_test_{worker_id}_{os.getpid()}"  # several suites may share one server
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"}, pool_size=10, max_overflow=20)
    upgrade(engine)
    yield engine
    engine.dispose()
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def engine(db_kind: str, tmp_path: Path, _sqlite_template: Path, _pg_engine: Engine | None) -> Iterator[Engine]:
    """A migrated, empty database."""
    if db_kind == "sqlite":
        path = tmp_path / "punchaudit.db"
        shutil.copyfile(_sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
        return
    assert _pg_engine is not None
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with _pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield _pg_engine


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """The xdist worker name, or 'main' without xdist."""
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner whose commands use the test database (the CLI caches settings and engine)."""
    from punchaudit.cli import common

    monkeypatch.setenv("PUNCHAUDIT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    common.settings.cache_clear()
    common.engine.cache_clear()
    yield CliRunner()
    common.engine.cache_clear()
    common.settings.cache_clear()


@pytest.fixture
def faces_dir() -> Path:
    if not FACES.exists():
        pytest.fail(f"face test data not found at {FACES}; set PUNCHAUDIT_SHARED to the shared/ folder")
    return FACES
