"""request_keys: the record of each state-changing RPC's request key (stafett.request_keys)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'request_keys',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('entrypoint', sa.String(length=80), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_request_keys_created_at', 'request_keys', ['created_at'])


def downgrade():
    op.drop_index('ix_request_keys_created_at', table_name='request_keys')
    op.drop_table('request_keys')
