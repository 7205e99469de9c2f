"""protected cases: the access records' mark, and which children are protected

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

from stafett.migrations import add_access_protected, drop_access_protected


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    add_access_protected(op)  # stafett/migrations.py
    op.create_table('child_facts',
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('child_id')
    )


def downgrade():
    op.drop_table('child_facts')
    drop_access_protected(op)
