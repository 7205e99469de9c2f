"""access records carry their purpose

Revision ID: 0009
Revises: 0008
"""
from alembic import op

from stafett.migrations import add_access_purpose, drop_access_purpose


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    add_access_purpose(op)  # stafett/migrations.py


def downgrade():
    drop_access_purpose(op)
