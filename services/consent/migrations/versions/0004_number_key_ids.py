"""national-id keys carry ids: persons.nin_key_id

Every number sealed so far was sealed, and indexed, with the one key there was; the
keyring reads that key as key "1" (services/consent/protection.py), so existing rows get
that id and stay readable.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nin_key_id', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_persons_nin_key_id'), ['nin_key_id'],
                              unique=False)
    op.execute("UPDATE persons SET nin_key_id = '1' WHERE nin_ciphertext IS NOT NULL")


def downgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_nin_key_id'))
        batch_op.drop_column('nin_key_id')
