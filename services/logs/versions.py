"""A log's version (its ETag) goes up with every change, and the row is locked last.

Every change to a log bumps ``logs.version``. Bumping it through the ORM early in the
unit of work (``log.version += 1``) locked the log's row at the first flush, so every
other writer of the same log queued behind the holder while it still wrote its outbox row
and its access record; and the ORM wrote the value it had read plus one, so two writers
that had read the same version both wrote the same next one. Now a unit of work only
counts its bumps (``LogVersions.bump``) and applies them in one conditional UPDATE just
before commit (``apply``, a ``before_commit`` hook of ``stafett.audit.audited_work``):

    UPDATE logs SET version = version + :n WHERE id = :id [AND version = :expected]
    RETURNING version

``expected`` is the version an If-Match named (``expect``), checked once more at the
end, under the row lock: a writer that got in between is a 412, as if it had been first
(before, both passed). Without If-Match (adding an entry) concurrent writers all succeed,
each with its own version. The row is locked from that UPDATE to the commit only.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from services.logs.models import Log
from stafett.errors import PreconditionFailed


class LogVersions:
    """The version bumps one unit of work owes, by log."""

    def __init__(self):
        self._pending: dict[str, list] = {}  # log id -> [log, bumps, expected version]

    def bump(self, log: Log) -> None:
        entry = self._pending.setdefault(log.id, [log, 0, None])
        entry[1] += 1

    def expect(self, log: Log, version: int) -> None:
        """The change is conditional on the log still being at ``version`` (If-Match)."""
        self._pending.setdefault(log.id, [log, 0, None])[2] = int(version)

    def apply(self, session: Session) -> None:
        for log_id, (log, bumps, expected) in sorted(self._pending.items()):
            if not bumps:
                continue
            statement = update(Log).where(Log.id == log_id)
            if expected is not None:
                statement = statement.where(Log.version == expected)
            version = session.execute(
                statement.values(version=Log.version + bumps).returning(Log.version),
                execution_options={"synchronize_session": False}).scalar()
            if version is None:
                raise PreconditionFailed("the resource changed since you read it; "
                                         "read it again")
            set_committed_value(log, "version", version)  # the ETag this answer gives
        self._pending.clear()
