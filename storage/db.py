"""Engines and transactions for the two supported databases.

SQLite is the embedded default, so its connections get the settings a server database has by nature:
foreign keys enforced, WAL so readers do not block the writer, a busy timeout instead of instant
"database is locked", and real transactions (pysqlite's own BEGIN handling is switched off so that
SAVEPOINT works and a writer can take the lock up front with BEGIN IMMEDIATE).
"""
from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.checkpoint import Checkpointer

MIN_SQLITE = (3, 35, 0)  # RETURNING and ON CONFLICT
IMMEDIATE = {"sqlite_begin": "IMMEDIATE"}
PAGE_SIZE = 16384
# SQLite's own checkpoint in the committing connection, once the log holds this many pages (64 MiB
# at 16 KiB; SQLite's default is 1,000): the bound on the log, while the write group's background
# checkpoints (storage.checkpoint) do the copying off the writers' path
WAL_AUTOCHECKPOINT_PAGES = 4000
SQLITE_POOL_SIZE = 40


def make_engine(url: str, *, echo: bool = False, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine for `url` with the per-dialect hygiene above. Creates the SQLite file's folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old; punchaudit needs 3.35 or newer")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # as many pooled connections as the API's worker threads (AnyIO's default limit, 40): with
        # the default 5 kept, concurrent pushes opened and closed connections all the time, and each
        # new one costs its file, shared-memory map and PRAGMAs
        pooling = {} if not parsed.database or parsed.database == ":memory:" else dict(
            pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE)
        engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000}, **pooling)
        _install_sqlite_hooks(engine, busy_timeout_ms)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        # Takes effect only on a new, empty file (before WAL is switched on). With 16 KiB pages a
        # 10,000-punch batch inserts about 1.4x as fast as with the 4 KiB default (fewer, fuller index
        # pages written to the WAL); single-punch pushes pay ~10% for the larger pages they rewrite.
        cur.execute(f"PRAGMA page_size={PAGE_SIZE}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: bulk inserts touch four indexes
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def is_sqlite(bind: Engine | Connection | Session) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "sqlite"


def dialect_insert(conn: Connection, table: Table) -> Any:
    """INSERT for the connection's dialect, so a caller can add ON CONFLICT DO NOTHING (SQLite and
    PostgreSQL spell it the same way but SQLAlchemy has one construct each)."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, *, immediate: bool = False) -> Iterator[Connection]:
    """A Core connection in one transaction, committed on success. `immediate` takes SQLite's write
    lock at BEGIN so concurrent writers queue instead of failing mid-transaction."""
    with engine.connect() as conn:
        if immediate:
            conn = conn.execution_options(**IMMEDIATE)
        with conn.begin():
            yield conn


@contextmanager
def session_scope(engine: Engine, *, immediate: bool = False) -> Iterator[Session]:
    """An ORM session in one transaction, committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if immediate:
            session.connection(execution_options=IMMEDIATE)
        yield session


T = TypeVar("T")


class _Pending(Generic[T]):
    __slots__ = ("fn", "result", "error", "lead", "wake")

    def __init__(self, fn: Callable[[Connection], T]) -> None:
        self.fn = fn
        self.result: T | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.wake = threading.Event()


class WriteGroup:
    """Group commit for the write transactions of one SQLite engine in this process.

    SQLite has one writer at a time. When many threads each open their own BEGIN IMMEDIATE, all but
    one wait in SQLite's busy handler, which sleeps between retries, and each pays its own BEGIN and
    COMMIT: 200 terminals pushing single punches kept the lock idle most of the time. Here the first
    caller becomes the leader: it opens one transaction, runs every write queued so far in a
    SAVEPOINT of its own (a failing write is rolled back alone and gets its exception), commits once,
    and wakes the callers; then the oldest write queued meanwhile leads the next group, so no caller
    runs other callers' groups for long. A caller returns only after the commit that holds its write,
    so "acknowledged only after commit" holds for each one. Writes must not open transactions of their
    own on the same engine.
    """

    def __init__(self, engine: Engine, checkpointer: Checkpointer | None = None) -> None:
        self.engine = engine
        self.checkpointer = checkpointer  # asked for a background WAL checkpoint after each commit
        self._lock = threading.Lock()
        self._queue: list[_Pending[Any]] = []
        self._leading = False
        self._leader_thread: int | None = None
        self.groups = 0  # commits made, for tests and figures

    def run(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` inside a committed write transaction (shared with concurrent callers)."""
        if self._leader_thread == threading.get_ident():  # would wait for its own group forever
            raise RuntimeError("a write of a write group opened another write on the same engine")
        pending: _Pending[T] = _Pending(fn)
        with self._lock:
            self._queue.append(pending)
            if not self._leading:
                self._leading = pending.lead = True
        if not pending.lead:
            pending.wake.wait()
        if pending.lead:
            self._lead(pending)
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def _lead(self, leader: _Pending[Any]) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        self._leader_thread = threading.get_ident()
        try:
            if len(batch) == 1:  # alone: the transaction is the write's own, no savepoint needed
                with transaction(self.engine, immediate=True) as conn:
                    try:
                        leader.result = leader.fn(conn)
                    except BaseException as exc:
                        leader.error = exc
                        raise
                self._committed()
                return
            with transaction(self.engine, immediate=True) as conn:
                # savepoints straight on the driver connection: SQLAlchemy's begin_nested cost a
                # fifth of a single-punch push's time in the transaction
                raw = conn.connection.driver_connection
                for pending in batch:
                    raw.execute("SAVEPOINT pa_write")
                    try:
                        pending.result = pending.fn(conn)
                    except BaseException as exc:
                        raw.execute("ROLLBACK TO pa_write")
                        pending.error = exc
                    raw.execute("RELEASE pa_write")
            self._committed()
        except BaseException as exc:  # nothing of the group was committed
            for pending in batch:
                if pending.error is None:
                    pending.error, pending.result = exc, None
        finally:
            self._leader_thread = None
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._leading = False
                else:
                    successor.lead = True
            for pending in batch:
                if pending is not leader:
                    pending.wake.set()
            if successor is not None:
                successor.wake.set()

    def _committed(self) -> None:
        self.groups += 1
        if self.checkpointer is not None:
            self.checkpointer.request()


_write_groups: weakref.WeakKeyDictionary[Engine, WriteGroup] = weakref.WeakKeyDictionary()
_write_groups_guard = threading.Lock()


def write(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """Run `fn(conn)` in a write transaction and return its result once committed: grouped with
    concurrent writes of this process on SQLite (WriteGroup), its own transaction on PostgreSQL,
    whose row locks let writers run side by side."""
    if engine.dialect.name != "sqlite":
        with transaction(engine) as conn:
            return fn(conn)
    return write_group(engine).run(fn)


def write_group(engine: Engine) -> WriteGroup:
    """The SQLite engine's write group in this process; on a database file it checkpoints the WAL in
    the background."""
    with _write_groups_guard:
        group = _write_groups.get(engine)
        if group is None:
            path = engine.url.database
            on_file = bool(path) and path != ":memory:" and not path.startswith("file:")
            group = _write_groups[engine] = WriteGroup(engine, Checkpointer(path) if on_file else None)
        return group
