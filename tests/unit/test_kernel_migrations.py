"""The kernel's own tables (outbox, inbox, access_log) are migrated by steps written once in
stafett/migrations.py, which every service's revisions call under their own revision ids."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import inspect

import stafett.audit  # noqa: F401  (access_log joins the kernel metadata)
import stafett.request_keys  # noqa: F401  (request_keys joins the kernel metadata)
import stafett.transparency  # noqa: F401  (and the transparency log's tables)
from stafett.db import make_engine, migrate
from stafett.events import kernel_metadata

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("consent", "logs", "handover", "notifications")
KERNEL_TABLES = ("access_log", "inbox", "outbox", "request_keys", "audit_tree_state",
                 "audit_checkpoint")


def _columns(engine, table):
    return {c["name"]: (type(c["type"]).__name__, c["nullable"])
            for c in inspect(engine).get_columns(table)}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """Each service's database, migrated to head (SQLite)."""
    engines = {}
    for service in SERVICES:
        path = tmp_path_factory.mktemp(service) / f"{service}.db"
        engines[service] = make_engine(f"sqlite:///{path}")
        migrate(engines[service], ROOT / "services" / service / "migrations")
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.mark.parametrize("table", KERNEL_TABLES)
def test_every_service_has_the_kernel_tables_as_the_kernel_declares_them(migrated, table):
    declared = {c.name for c in kernel_metadata.tables[table].columns}
    schemas = {service: _columns(engine, table) for service, engine in migrated.items()}
    assert set(schemas["consent"]) == declared
    assert all(schema == schemas["consent"] for schema in schemas.values())


def test_no_service_revision_writes_a_kernel_table_step_itself():
    """A revision calls stafett.migrations (create_kernel_tables, add_access_protected, …);
    it does not create or alter outbox, inbox or access_log itself."""
    own = re.compile(r"""(create_table|drop_table|batch_alter_table)\(\s*['"](%s)['"]"""
                     % "|".join(KERNEL_TABLES))
    offending = [str(path.relative_to(ROOT))
                 for service in SERVICES
                 for path in sorted((ROOT / "services" / service / "migrations" / "versions")
                                    .glob("*.py"))
                 if own.search(path.read_text(encoding="utf-8"))]
    assert offending == []
