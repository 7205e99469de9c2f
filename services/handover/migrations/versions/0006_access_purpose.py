"""access records carry their purpose

Revision ID: 0006
Revises: 0005
"""
from alembic import op

from stafett.migrations import add_access_purpose, drop_access_purpose


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    add_access_purpose(op)  # stafett/migrations.py


def downgrade():
    drop_access_purpose(op)
