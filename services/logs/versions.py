"""A log's version (its ETag) goes up with every change, and the row is locked last.

Every change to a log bumps ``logs.version``. Bumping it through the ORM early in the
unit of work (``log.version += 1``) locked the log's row at the first flush, so every
other writer of the same log queued behind the holder while it still wrote its outbox row
and its access record; and the ORM wrote the value it had read plus one, so two writers
that had read the same version both wrote the same next one. Now the log (model.Log)
only counts its changes, one bump each, and the unit of work applies them in one
conditional UPDATE just before commit (``save_versions``, a ``before_commit`` hook of
``stafett.audit.audited_work``):

    UPDATE logs SET version = version + :n WHERE id = :id [AND version = :expected]
    RETURNING version

``expected`` is the version an If-Match named (``Log.expect_version``), checked once more
at the end, under the row lock: a writer that got in between is a 412, as if it had been
first (before, both passed). Without If-Match (adding an entry) concurrent writers all
succeed, each with its own version. The row is locked from that UPDATE to the commit only.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from services.logs.models import Log as LogRow
from stafett.errors import PreconditionFailed


def save_versions(session: Session, logs) -> None:
    """Apply the version bumps each log (model.Log) owes, in the order of their ids."""
    for log in sorted(logs, key=lambda log: log.id):
        bumps, expected = log.collect_changes()
        if not bumps:
            continue
        statement = update(LogRow).where(LogRow.id == log.id)
        if expected is not None:
            statement = statement.where(LogRow.version == expected)
        version = session.execute(
            statement.values(version=LogRow.version + bumps).returning(LogRow.version),
            execution_options={"synchronize_session": False}).scalar()
        if version is None:
            raise PreconditionFailed("the resource changed since you read it; read it again")
        set_committed_value(log.row, "version", version)  # the ETag this answer gives
