"""access records: the protected mark (a child with a protective address code)

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from stafett.migrations import add_access_protected, drop_access_protected


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    add_access_protected(op)  # stafett/migrations.py


def downgrade():
    drop_access_protected(op)
