"""keyset indexes: every list of a log is read a page at a time in its own order

Revision ID: 0004
Revises: 0003
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

#: (index, table, columns): the owner, then the list's order (services/logs/lists.py)
INDEXES = (
    ("ix_entries_log_order", "entries", ["log_id", "created_at", "id"]),
    ("ix_measures_log_order", "measures", ["log_id", "created_at", "id"]),
    ("ix_meetings_log_order", "meetings", ["log_id", "starts_at", "id"]),
    ("ix_proposals_log_order", "proposals", ["log_id", "created_at", "id"]),
    ("ix_evaluations_measure_order", "evaluations",
     ["measure_id", "evaluated_on", "created_at", "id"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
