"""large text and byte values compressed with lz4 on PostgreSQL (was pglz)

PostgreSQL compresses a value of more than about 2 kB before storing it out of line (TOAST), with
pglz by default. The retention sweep writes audit entries listing up to 10,000 footage ids each and a
deletion record listing the files already gone, and every terminal push stores its raw body: with
pglz, the backlog sweep of 664,296 expired rows spent 0.17 s inserting its 67 audit entries and
0.15-0.18 s writing the deletion record; with lz4, 0.03 s and 0.03-0.04 s (bench footage, same
session, interleaved). Values written before keep their compression; both read the same. Servers
built without lz4 keep pglz. SQLite stores values as they are; nothing changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_COLUMNS = (("raw_payload", "body"), ("audit_log", "payload"), ("retention_deletion", "gone_ids"),
            ("retention_deletion", "pending_ids"))


def _lz4_available() -> bool:
    return bool(op.get_bind().execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar())


def _set(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql" or not _lz4_available():
        return
    for table, column in _COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")
