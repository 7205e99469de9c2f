"""An engine on a fresh database of one component, for tests that use its tables without
running it: migrated to its newest revision (on PostgreSQL or SQLite), or, faster, the
tables created from its models."""
from __future__ import annotations

import contextlib
from pathlib import Path

from stafett.db import make_engine, migrate
from tests.support.servers import make_database_urls

ROOT = Path(__file__).resolve().parents[2]


def migrations_of(component: str) -> Path:
    """``services/<name>/migrations``, or the gateway's."""
    return ROOT / ("gateway" if component == "gateway" else f"services/{component}") / "migrations"


@contextlib.contextmanager
def migrated_engine(request, tmp_path, component: str, backend: str = "sqlite"):
    """At the newest revision: a fresh PostgreSQL database (``postgres_url``, dropped after)
    for ``backend="postgres"``, else a SQLite file in ``tmp_path``."""
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            urls = stack.enter_context(make_database_urls(
                request.getfixturevalue("postgres_url"), (component,)))
            engine = make_engine(urls[component], pool_size=2)
        else:
            engine = make_engine(f"sqlite:///{tmp_path}/{component}.db")
        stack.callback(engine.dispose)
        migrate(engine, migrations_of(component))
        yield engine


@contextlib.contextmanager
def created_engine(tmp_path, component: str, *metadata):
    """SQLite in ``tmp_path`` with the tables of each ``metadata`` (the component's models,
    the kernel's) created directly: no migrations."""
    engine = make_engine(f"sqlite:///{tmp_path}/{component}.db")
    try:
        for tables in metadata:
            tables.create_all(engine)
        yield engine
    finally:
        engine.dispose()
