"""footage pages filled to 50% on PostgreSQL (was 60%)

The retention sweep marks expired footage deleted with one UPDATE, and PostgreSQL writes the new
version of each row into the same page without touching the indexes (HOT) only if the page has room.
At 60% fill a backlog where two thirds of the rows expire at once (bench footage: 664,296 of 1,000,000)
left 24,840 rows without room: each of those went into all three indexes. At 50% every one was HOT.
Measured on this machine, fresh load and CHECKPOINT before each run, same session, interleaved:
the UPDATE took 2.8, 3.5, 3.0 s at 50% and 3.2, 4.7, 3.4 s at 60%; the table is 431 MB instead of 365 MB.
Pages written before this migration keep their fill until the table is rewritten (VACUUM FULL).
SQLite has no fill factor; nothing changes there.

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-26 04:20:00
"""
from __future__ import annotations

from alembic import op


revision = '0008'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE footage SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE footage SET (fillfactor = 60)")
