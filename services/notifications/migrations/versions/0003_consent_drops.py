"""deliveries and inbox items know their child and agency; dropped when consent ends

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('child_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('drop_reason', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_deliveries_child_id'), ['child_id'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('child_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('agency', sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column('dropped_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('drop_reason', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_child_id'), ['child_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_child_id'))
        batch_op.drop_column('drop_reason')
        batch_op.drop_column('dropped_at')
        batch_op.drop_column('agency')
        batch_op.drop_column('child_id')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_child_id'))
        batch_op.drop_column('drop_reason')
        batch_op.drop_column('child_id')
