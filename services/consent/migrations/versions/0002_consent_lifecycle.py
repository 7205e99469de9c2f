"""consent lifecycle: party, paper, supersedes, expiry warning, version

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
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consenting_party', sa.String(length=10), nullable=False, server_default='guardians'))
        batch_op.add_column(sa.Column('paper_kind', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('supersedes_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('expiring_notified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))



def downgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('expiring_notified_at')
        batch_op.drop_column('supersedes_id')
        batch_op.drop_column('paper_kind')
        batch_op.drop_column('consenting_party')

