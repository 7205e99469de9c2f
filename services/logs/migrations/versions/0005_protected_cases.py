"""protected cases: the child's protective address code known to the log, access marks

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
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('child_protected', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    add_access_protected(op)  # stafett/migrations.py


def downgrade():
    drop_access_protected(op)
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.drop_column('child_protected')
