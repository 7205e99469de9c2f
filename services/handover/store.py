"""The handover service's reads and writes of its table, in the caller's session.

``save`` writes a transition the aggregate applied as a compare-and-set on the status it
moved from, so replicas and retries change a row once: whoever loses gets False and the
row as it is now.
"""
from __future__ import annotations

from sqlalchemy import String, cast, select, update

from services.handover import domain
from services.handover.models import Handover
from stafett.actor import CITIZEN, STAFF, Actor
from sqlalchemy.exc import IntegrityError

from stafett.changes import compare_and_set
from stafett.errors import Conflict


def save(session, handover: Handover, required: bool = False) -> bool:
    """Write the transition the aggregate applied (``moved_from`` → its status) unless
    someone else moved the row first; then False (``required``: Conflict), and the row is
    reloaded as it is now."""
    previous = handover.moved_from
    claimed = previous is not None and compare_and_set(session, handover,
                                                       Handover.status == previous)
    handover.moved_from = None
    if required and not claimed:
        raise Conflict(f"the handover changed meanwhile; it is now {handover.status}",
                       code="handover.changed_meanwhile")
    return bool(claimed)


def add(session, handover: Handover) -> None:
    """A new request; the database refuses a second open one for the log."""
    session.add(handover)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request for the same log won the race
        raise Conflict("the log already has an open handover", code="handover.already_open")


def record_failure(session, handover_id: str, error: str) -> None:
    """An application attempt that could not get an answer: counted, kept for operators."""
    session.execute(update(Handover).where(Handover.id == handover_id).values(
        apply_attempts=Handover.apply_attempts + 1, last_apply_error=error[:500]))


def open_for(session, log_id: str) -> Handover | None:
    return session.scalar(select(Handover).where(Handover.log_id == log_id,
                                                 Handover.status.in_(domain.OPEN_STATES)))


def in_states(session, states, *, child_id: str | None = None,
              log_id: str | None = None) -> list[Handover]:
    query = select(Handover).where(Handover.status.in_(tuple(states)))
    if child_id is not None:
        query = query.where(Handover.child_id == child_id)
    if log_id is not None:
        query = query.where(Handover.log_id == log_id)
    return session.scalars(query).all()


def ids_in_states(session, states, child_id: str | None = None) -> list[str]:
    query = select(Handover.id).where(Handover.status.in_(tuple(states)))
    if child_id is not None:
        query = query.where(Handover.child_id == child_id)
    return session.scalars(query).all()


def by_ids(session, ids) -> list[Handover]:
    return session.scalars(select(Handover).where(Handover.id.in_(list(ids)))).all()


def candidates(actor: Actor | None, direction: str | None):
    """The query for handovers that may be the actor's (each is still checked), or None
    when the actor can have none."""
    if actor is None or not actor.person_id:
        return None
    query = select(Handover)
    if actor.kind == STAFF:
        outgoing = Handover.requested_by_person_id == actor.person_id
        incoming = (Handover.to_agency == actor.agency) & Handover.offered_at.is_not(None)
        return query.where({"outgoing": outgoing, "incoming": incoming}.get(
            direction, outgoing | incoming))
    if actor.kind == CITIZEN:
        # ids are uuids: a match inside the JSON list's text is exact enough, and the role
        # check afterwards is exact
        return query.where(cast(Handover.consent_person_ids, String)
                           .like(f'%"{actor.person_id}"%'))
    return None


def logs_of_child(session, child_id: str) -> list[str]:
    """The logs the child's handovers were about (the subjects of their access records)."""
    return list(session.scalars(select(Handover.log_id).where(
        Handover.child_id == child_id).distinct()))
