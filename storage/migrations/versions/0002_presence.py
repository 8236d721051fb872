"""presence: class schedules and versioned presence runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = ('presence',)
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('class_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('days_json', sa.Text(), nullable=False),
    sa.Column('sessions_json', sa.Text(), nullable=False),
    sa.Column('rest_days_json', sa.Text(), nullable=False),
    sa.Column('holidays_json', sa.Text(), nullable=False),
    sa.Column('rule_json', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_class_schedule_class_id_training_class')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_schedule')),
    sa.UniqueConstraint('class_id', name=op.f('uq_class_schedule_class_id'))
    )
    op.create_table('presence_run',
    sa.Column('id', _BIGID, nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('rule_json', sa.Text(), nullable=False),
    sa.Column('schedule_json', sa.Text(), nullable=False),
    sa.Column('inputs_hash', sa.String(length=64), nullable=False),
    sa.Column('punch_count', sa.Integer(), nullable=False),
    sa.Column('trainee_count', sa.Integer(), nullable=False),
    sa.Column('day_count', sa.Integer(), nullable=False),
    sa.Column('session_count', sa.Integer(), nullable=False),
    sa.Column('has_records', sa.Boolean(), nullable=False),
    sa.Column('days_with_records', sa.Integer(), nullable=False),
    sa.Column('coverage', sa.Float(), nullable=False),
    sa.Column('present_cells', sa.Integer(), nullable=False),
    sa.Column('day_coverage_json', sa.Text(), nullable=False),
    sa.Column('session_coverage_json', sa.Text(), nullable=False),
    sa.Column('missing_sessions_json', sa.Text(), nullable=False),
    sa.Column('trainee_ids', sa.LargeBinary(), nullable=False),
    sa.Column('codes', sa.LargeBinary(), nullable=False),
    sa.Column('session_codes', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_presence_run_class_id_training_class')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_presence_run')),
    sa.UniqueConstraint('class_id', 'version', name=op.f('uq_presence_run_class_id_version'))
    )
    with op.batch_alter_table('presence_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_presence_run_class_id'), ['class_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('presence_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_presence_run_class_id'))
    op.drop_table('presence_run')
    op.drop_table('class_schedule')
