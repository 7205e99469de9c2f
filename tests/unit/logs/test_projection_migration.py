"""Revision 0008: the consent projection keeps the consent service's decision. Rows written
before it get the decision the consent service made from the same values, and every
child's projection is checked with the owner again."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from stafett.coverage import Coverage
from stafett.db import make_engine

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "logs" / "migrations"


def _alembic(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_rows_before_0008_get_the_owner_s_decision_and_are_checked_again(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'logs.db'}")
    with engine.begin() as connection:
        command.upgrade(_alembic(connection), "0007")
        connection.execute(text(
            "INSERT INTO consent_projection (consent_id, child_id, status, scope_agencies, "
            "scope_agency_types, valid_from, valid_until, updated_at) VALUES "
            "('k-1', 'c-1', 'active', '[\"974760673\"]', '[\"ppt\"]', '2026-01-05', "
            "'2026-06-30', '2026-01-05 10:00:00'), "
            "('k-2', 'c-1', 'withdrawn', '[\"912345678\"]', '[]', '2026-01-05', "
            "'2026-06-30', '2026-01-05 10:00:00')"))
        connection.execute(text("INSERT INTO consent_projection_state (child_id, verified_at) "
                                "VALUES ('c-1', '2026-01-05 10:00:00')"))
    with engine.begin() as connection:
        command.upgrade(_alembic(connection), "head")
        rows = dict(connection.execute(text(
            "SELECT consent_id, coverage FROM consent_projection")).all())
        states = connection.execute(text("SELECT count(*) FROM consent_projection_state"))
        assert states.scalar() == 0
    columns = {c["name"] for c in inspect(engine).get_columns("consent_projection")}
    assert columns == {"consent_id", "child_id", "status", "coverage", "updated_at"}
    active, withdrawn = (Coverage.from_data(json.loads(rows[k])) for k in ("k-1", "k-2"))
    assert active.covers("974760673", None, date(2026, 1, 5))
    assert active.covers("999999999", "ppt", date(2026, 6, 30))
    assert not active.covers("974760673", None, date(2026, 7, 1))
    assert withdrawn == Coverage()
    with engine.begin() as connection:
        command.downgrade(_alembic(connection), "0007")
        assert connection.execute(text("SELECT count(*) FROM consent_projection")).scalar() == 0
    engine.dispose()
