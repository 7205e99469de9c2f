"""Shared Alembic ``env.py`` body, so each service's env.py is two lines."""
from __future__ import annotations

from alembic import context

import stafett.audit  # noqa: F401  (registers the access_log kernel table)


def run_env(target_metadata) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        # CLI use (``alembic -x url=...``): make our own connection.
        from stafett.db import make_engine

        url = context.get_x_argument(as_dictionary=True).get("url")
        if not url:
            raise SystemExit("pass the database URL: alembic -x url=sqlite:///var/x.db upgrade head")
        with make_engine(url).begin() as connection:
            _run(connection, target_metadata)
        return
    _run(connection, target_metadata)


def _run(connection, target_metadata) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
