"""protected cases: the access records' mark, and which children are protected

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('protected', sa.Boolean(), nullable=True))
    op.create_table('child_facts',
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('child_id')
    )


def downgrade():
    op.drop_table('child_facts')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_column('protected')
