"""handover workflow: consent step, acceptance, application, expiry, the summary

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_for_log', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('child_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('from_agency_type', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('to_agency_type', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('to_person_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('requested_by_person_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('consent_person_ids', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('offered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('accepted_by_person_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('new_stafettholder_person_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('receiving_person_ids', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reason_code', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('apply_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_apply_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.alter_column('transition',
               existing_type=sa.VARCHAR(length=30),
               type_=sa.String(length=40),
               existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_handovers_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_requested_by_person_id'), ['requested_by_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_status'), ['status'], unique=False)
        batch_op.create_unique_constraint('uq_handovers_open_for_log', ['open_for_log'])

    # rows from before the workflow: mark the open ones, and who asked
    op.execute("UPDATE handovers SET open_for_log = log_id "
               "WHERE status IN ('consent_pending', 'awaiting_acceptance', 'accepted')")
    op.execute("UPDATE handovers SET requested_by_person_id = substr(requested_by, 8) "
               "WHERE requested_by LIKE 'person:%'")
    op.execute("UPDATE handovers SET offered_at = created_at WHERE status <> 'consent_pending'")


def downgrade():
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.drop_constraint('uq_handovers_open_for_log', type_='unique')
        batch_op.drop_index(batch_op.f('ix_handovers_status'))
        batch_op.drop_index(batch_op.f('ix_handovers_requested_by_person_id'))
        batch_op.drop_index(batch_op.f('ix_handovers_child_id'))
        batch_op.alter_column('transition',
               existing_type=sa.String(length=40),
               type_=sa.VARCHAR(length=30),
               existing_nullable=False)
        batch_op.drop_column('version')
        batch_op.drop_column('last_apply_error')
        batch_op.drop_column('apply_attempts')
        batch_op.drop_column('reason_code')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('completed_at')
        batch_op.drop_column('receiving_person_ids')
        batch_op.drop_column('new_stafettholder_person_id')
        batch_op.drop_column('accepted_by_person_id')
        batch_op.drop_column('accepted_at')
        batch_op.drop_column('offered_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('summary')
        batch_op.drop_column('consent_person_ids')
        batch_op.drop_column('note')
        batch_op.drop_column('requested_by_person_id')
        batch_op.drop_column('to_person_id')
        batch_op.drop_column('to_agency_type')
        batch_op.drop_column('from_agency_type')
        batch_op.drop_column('child_id')
        batch_op.drop_column('open_for_log')

