"""The append-only, hash-chained audit log: deletions, holds, releases, integrity failures, alarms.

Each entry's hash is SHA-256 over the previous entry's hash followed by the canonical JSON of the
entry (sorted keys, no spaces, UTF-8), so changing, removing or reordering any entry breaks every
later hash. The database refuses UPDATE and DELETE on the table (triggers, migration 0004); someone
with enough rights to drop the triggers could still rewrite the whole chain consistently, which is why
the head (seq + hash) is exported outside the database: a later chain that does not contain that head
was rewritten or truncated.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, text  # noqa: F401 (select re-exported for tests)

from storage.schema.footage import AuditLog

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x70A_A0D1  # pg_advisory_xact_lock key serialising appends on PostgreSQL
T = AuditLog.__table__


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str,
               payload_json: str) -> str:
    body = canonical_json({"seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": actor,
                           "action": action, "subject": subject, "payload": payload_json})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


def lock(conn: Connection) -> None:
    """Serialise with every other audited change until the caller's transaction ends. Appends must
    see the latest head, and the retention sweep must not miss a hold committed while it runs.
    PostgreSQL: a transaction-scoped advisory lock (re-entrant within the transaction); SQLite: the
    writers already serialise on the database lock (BEGIN IMMEDIATE, storage.db.transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


_lock = lock


def head(conn: Connection) -> Head | None:
    row = conn.execute(select(T.c.seq, T.c.hash).order_by(T.c.seq.desc()).limit(1)).first()
    return Head(row.seq, row.hash) if row else None


def last_entry(conn: Connection, action: str) -> Any:
    return conn.execute(select(T).where(T.c.action == action).order_by(T.c.seq.desc()).limit(1)).first()


def newest_at(conn: Connection) -> datetime | None:
    return conn.execute(select(func.max(T.c.at))).scalar()


def append(conn: Connection, *, actor: str, action: str, subject: str, payload: dict[str, Any] | None = None,
           at: datetime) -> Head:
    """Add one entry in the caller's transaction and return the new head."""
    return append_many(conn, [(actor, action, subject, payload or {})], at=at)


def append_many(conn: Connection, entries: list[tuple[str, str, str, dict[str, Any]]], *, at: datetime) -> Head:
    """Add several entries (actor, action, subject, payload) at one time, chained in order."""
    _lock(conn)
    last = head(conn)
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    at = at.replace(tzinfo=None)
    rows = []
    for actor, action, subject, payload in entries:
        seq += 1
        payload_json = canonical_json(payload)
        digest = entry_hash(prev, seq, at, actor, action, subject, payload_json)
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                     "payload": payload_json, "prev_hash": prev, "hash": digest})
        prev = digest
    if rows:
        conn.execute(insert(T), rows)
    return Head(seq, prev)


@dataclass
class Verification:
    entries: int = 0
    head: Head | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(conn: Connection, batch: int = 5000) -> Iterator[Any]:
    after = 0
    while True:
        rows = conn.execute(select(T).where(T.c.seq > after).order_by(T.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def verify(conn: Connection, anchor: Head | None = None, max_problems: int = 20) -> Verification:
    """Walk the whole chain. With `anchor` (an exported head), also check that the chain still holds
    that entry unchanged, which detects a consistent rewrite or a truncated tail."""
    result = Verification()
    prev, expected_seq = GENESIS, 1
    anchor_seen = False
    for row in _rows(conn):
        result.entries += 1
        if row.seq != expected_seq:
            result.problems.append(f"entry {row.seq}: expected sequence {expected_seq} (entries removed or reordered)")
        if row.prev_hash != prev:
            result.problems.append(f"entry {row.seq}: prev_hash does not match the hash of the entry before it")
        digest = entry_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject, row.payload)
        if digest != row.hash:
            result.problems.append(f"entry {row.seq}: content does not match its hash (entry modified)")
        if anchor is not None and row.seq == anchor.seq:
            anchor_seen = True
            if row.hash != anchor.hash:
                result.problems.append(
                    f"entry {row.seq}: hash differs from the exported head (the log was rewritten)")
        prev, expected_seq = row.hash, row.seq + 1
        result.head = Head(row.seq, row.hash)
        if len(result.problems) >= max_problems:
            result.problems.append("stopped after too many problems")
            return result
    if anchor is not None and anchor.seq > 0 and not anchor_seen:
        result.problems.append(
            f"the exported head (entry {anchor.seq}) is no longer in the log (the log was truncated)")
    return result


def export_head(conn: Connection, path: Path, *, now: datetime) -> Head | None:
    """Write the current head to `path` (JSON). Keep the file outside the database host."""
    current = head(conn)
    doc = {"seq": current.seq if current else 0, "hash": current.hash if current else GENESIS,
           "exported_at": now.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return current


def read_head(path: Path) -> Head:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Head(int(doc["seq"]), str(doc["hash"]))
