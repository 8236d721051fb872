"""claims: employment and certificate records, final assessment, versioned claims with lines and events

Also installs triggers: a claim that has left the draft state keeps its amounts (total_fen, version,
class, kind, payable) and its lines cannot be inserted, changed or deleted; such a claim cannot be
deleted either. Recomputing makes a new version instead.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-25 17:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0001'
branch_labels = ('claims',)
depends_on = None

FROZEN = "claim is frozen once submitted: build a new version instead"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER claim_frozen_update BEFORE UPDATE ON claim
    WHEN OLD.state <> 'draft' AND (NEW.total_fen IS NOT OLD.total_fen OR NEW.version IS NOT OLD.version
        OR NEW.class_id IS NOT OLD.class_id OR NEW.kind IS NOT OLD.kind OR NEW.payable IS NOT OLD.payable)
    BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    f"""CREATE TRIGGER claim_frozen_delete BEFORE DELETE ON claim WHEN OLD.state <> 'draft'
    BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    f"""CREATE TRIGGER claim_line_frozen_insert BEFORE INSERT ON claim_line
    WHEN (SELECT state FROM claim WHERE id = NEW.claim_id) <> 'draft'
    BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    f"""CREATE TRIGGER claim_line_frozen_update BEFORE UPDATE ON claim_line
    WHEN (SELECT state FROM claim WHERE id = OLD.claim_id) <> 'draft'
        OR (SELECT state FROM claim WHERE id = NEW.claim_id) <> 'draft'
    BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
    f"""CREATE TRIGGER claim_line_frozen_delete BEFORE DELETE ON claim_line
    WHEN (SELECT state FROM claim WHERE id = OLD.claim_id) <> 'draft'
    BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END""",
]

PG_TRIGGERS = [
    f"""CREATE FUNCTION claim_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.state <> 'draft' THEN
            IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{FROZEN}'; END IF;
            IF NEW.total_fen IS DISTINCT FROM OLD.total_fen OR NEW.version IS DISTINCT FROM OLD.version
               OR NEW.class_id IS DISTINCT FROM OLD.class_id OR NEW.kind IS DISTINCT FROM OLD.kind
               OR NEW.payable IS DISTINCT FROM OLD.payable THEN
                RAISE EXCEPTION '{FROZEN}';
            END IF;
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER claim_frozen BEFORE UPDATE OR DELETE ON claim FOR EACH ROW EXECUTE FUNCTION claim_frozen()""",
    f"""CREATE FUNCTION claim_line_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' AND (SELECT state FROM claim WHERE id = OLD.claim_id) <> 'draft' THEN
            RAISE EXCEPTION '{FROZEN}';
        END IF;
        IF TG_OP <> 'DELETE' AND (SELECT state FROM claim WHERE id = NEW.claim_id) <> 'draft' THEN
            RAISE EXCEPTION '{FROZEN}';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER claim_line_frozen BEFORE INSERT OR UPDATE OR DELETE ON claim_line
    FOR EACH ROW EXECUTE FUNCTION claim_line_frozen()""",
]


def upgrade() -> None:
    op.create_table('assessment_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('score', sa.String(length=16), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_assessment_result_class_id_training_class')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainee.id'], name=op.f('fk_assessment_result_trainee_id_trainee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_result')),
    sa.UniqueConstraint('class_id', 'trainee_id', name=op.f('uq_assessment_result_class_id_trainee_id'))
    )
    with op.batch_alter_table('assessment_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_result_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_result_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('certification_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('certificate_no', sa.String(length=64), nullable=False),
    sa.Column('occupation', sa.String(length=100), nullable=True),
    sa.Column('issued_date', sa.Date(), nullable=False),
    sa.Column('first_time', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_certification_record_class_id_training_class')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainee.id'], name=op.f('fk_certification_record_trainee_id_trainee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification_record')),
    sa.UniqueConstraint('certificate_no', name=op.f('uq_certification_record_certificate_no'))
    )
    with op.batch_alter_table('certification_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certification_record_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certification_record_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('payable', sa.Boolean(), nullable=False),
    sa.Column('presence_run_id', sa.Integer(), nullable=True),
    sa.Column('has_punch_records', sa.Boolean(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('inspection_decision', sa.String(length=8), nullable=True),
    sa.Column('scheduled_days', sa.Integer(), nullable=False),
    sa.Column('passed_count', sa.Integer(), nullable=False),
    sa.Column('employed_count', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'submitted', 'approved', 'rejected')", name=op.f('ck_claim_state')),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_claim_class_id_training_class')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_claim_institution_id_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim')),
    sa.UniqueConstraint('class_id', 'version', name=op.f('uq_claim_class_id_version'))
    )
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_institution_id'), ['institution_id'], unique=False)

    op.create_table('employment_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=True),
    sa.Column('employer', sa.String(length=200), nullable=False),
    sa.Column('contract_start', sa.Date(), nullable=False),
    sa.Column('contract_months', sa.Integer(), nullable=False),
    sa.Column('evidence_ref', sa.String(length=400), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_employment_record_class_id_training_class')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainee.id'], name=op.f('fk_employment_record_trainee_id_trainee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employment_record')),
    sa.UniqueConstraint('trainee_id', 'employer', 'contract_start', name=op.f('uq_employment_record_trainee_id_employer_contract_start'))
    )
    with op.batch_alter_table('employment_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employment_record_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_employment_record_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('claim_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_claim_event_claim_id_claim')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_event'))
    )
    with op.batch_alter_table('claim_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_event_claim_id'), ['claim_id'], unique=False)

    op.create_table('claim_line',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('base_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reasons', sa.String(length=400), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('certificate_no', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_claim_line_claim_id_claim')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainee.id'], name=op.f('fk_claim_line_trainee_id_trainee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_line'))
    )
    with op.batch_alter_table('claim_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_line_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_line_trainee_id'), ['trainee_id'], unique=False)
    statements = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else PG_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("claim_frozen_update", "claim_frozen_delete", "claim_line_frozen_insert",
                     "claim_line_frozen_update", "claim_line_frozen_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS claim_line_frozen ON claim_line")
        op.execute("DROP TRIGGER IF EXISTS claim_frozen ON claim")
        op.execute("DROP FUNCTION IF EXISTS claim_line_frozen()")
        op.execute("DROP FUNCTION IF EXISTS claim_frozen()")

    with op.batch_alter_table('claim_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_line_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_claim_line_claim_id'))

    op.drop_table('claim_line')
    with op.batch_alter_table('claim_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_event_claim_id'))

    op.drop_table('claim_event')
    with op.batch_alter_table('employment_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employment_record_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_employment_record_class_id'))

    op.drop_table('employment_record')
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_institution_id'))
        batch_op.drop_index(batch_op.f('ix_claim_class_id'))

    op.drop_table('claim')
    with op.batch_alter_table('certification_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certification_record_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_certification_record_class_id'))

    op.drop_table('certification_record')
    with op.batch_alter_table('assessment_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_result_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_result_class_id'))

    op.drop_table('assessment_result')
