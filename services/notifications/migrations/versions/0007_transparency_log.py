"""access log as a transparency log: leaf_index, tree state, signed checkpoints

Revision ID: 0007
Revises: 0006
"""
from alembic import op

from stafett.migrations import add_transparency_log, drop_transparency_log


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    add_transparency_log(op)  # stafett/migrations.py


def downgrade():
    drop_transparency_log(op)

