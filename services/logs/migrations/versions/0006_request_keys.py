"""request_keys: the record of each state-changing RPC's request key (stafett.request_keys)

Revision ID: 0006
Revises: 0005
"""
from alembic import op

from stafett.migrations import create_request_keys, drop_request_keys


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    create_request_keys(op)


def downgrade():
    drop_request_keys(op)
