"""punch dedupe key led by local time: (device, local time, PIN, verify, status)

A terminal's batch holds many PINs at increasing times. With the key led by PIN each punch of a batch
went to a different leaf page of the index, so every 10,000-line batch rewrote most of it; led by time,
a batch lands on the index's last pages. The key is the same set of columns (a unique key's columns may
come in any order), so what counts as a duplicate does not change. The (pin, utc_time) index stays:
presence looks punches up by the PINs of a chunk of classes, and without it a chunk scanned all of its
terminals' punches (6x slower on SQLite in `python -m bench presence`).
Measured on fresh databases, 10,000-line ATTLOG batches (the benchmark's `_service_rate`, 3 runs each,
one session): 134,000-142,000 punches/s before, 148,000-153,000 after.

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-26 02:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0001'
branch_labels = ('punch_key',)
depends_on = None

_ZK_ONLY = dict(sqlite_where=sa.text('serial_no IS NULL'), postgresql_where=sa.text('serial_no IS NULL'))


def upgrade() -> None:
    op.drop_index('uq_punch_device_key', table_name='punch', **_ZK_ONLY)
    op.create_index('uq_punch_device_key', 'punch', ['device_id', 'local_time', 'pin', 'verify_code', 'status_code'],
                    unique=True, **_ZK_ONLY)


def downgrade() -> None:
    op.drop_index('uq_punch_device_key', table_name='punch', **_ZK_ONLY)
    op.create_index('uq_punch_device_key', 'punch', ['device_id', 'pin', 'local_time', 'verify_code', 'status_code'],
                    unique=True, **_ZK_ONLY)
