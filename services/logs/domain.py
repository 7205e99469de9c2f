"""Rules of the stafettlogg: who may do what, and what a valid change is.

Plain functions over plain values; the service loads rows and calls these. A caller who
may not see a log always gets ``NotFound``: a log they may not see is indistinguishable
from a log that does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stafett.actor import CITIZEN, SERVICE, STAFF, SYSTEM, Actor
from stafett.clock import as_utc
from stafett.coverage import Coverage, Covered
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ValidationFailed, coded)

STAFETTHOLDER, MEMBER, FORMER, GUARDIAN, CHILD, SYSTEM_ROLE = (
    "stafettholder", "member", "former", "guardian", "child", "system")
STAFF_ROLES = (STAFETTHOLDER, MEMBER, FORMER, SYSTEM_ROLE)
OPEN, CLOSED = "open", "closed"
OUTCOMES = ("green", "yellow", "red")
OPEN_MEASURE_STATES = ("planned", "active")
READ_SCOPE = "stafett:logs.read"


@dataclass(frozen=True)
class Limits:
    """Caps on what a log holds of the few things loaded whole: its participants (every
    call decides the actor's place among them) and its measures (the FHIR export, the
    handover summary and a meeting's preparation cover all of them). Everything else a
    log gathers is paged (services/logs/lists.py)."""
    participants: int = 100   # participations ever, removed and ended ones included
    measures: int = 500

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(participants=int(config.get("LOG_MAX_PARTICIPANTS", 100)),
                   measures=int(config.get("LOG_MAX_MEASURES", 500)))


#: what applying a handover adds at most: the new stafettholder and ten more of the
#: receiving agency (handover schemas.AcceptIn); a handover is refused when the log has no
#: room for them, so a log never holds more than the cap and this many participants
HANDOVER_PARTICIPANTS = 11


def check_room(count: int, cap: int, what: str, needed: int = 1) -> None:
    """A log is full at its cap: nothing more of that kind is added (409)."""
    if count + needed > cap:
        raise Conflict(f"the log has reached its limit of {cap} {what}", code="log.limit_reached")


def covered_on(projection, today: date) -> Covered:
    """What consent covers today, looked up in the consent service's decisions as the
    projection keeps them (each row's ``coverage``, verbatim): no rule of this service's
    own about a consent's status, scope or dates (stafett/coverage.py)."""
    return Coverage.union(row.coverage for row in projection).on(today)


def is_active(participant, today: date) -> bool:
    return (getattr(participant, "removed_at", None) is None
            and participant.active_from <= today
            and (participant.active_until is None or today <= participant.active_until))


# -- the stafettholder: exactly one who can act ----------------------------------------------
#
# A log always has one stafettholder who can act, or says it has none. A holder lapses
# when they stop being able to act (their participation ended, they were removed, or
# consent stopped covering their agency); the service then clears the role, records the
# lapse and tells the remaining staff and the guardians (event log.stafettholder_lapsed),
# and the log shows no holder until someone takes the baton.

PARTICIPATION_ENDED, CONSENT_ENDED = "participation_ended", "consent_ended"


def can_act(participant, on_date: date, coverage: Covered) -> bool:
    """Staff, in their active period (its last day included), with consent covering
    their agency on ``on_date``."""
    return (participant.kind == "staff" and is_active(participant, on_date)
            and coverage.covers(participant.agency, participant.agency_type))


def stafettholder_row(participants):
    """The participant holding the role (able to act or not), or None."""
    return next((p for p in participants if p.role == STAFETTHOLDER
                 and getattr(p, "removed_at", None) is None), None)


def current_stafettholder(participants, on_date: date, coverage: Covered):
    """The stafettholder who can act on ``on_date``, or None: the log has none."""
    holder = stafettholder_row(participants)
    return holder if holder is not None and can_act(holder, on_date, coverage) else None


def lapsed_stafettholder(participants, on_date: date, coverage: Covered):
    """The holder who can no longer act (not yet recorded as lapsed), or None."""
    holder = stafettholder_row(participants)
    return holder if holder is not None and not can_act(holder, on_date, coverage) else None


def lapse_reason(holder, on_date: date, coverage: Covered) -> str:
    return PARTICIPATION_ENDED if not is_active(holder, on_date) else CONSENT_ENDED


def clear_stafettholder(holder) -> None:
    """The lapsed holder keeps their participation (as it is), not the role."""
    holder.role = MEMBER


def told_of_lapse(participants, holder, on_date: date, coverage: Covered) -> dict:
    """Who hears that the log has no stafettholder: the staff who can still act and the
    guardians in the log (ids only)."""
    staff = sorted({p.person_id for p in participants
                    if p is not holder and can_act(p, on_date, coverage)})
    guardians = sorted({p.person_id for p in participants
                        if p.kind == "guardian" and is_active(p, on_date)})
    return {"staff_person_ids": staff, "guardian_person_ids": guardians}


def check_new_stafettholder(target, on_date: date, coverage: Covered) -> None:
    """The log refuses a stafettholder who cannot act."""
    if not can_act(target, on_date, coverage):
        raise ValidationFailed(
            "the stafettholder must be staff who can act in the log: in their active "
            "period, with consent covering their agency",
            {"participant_id": [coded("stafettholder.cannot_act",
                                      "cannot act as stafettholder")]},
            code="stafettholder.cannot_act")


def may_take_baton(viewer: "Viewer", holder) -> bool:
    """While the log has no stafettholder, any staff participant who can act takes it."""
    return holder is None and is_staff_writer(viewer)


def require_may_pass_baton(viewer: "Viewer", holder) -> None:
    """The holder passes the baton; while the log has none, any staff participant who
    can act takes it (for themselves or another)."""
    if may_take_baton(viewer, holder):
        return
    require_stafettholder(viewer)


def may_still_read(participant, today: date) -> bool:
    """A former stafettholder's grace period after a handover."""
    until = getattr(participant, "read_only_until", None)
    return (participant.role == FORMER and getattr(participant, "removed_at", None) is None
            and until is not None and today <= until)


@dataclass(frozen=True)
class Viewer:
    """The actor as the log sees them: their participant row and role."""
    participant: object
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def view(self) -> str:
        """Which view (field set) they get: staff, guardian or child."""
        return "staff" if self.is_staff else self.role

    @property
    def may_write(self) -> bool:
        return self.role not in (FORMER, SYSTEM_ROLE)


def authorize(actor: Actor | None, participants, coverage: Covered, today: date,
              child_sees_own_case=False) -> Viewer:
    """Which participant the actor is in this log, or NotFound.

    ``child_sees_own_case``: whether the child is old enough to see its own case, the
    consent service's decision (its age rule; a callable is asked only when the actor is
    the child). Whether a citizen's login is assured enough is also the consent service's
    decision (``actor.assured``)."""
    if actor is None:
        raise NotFound("no such log", code="log.not_found")
    if actor.kind == SYSTEM:
        # an agency system reads logs its agency takes part in, with the read scope
        if READ_SCOPE in actor.scopes and coverage.covers(actor.agency, actor.agency_type):
            for p in participants:
                if p.kind == "staff" and p.agency == actor.agency and is_active(p, today):
                    return Viewer(p, SYSTEM_ROLE)
        raise NotFound("no such log", code="log.not_found")
    if not actor.person_id:
        raise NotFound("no such log", code="log.not_found")
    for participant in participants:
        if participant.person_id != actor.person_id:
            continue
        if actor.kind == STAFF and participant.kind == "staff":
            # staff act for the agency they log in through, and only while consent covers it
            if participant.agency != actor.agency or not coverage.covers(actor.agency,
                                                                          actor.agency_type):
                continue
            if is_active(participant, today):
                return Viewer(participant, participant.role)
            if may_still_read(participant, today):
                return Viewer(participant, FORMER)
        elif actor.kind == CITIZEN and participant.kind == "guardian":
            if is_active(participant, today) and actor.assured:
                return Viewer(participant, GUARDIAN)
        elif actor.kind == CITIZEN and participant.kind == "child":
            if (is_active(participant, today) and actor.assured
                    and (child_sees_own_case() if callable(child_sees_own_case)
                         else child_sees_own_case)):
                return Viewer(participant, CHILD)
    raise NotFound("no such log", code="log.not_found")


def require_writer(viewer: Viewer) -> None:
    if not viewer.may_write:
        raise Forbidden("read-only access", code="log.read_only_access")


def is_staff_writer(viewer: Viewer) -> bool:
    """Staff with a role in the log who may write (not a former holder, not a system)."""
    return viewer.is_staff and viewer.may_write


def require_staff_writer(viewer: Viewer) -> None:
    if not is_staff_writer(viewer):
        raise Forbidden("only staff with a role in the log may do this", code="log.staff_only")


def is_stafettholder(viewer: Viewer) -> bool:
    return viewer.role == STAFETTHOLDER


def require_stafettholder(viewer: Viewer) -> None:
    if not is_stafettholder(viewer):
        # a participant knows the log exists; telling them why is not a leak
        raise Forbidden("only the stafettholder may do this", code="log.stafettholder_only")


def require_open(log) -> None:
    if log.status != OPEN:
        raise Conflict("the log is closed and read-only", code="log.closed")


def may_read_access_log(viewer: Viewer) -> bool:
    """The access log is for the child, the guardians and the stafettholder."""
    return viewer.role in (GUARDIAN, CHILD, STAFETTHOLDER)


def require_may_read_access_log(viewer: Viewer) -> None:
    if not may_read_access_log(viewer):
        raise Forbidden("the access log is for the child, the guardians and the "
                        "stafettholder", code="access_log.not_allowed")


def permissions(viewer: Viewer, log, holder) -> dict[str, bool]:
    """What the viewer may do in the log now, as the entrypoints decide it (the same
    predicates their ``require_*`` checks use): the views carry it as ``can_*`` flags, so
    no client repeats a role rule. A closed log is read-only for everyone; ``holder``: the
    stafettholder who can act (None: the log has none)."""
    writable = log.status == OPEN and viewer.may_write
    staff = writable and is_staff_writer(viewer)
    holds = writable and is_stafettholder(viewer)
    return {
        "can_edit": staff,                    # update_measure
        "can_add_measure": staff,
        "can_evaluate": staff,
        "can_schedule_meeting": staff,
        "can_record_minutes": staff,
        "can_add_entry": writable,            # which kinds: entry_kinds
        "can_propose": writable and may_propose(viewer),
        "can_answer_proposals": holds,
        "can_add_participant": holds,
        "can_remove_participant": holds,
        "can_change_level": holds,
        "can_close": holds,
        "can_pass_baton": holds,              # set_stafettholder, and a handover
        "can_take_baton": log.status == OPEN and may_take_baton(viewer, holder),
        "can_read_access_log": may_read_access_log(viewer),
    }


def check_version(expected: int | None, current: int) -> None:
    """Optimistic concurrency for updates (If-Match)."""
    if expected is None:
        raise PreconditionRequired("send If-Match with the version (ETag) you last read")
    if int(expected) != current:
        raise PreconditionFailed("the resource changed since you read it; read it again")


def require_auditor(actor: Actor | None) -> None:
    """An agency's auditor reads the access records of its own agency's staff."""
    if actor is None or actor.kind != STAFF or "auditor" not in actor.roles:
        raise Forbidden("only an agency auditor may read the agency's access records",
                        code="access_log.auditor_only")


def require_fhir_reader(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise Forbidden("the FHIR export is for agency systems and staff",
                        code="fhir.not_allowed")


def require_statistics_reader(actor: Actor | None) -> None:
    if actor is None or actor.kind != STAFF:
        raise Forbidden("statistics are for staff", code="statistics.staff_only")


def require_handover_service(actor: Actor | None) -> None:
    if actor is None or actor.kind != SERVICE:
        raise Forbidden("only the handover service applies handovers",
                        code="log.handover_service_only")


def require_staff(actor: Actor | None) -> None:
    """Only staff open logs: others learn nothing, not even the request's rules."""
    if actor is None or actor.kind != STAFF or not actor.person_id:
        raise NotFound("no such child", code="child.not_found")


def check_can_open(actor: Actor | None, coverage: Covered, has_open_log: bool) -> None:
    require_staff(actor)
    if not coverage.covers(actor.agency, actor.agency_type):
        raise NotFound("no such child",
                       code="child.not_found")  # no consent for this agency: nothing to see
    if has_open_log:
        raise Conflict("the child already has an open log", code="log.already_open")


def check_new_participant(staff: dict, coverage: Covered, existing, today: date) -> None:
    if not coverage.covers(staff["agency"], staff["agency_type"]):
        raise ValidationFailed("consent does not cover that person's agency",
                               {"person_id": ["the agency is not covered by consent"]},
                               code="participant.agency_not_covered")
    if any(p.person_id == staff["id"] and is_active(p, today) for p in existing):
        raise Conflict("that person already takes part in the log",
                       code="participant.already_in_log")


def check_receiving_covered(staff: dict, coverage: Covered) -> None:
    """A handover is applied only while consent covers the receiving staff's agency (the
    handover service cancels it on this refusal: ``consent``, in the detail, is the code)."""
    if not coverage.covers(staff["agency"], staff["agency_type"]):
        raise Conflict("consent no longer covers the receiving agency",
                       code="log.receiver_not_covered")


def check_removal(participant, viewer: Viewer) -> None:
    if participant.role == STAFETTHOLDER:
        raise Conflict("hand the stafettholder role to someone else before removing them",
                       code="participant.is_stafettholder")
    if participant.kind != "staff":
        raise ValidationFailed("guardians and the child take part while consent lasts",
                               {"participant_id": ["only staff can be removed"]},
                               code="participant.not_removable")


def check_measure_fields(data: dict, participants, today: date) -> object | None:
    """Validate measure fields; returns the responsible participant (if named)."""
    errors = {}
    if "start_date" in data and "evaluate_by" in data and data["evaluate_by"] < data["start_date"]:
        errors["evaluate_by"] = [coded("measure.evaluate_by_before_start",
                                         "must be on or after start_date")]
    responsible = None
    if "responsible_id" in data:
        responsible = next((p for p in participants
                            if p.id == data["responsible_id"] and is_active(p, today)), None)
        if responsible is None:
            errors["responsible_id"] = [coded("measure.responsible_not_participant",
                                              "must be an active participant of the log")]
    if errors:
        raise ValidationFailed("the measure is not valid", errors, code="measure.invalid")
    return responsible


def check_measure(data: dict, participants, today: date) -> object:
    """Validate a new measure; returns the responsible participant."""
    return check_measure_fields(data, participants, today)


def check_evaluable(measure) -> None:
    if measure.status == "stopped":
        raise Conflict("a stopped measure cannot be evaluated", code="measure.stopped")


def check_evaluation_date(measure, evaluated_on: date | None, today: date) -> None:
    """An evaluation is of what has happened: not dated in the future, nor before the
    measure started."""
    if evaluated_on is None:
        return
    if evaluated_on > today:
        raise ValidationFailed("an evaluation cannot be dated in the future",
                               {"evaluated_on": [coded("evaluation.in_future",
                                                       "must not be after today")]},
                               code="evaluation.invalid")
    if measure.start_date is not None and evaluated_on < measure.start_date:
        raise ValidationFailed("an evaluation cannot be dated before the measure started",
                               {"evaluated_on": [coded("evaluation.before_start",
                                                       "must not be before the measure's "
                                                       "start_date")]},
                               code="evaluation.invalid")


def check_meeting_begun(meeting, now) -> None:
    """Minutes are of a meeting that has begun."""
    if as_utc(meeting.starts_at) > now:
        raise Conflict("minutes can be recorded once the meeting has begun",
                       code="meeting.not_started")


def latest_outcome(evaluations) -> str | None:
    if not evaluations:
        return None
    return max(evaluations, key=lambda e: (e.evaluated_on, e.created_at)).outcome


def is_overdue(measure, evaluations, today: date) -> bool:
    """Past its evaluate-by date with no evaluation since that date was set."""
    if measure.status not in OPEN_MEASURE_STATES or measure.evaluate_by >= today:
        return False
    cycle_start = measure.evaluate_by_set_on or measure.start_date
    return not any(e.evaluated_on >= cycle_start for e in evaluations)


ENTRY_KINDS = ("note", "child_voice", "bright_spot")


def entry_kinds(viewer: Viewer) -> tuple[str, ...]:
    """Staff write any kind; guardians notes and bright spots; the child its own voice."""
    if viewer.is_staff:
        return ENTRY_KINDS
    return {GUARDIAN: ("note", "bright_spot"), CHILD: ("child_voice", "bright_spot")}.get(
        viewer.role, ())


def check_entry(viewer: Viewer, kind: str, visibility: str) -> None:
    """The kinds ``entry_kinds`` gives the viewer. Only staff may hide an entry from the
    family."""
    allowed = entry_kinds(viewer)
    if kind not in allowed:
        raise ValidationFailed("you cannot add that kind of entry",
                               {"kind": [f"choose one of {', '.join(allowed)}"]},
                               code="entry.kind_not_allowed")
    if visibility == "staff" and not viewer.is_staff:
        raise ValidationFailed("only staff can write staff-only entries",
                               {"visibility": ["must be 'all'"]},
                               code="entry.staff_only_visibility")


def entry_visible(entry, viewer: Viewer) -> bool:
    return entry.visibility == "all" or viewer.is_staff


def may_propose(viewer: Viewer) -> bool:
    """Proposals are for the child and the guardians; staff add measures directly."""
    return viewer.role in (GUARDIAN, CHILD)


def check_proposer(viewer: Viewer) -> None:
    if not may_propose(viewer):
        raise Forbidden("staff add measures directly; proposals are for the child and guardians",
                        code="proposal.staff_add_directly")


def check_answerable(proposal) -> None:
    if proposal.status != "proposed":
        raise Conflict(f"the proposal is already {proposal.status}",
                       code="proposal.already_answered")


def proposal_visible(proposal, viewer: Viewer) -> bool:
    """The child sees its own proposals; everyone else with a role sees all."""
    return viewer.role != CHILD or proposal.proposer_id == viewer.participant.id


def suppress_small(count: int, threshold: int = 5) -> int | None:
    """De-identified statistics: a cell under the threshold is not shown."""
    return None if count < threshold else count
