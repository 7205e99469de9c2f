"""Shared Alembic ``env.py`` body, so each service's env.py is two lines."""
from __future__ import annotations

from alembic import context

import stafett.audit  # noqa: F401  (registers the access_log kernel table)
import stafett.request_keys  # noqa: F401  (registers the request_keys kernel table)
import stafett.transparency  # noqa: F401  (registers audit_tree_state, audit_checkpoint)


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


# -- the kernel's own tables ------------------------------------------------------------------
# ``outbox`` and ``inbox`` (stafett/events.py), ``access_log`` (stafett/audit/),
# ``request_keys`` (stafett/request_keys.py) and the transparency log's
# ``audit_tree_state`` and ``audit_checkpoint`` (stafett/transparency.py) live in every
# service's database. Their migration steps are written once, here, and each service's
# revision that takes a step calls it under that service's own revision id: the revision
# chains are unchanged, so a database migrated before upgrades (and downgrades) as it did.
# A new kernel step is a function here plus one revision per service that calls it.

def _create_index(op, table: str, column: str) -> None:
    """The non-unique index ``ix_<table>_<column>``, as Alembic names it."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def _drop_index(op, table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))


def create_kernel_tables(op) -> None:
    """``access_log``, ``inbox`` and ``outbox`` as each service's first revision (0001)
    created them; later kernel steps follow (``add_access_protected``)."""
    import sqlalchemy as sa

    op.create_table(
        "access_log",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_ref", sa.String(length=80), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("agency", sa.String(length=9), nullable=True),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=True),
        sa.Column("subject_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    _create_index(op, "access_log", "subject_id")
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    _create_index(op, "outbox", "published_at")


def drop_kernel_tables(op) -> None:
    _drop_index(op, "outbox", "published_at")
    op.drop_table("outbox")
    op.drop_table("inbox")
    _drop_index(op, "access_log", "subject_id")
    op.drop_table("access_log")


def add_access_protected(op) -> None:
    """Access records of a child with a protective address code are marked ``protected``."""
    import sqlalchemy as sa

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("protected", sa.Boolean(), nullable=True))


def drop_access_protected(op) -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("protected")


def add_access_purpose(op) -> None:
    """Access records carry why they happened (``purpose``, stafett/audit/purposes.py)."""
    import sqlalchemy as sa

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=40), nullable=True))


def drop_access_purpose(op) -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("purpose")


def create_request_keys(op) -> None:
    """``request_keys``: the record of each state-changing RPC's request key, written in the
    transaction of its effect (stafett/request_keys.py)."""
    import sqlalchemy as sa

    op.create_table(
        "request_keys",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("entrypoint", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    _create_index(op, "request_keys", "created_at")


def drop_request_keys(op) -> None:
    _drop_index(op, "request_keys", "created_at")
    op.drop_table("request_keys")


def add_transparency_log(op) -> None:
    """The access log becomes a transparency log (stafett/transparency.py): records get a
    place (``leaf_index``) from the sequencer and no longer chain (``prev_hash`` nullable;
    existing records keep theirs, part of their content); the tree's state (one row, the
    empty tree) and the signed checkpoints. Existing records are folded in, oldest first,
    by the sequencer's first round."""
    import hashlib

    import sqlalchemy as sa

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("leaf_index", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_access_log_leaf_index"), ["leaf_index"],
                              unique=True)
    state = op.create_table(
        "audit_tree_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(state, [{"id": 1, "tree_size": 0, "frontier": "[]",
                            "root_hash": hashlib.sha256(b"").hexdigest()}])
    op.create_table(
        "audit_checkpoint",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
    )


def drop_transparency_log(op) -> None:
    """Back to the hash chain's schema; records written since have no ``prev_hash`` and are
    deleted with the tree (the chain cannot take them in)."""
    import sqlalchemy as sa

    op.drop_table("audit_checkpoint")
    op.drop_table("audit_tree_state")
    op.execute("DELETE FROM access_log WHERE prev_hash IS NULL")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_leaf_index"))
        batch_op.drop_column("leaf_index")
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
