"""footage_digest: the BLAKE3 digest the nightly verification re-checks

Re-hashing with SHA-256 is bound by the CPU on a 2-core server (0.49 CPU-s per GB for the hash alone,
with SHA-NI), so the nightly verification could not keep up with the disk. Registration now also
computes BLAKE3 (0.10 CPU-s per GB here) from the same read, and verification re-checks that.
Existing footage gets its BLAKE3 at its next verification, from the read that checks its SHA-256; no
file is read by this migration. A table of its own, not a column of `footage`: the retention sweep
updates footage rows in bulk and wider rows would cost it pages (and HOT room on PostgreSQL).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 06:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('footage_digest',
    sa.Column('footage_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('blake3', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['footage_id'], ['footage.id'], name=op.f('fk_footage_digest_footage_id_footage')),
    sa.PrimaryKeyConstraint('footage_id', name=op.f('pk_footage_digest'))
    )


def downgrade() -> None:
    op.drop_table('footage_digest')
