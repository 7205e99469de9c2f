"""Rules of the stafettlogg: who may do what, and what a valid change is.

Plain functions over plain values; the service loads rows and calls these. A denied
caller always gets ``NotFound``: a log they may not see is indistinguishable from a log
that does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stafett.actor import CITIZEN, STAFF, Actor
from stafett.errors import Conflict, NotFound, ValidationFailed

STAFETTHOLDER, MEMBER, GUARDIAN, CHILD = "stafettholder", "member", "guardian", "child"
OPEN, CLOSED = "open", "closed"
HIGH_ASSURANCE = "idporten-loa-high"


@dataclass(frozen=True)
class Coverage:
    """The agencies and agency types an active consent covers today."""
    agencies: frozenset[str]
    agency_types: frozenset[str]

    def covers(self, agency: str | None, agency_type: str | None) -> bool:
        return bool(agency) and (agency in self.agencies or agency_type in self.agency_types)


def coverage_from(rows, today: date) -> Coverage:
    active = [r for r in rows if r.status == "active" and r.valid_from <= today <= r.valid_until]
    return Coverage(frozenset(a for r in active for a in r.scope_agencies),
                    frozenset(t for r in active for t in r.scope_agency_types))


def is_active(participant, today: date) -> bool:
    return participant.active_from <= today and (participant.active_until is None
                                                 or today <= participant.active_until)


@dataclass(frozen=True)
class Viewer:
    """The actor as the log sees them: their participant row and role."""
    participant: object
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in (STAFETTHOLDER, MEMBER)


def authorize(actor: Actor | None, participants, coverage: Coverage, today: date) -> Viewer:
    """Which participant the actor is in this log, or NotFound."""
    if actor is None or not actor.person_id:
        raise NotFound("no such log")
    for participant in participants:
        if participant.person_id != actor.person_id or not is_active(participant, today):
            continue
        if actor.kind == STAFF and participant.kind == "staff":
            # staff act for the agency they log in through, and only while consent covers it
            if participant.agency == actor.agency and coverage.covers(actor.agency,
                                                                      actor.agency_type):
                return Viewer(participant, participant.role)
        elif actor.kind == CITIZEN and participant.kind in (GUARDIAN, CHILD):
            if actor.acr == HIGH_ASSURANCE:
                return Viewer(participant, participant.role)
    raise NotFound("no such log")


def require_stafettholder(viewer: Viewer) -> None:
    if viewer.role != STAFETTHOLDER:
        # a participant knows the log exists; telling them why is not a leak
        from stafett.errors import Forbidden
        raise Forbidden("only the stafettholder may do this")


def require_open(log) -> None:
    if log.status != OPEN:
        raise Conflict("the log is closed and read-only")


def check_can_open(actor: Actor | None, coverage: Coverage, has_open_log: bool) -> None:
    if actor is None or actor.kind != STAFF or not actor.person_id:
        raise NotFound("no such child")
    if not coverage.covers(actor.agency, actor.agency_type):
        raise NotFound("no such child")  # no consent for this agency: nothing to see
    if has_open_log:
        raise Conflict("the child already has an open log")


def check_new_participant(staff: dict, coverage: Coverage, existing, today: date) -> None:
    if not coverage.covers(staff["agency"], staff["agency_type"]):
        raise ValidationFailed("consent does not cover that person's agency",
                               {"person_id": ["the agency is not covered by consent"]})
    if any(p.person_id == staff["id"] and is_active(p, today) for p in existing):
        raise Conflict("that person already takes part in the log")


def check_measure(data: dict, participants, today: date) -> object:
    """Validate a new measure; returns the responsible participant."""
    errors = {}
    if data["evaluate_by"] < data["start_date"]:
        errors["evaluate_by"] = ["must be on or after start_date"]
    responsible = next((p for p in participants
                        if p.id == data["responsible_id"] and is_active(p, today)), None)
    if responsible is None:
        errors["responsible_id"] = ["must be an active participant of the log"]
    if errors:
        raise ValidationFailed("the measure is not valid", errors)
    return responsible
