"""population register: register facts on persons, guardianship history, protected marks

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

from stafett.migrations import add_access_protected, drop_access_protected


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('protection', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('municipality', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True))
    # persons registered before the register port were registered in full
    op.execute("UPDATE persons SET registered_at = created_at WHERE kind IN ('child', 'guardian')")
    op.create_table('guardianship_changes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('guardian_id', sa.String(length=36), nullable=False),
    sa.Column('change', sa.String(length=10), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['persons.id'], ),
    sa.ForeignKeyConstraint(['guardian_id'], ['persons.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('guardianship_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardianship_changes_child_id'), ['child_id'],
                              unique=False)
    add_access_protected(op)  # stafett/migrations.py


def downgrade():
    drop_access_protected(op)
    with op.batch_alter_table('guardianship_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardianship_changes_child_id'))
    op.drop_table('guardianship_changes')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('registered_at')
        batch_op.drop_column('municipality')
        batch_op.drop_column('protection')
