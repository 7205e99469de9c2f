"""request_keys: the record of each state-changing RPC's request key (stafett.request_keys)

Revision ID: 0005
Revises: 0004
"""
from alembic import op

from stafett.migrations import create_request_keys, drop_request_keys


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    create_request_keys(op)


def downgrade():
    drop_request_keys(op)
