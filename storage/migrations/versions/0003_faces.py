"""faces: face enrolments, verification results of punch photos, verification jobs

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 17:25:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0001'
branch_labels = ('faces',)
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('face_enrolment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.LargeBinary(), nullable=False),
    sa.Column('box_top', sa.Integer(), nullable=False),
    sa.Column('box_right', sa.Integer(), nullable=False),
    sa.Column('box_bottom', sa.Integer(), nullable=False),
    sa.Column('box_left', sa.Integer(), nullable=False),
    sa.Column('box_px', sa.Integer(), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=False),
    sa.Column('photo', sa.LargeBinary(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('replaced_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainee.id'], name=op.f('fk_face_enrolment_trainee_id_trainee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_enrolment'))
    )
    with op.batch_alter_table('face_enrolment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_enrolment_photo_sha256'), ['photo_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_face_enrolment_trainee_id'), ['trainee_id'], unique=False)
        batch_op.create_index('uq_face_enrolment_active', ['trainee_id'], unique=True,
                              sqlite_where=sa.text('active = 1'), postgresql_where=sa.text('active'))

    op.create_table('face_job',
    sa.Column('punch_photo_id', _BIGID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['punch_photo_id'], ['punch_photo.id'], name=op.f('fk_face_job_punch_photo_id_punch_photo')),
    sa.PrimaryKeyConstraint('punch_photo_id', name=op.f('pk_face_job'))
    )
    with op.batch_alter_table('face_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_job_status'), ['status'], unique=False)

    op.create_table('face_verification',
    sa.Column('id', _BIGID, nullable=False),
    sa.Column('punch_photo_id', _BIGID, nullable=False),
    sa.Column('punch_id', _BIGID, nullable=True),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('distance', sa.Float(), nullable=True),
    sa.Column('nearest_other_trainee_id', sa.Integer(), nullable=True),
    sa.Column('nearest_other_distance', sa.Float(), nullable=True),
    sa.Column('face_count', sa.Integer(), nullable=False),
    sa.Column('face_px', sa.Integer(), nullable=True),
    sa.Column('encoding', sa.LargeBinary(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('tolerance', sa.Float(), nullable=False),
    sa.Column('review_upper', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['face_enrolment.id'], name=op.f('fk_face_verification_enrolment_id_face_enrolment')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_face_verification_institution_id_institution')),
    sa.ForeignKeyConstraint(['nearest_other_trainee_id'], ['trainee.id'], name=op.f('fk_face_verification_nearest_other_trainee_id_trainee')),
    sa.ForeignKeyConstraint(['punch_id'], ['punch.id'], name=op.f('fk_face_verification_punch_id_punch')),
    sa.ForeignKeyConstraint(['punch_photo_id'], ['punch_photo.id'], name=op.f('fk_face_verification_punch_photo_id_punch_photo')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainee.id'], name=op.f('fk_face_verification_trainee_id_trainee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_verification')),
    sa.UniqueConstraint('punch_photo_id', name=op.f('uq_face_verification_punch_photo_id'))
    )
    with op.batch_alter_table('face_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_verification_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_face_verification_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_face_verification_punch_id'), ['punch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_face_verification_trainee_id'), ['trainee_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('face_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_verification_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_face_verification_punch_id'))
        batch_op.drop_index(batch_op.f('ix_face_verification_outcome'))
        batch_op.drop_index(batch_op.f('ix_face_verification_institution_id'))
    op.drop_table('face_verification')
    with op.batch_alter_table('face_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_job_status'))
    op.drop_table('face_job')
    with op.batch_alter_table('face_enrolment', schema=None) as batch_op:
        batch_op.drop_index('uq_face_enrolment_active', sqlite_where=sa.text('active = 1'),
                            postgresql_where=sa.text('active'))
        batch_op.drop_index(batch_op.f('ix_face_enrolment_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_face_enrolment_photo_sha256'))
    op.drop_table('face_enrolment')
