"""consent projection keeps the consent service's decision (coverage), not its records

The projection stored each consent's status, scope and validity and judged them itself;
it now keeps what the consent service decided a consent covers, day by day (``coverage``,
stafett/coverage.py). Existing rows get the decision the consent service made from the
same values (an active consent covers its scope from its first to its last day; any other
covers nobody), and every child's projection is checked with the consent service again at
its next use.

Revision ID: 0008
Revises: 0007
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

PROJECTION = sa.table("consent_projection", sa.column("consent_id", sa.String),
                      sa.column("status", sa.String), sa.column("coverage", sa.JSON),
                      sa.column("scope_agencies", sa.JSON),
                      sa.column("scope_agency_types", sa.JSON),
                      sa.column("valid_from", sa.Date), sa.column("valid_until", sa.Date))


def _listed(value) -> list:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def _day(value) -> str:
    return value if isinstance(value, str) else value.isoformat()


def upgrade():
    op.add_column("consent_projection", sa.Column("coverage", sa.JSON(), nullable=True))
    bind = op.get_bind()
    for row in bind.execute(sa.select(PROJECTION)).mappings().all():
        coverage = ([{"from": _day(row["valid_from"]), "until": _day(row["valid_until"]),
                      "agencies": sorted(_listed(row["scope_agencies"])),
                      "agency_types": sorted(_listed(row["scope_agency_types"]))}]
                    if row["status"] == "active" else [])
        bind.execute(PROJECTION.update().where(PROJECTION.c.consent_id == row["consent_id"])
                     .values(coverage=coverage))
    with op.batch_alter_table("consent_projection") as batch:
        for column in ("scope_agencies", "scope_agency_types", "valid_from", "valid_until"):
            batch.drop_column(column)
    op.execute("DELETE FROM consent_projection_state")  # ask the owner again at next use


def downgrade():
    # the old columns cannot be rebuilt from a decision: the projection is emptied and
    # refilled from the consent service at each child's next use
    op.execute("DELETE FROM consent_projection")
    with op.batch_alter_table("consent_projection") as batch:
        batch.add_column(sa.Column("scope_agencies", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("scope_agency_types", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_until", sa.Date(), nullable=True))
        batch.drop_column("coverage")
    op.execute("DELETE FROM consent_projection_state")
