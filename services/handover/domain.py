"""The handover workflow: a state machine and the rules around it.

Plain functions over plain values (rows are read by attribute, consents and agencies are
the dicts the consent service returns); no nameko, no sessions. The sender keeps the baton
until the receiver has taken it: only ``completed`` moves it, and only after the logs
service confirmed the change.

    consent_pending ◄─► awaiting_acceptance ──► accepted ──► completed
          │                  │   │   │              │
          ▼                  ▼   ▼   ▼              ▼
   cancelled/expired   declined cancelled expired  cancelled (log closed, or consent ended,
                                                              before application)

Consent binds every step: a handover is offered when consent covers the receiver, goes back
to ``consent_pending`` when consent stops covering it before acceptance, and an accepted
one that consent no longer covers is cancelled (the logs service refuses to apply it).
Staff see a handover only while consent covers their side of it (``viewer_role``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from stafett.actor import CITIZEN, STAFF, Actor
from stafett.clock import as_utc
from stafett.coverage import Coverage
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            ValidationFailed)

CONSENT_PENDING = "consent_pending"
AWAITING_ACCEPTANCE = "awaiting_acceptance"
ACCEPTED = "accepted"
COMPLETED = "completed"
DECLINED = "declined"
CANCELLED = "cancelled"
EXPIRED = "expired"

STATES = (CONSENT_PENDING, AWAITING_ACCEPTANCE, ACCEPTED, COMPLETED, DECLINED, CANCELLED,
          EXPIRED)
#: the log has an open handover while it is in one of these (at most one per log)
OPEN_STATES = frozenset({CONSENT_PENDING, AWAITING_ACCEPTANCE, ACCEPTED})
#: the requester may cancel, and requests expire, only before acceptance
CANCELLABLE_STATES = frozenset({CONSENT_PENDING, AWAITING_ACCEPTANCE})
EXPIRABLE_STATES = CANCELLABLE_STATES
TERMINAL_STATES = frozenset({COMPLETED, DECLINED, CANCELLED, EXPIRED})

TRANSITIONS = {
    CONSENT_PENDING: {AWAITING_ACCEPTANCE, CANCELLED, EXPIRED},
    # back to consent_pending when consent stops covering the receiver before acceptance
    AWAITING_ACCEPTANCE: {ACCEPTED, DECLINED, CANCELLED, EXPIRED, CONSENT_PENDING},
    # accepted is no longer the requester's to cancel, and does not expire: the receiver
    # has taken the baton. Only the logs service refusing the application (the log was
    # closed meanwhile, or consent no longer covers the receiver) cancels it.
    ACCEPTED: {COMPLETED, CANCELLED},
    COMPLETED: set(), DECLINED: set(), CANCELLED: set(), EXPIRED: set(),
}

# why a handover ended without completing (``reason_code``; events carry it as ``reason``)
REQUESTER_CANCELLED = "requester_cancelled"
LOG_CLOSED = "log_closed"
EXPIRED_REASON = "expired"
APPLICATION_REFUSED = "application_refused"
DECLINED_REASON = "declined"
CONSENT_WITHDRAWN = "consent_withdrawn"
CONSENT_REFUSED = "consent_refused"

REASON_TEXTS = {
    LOG_CLOSED: "Loggen ble lukket",
    CONSENT_WITHDRAWN: "Samtykket dekker ikke lenger mottakeren",
    EXPIRED_REASON: "Forespørselen utløp før den ble akseptert",
    REQUESTER_CANCELLED: "Trukket av avsender",
    CONSENT_REFUSED: "De som samtykker for barnet, sa nei",
    # the logs service's refusal (English, for developers) stays in last_apply_error
    APPLICATION_REFUSED: "Loggen kunne ikke overføres",
}

# -- transitions between institutions ------------------------------------------------------

KINDERGARTEN_TO_SCHOOL = "kindergarten_to_school"
PRIMARY_TO_LOWER_SECONDARY = "primary_to_lower_secondary"
LOWER_TO_UPPER_SECONDARY = "lower_secondary_to_upper_secondary"
TO_NAV = "to_nav"
MUNICIPALITY_MOVE = "municipality_move"
OTHER = "other"
TRANSITION_KINDS = (KINDERGARTEN_TO_SCHOOL, PRIMARY_TO_LOWER_SECONDARY, LOWER_TO_UPPER_SECONDARY,
                    TO_NAV, MUNICIPALITY_MOVE, OTHER)
#: the agency types a transition can go to (absent: any type)
TARGET_TYPES = {
    KINDERGARTEN_TO_SCHOOL: {"school"},
    PRIMARY_TO_LOWER_SECONDARY: {"school"},
    LOWER_TO_UPPER_SECONDARY: {"school"},
    TO_NAV: {"nav"},
}


def transition(current: str, target: str) -> str:
    if target not in TRANSITIONS.get(current, set()):
        raise Conflict(f"a handover that is {current} cannot become {target}",
                       code="handover.invalid_transition")
    return target


# -- requesting ------------------------------------------------------------------------------

def require_staff(actor: Actor | None) -> None:
    """Only staff hand over; anyone else is told nothing about the log."""
    if actor is None or actor.kind != STAFF or not actor.person_id or not actor.agency:
        raise NotFound("no such log", code="log.not_found")


def require_stafettholder(actor: Actor, context: dict) -> None:
    """The logs service's answer (``handover_context``) names the stafettholder."""
    if context.get("stafettholder_person_id") != actor.person_id:
        raise Forbidden("only the stafettholder may hand the log over",
                        code="handover.stafettholder_only")


def receiving_agency(to_agency: str, agencies: list[dict], context: dict,
                     transition_kind: str) -> dict:
    """The receiving agency from the registry, checked against the sender and the
    transition; ``ValidationFailed`` with a field error otherwise."""
    receiver = next((a for a in agencies if a["org_number"] == to_agency), None)
    if receiver is None:
        raise ValidationFailed("the receiving agency is unknown",
                               {"to_agency": ["no agency with this organisation number"]},
                               code="handover.receiver_unknown")
    if to_agency == context["from_agency"]:
        raise ValidationFailed("a log cannot be handed over to its own agency",
                               {"to_agency": ["must be another agency than the sender's"]},
                               code="handover.receiver_is_sender")
    allowed = TARGET_TYPES.get(transition_kind)
    if allowed and receiver["type"] not in allowed:
        raise ValidationFailed(
            f"a {transition_kind} handover goes to an agency of type "
            f"{' or '.join(sorted(allowed))}",
            {"to_agency": [f"is a {receiver['type']}, not {' or '.join(sorted(allowed))}"]},
            code="handover.receiver_wrong_type")
    if transition_kind == MUNICIPALITY_MOVE:
        sender = next((a for a in agencies if a["org_number"] == context["from_agency"]), None)
        if sender is not None and sender.get("municipality") == receiver.get("municipality"):
            raise ValidationFailed("a move goes to an agency in another municipality",
                                   {"to_agency": ["is in the sender's municipality"]},
                                   code="handover.move_same_municipality")
    return receiver


def check_named_person(staff: dict | None, to_agency: str, field: str) -> None:
    """A named person (receiver, new stafettholder) is staff of the receiving agency."""
    if staff is None or staff.get("agency") != to_agency:
        raise ValidationFailed("that person is not staff of the receiving agency",
                               {field: ["must be a staff member of the receiving agency"]},
                               code="handover.person_not_receiver_staff")


def check_no_open_handover(open_handover) -> None:
    if open_handover is not None:
        raise Conflict("the log already has an open handover; it must be completed, "
                       "declined, cancelled or expire first", code="handover.already_open")


# what a handover does when the owner's answer about consent for its receiver changes
OFFER = "offer"                      # consent_pending → awaiting_acceptance
BACK_TO_CONSENT = "back_to_consent"  # awaiting_acceptance → consent_pending
CHECK_APPLICATION = "check_application"  # accepted: the logs service applies or refuses


def consent_action(status: str, covered: bool) -> str | None:
    """What consent for the receiver (``covered``: does it cover them today?) asks of a
    handover in ``status``.

    - ``consent_pending`` and covered: offer it to the receiver.
    - ``awaiting_acceptance`` and no longer covered: back to ``consent_pending``. The
      receiver only had the offer; the request (the stafettholder's judgement that the
      child moves on) stays, waits for consent again and expires on its day as before.
    - ``accepted`` and no longer covered: ask the logs service to apply it, which it
      refuses without consent for the receiver (then it is cancelled, ``consent_withdrawn``;
      the sender keeps the baton). An acceptance made under a consent that is gone is not
      kept waiting: the receiver named people the guardians no longer share with. The logs
      service decides because it alone knows whether the change was already applied.
    - anything else: nothing (an ended handover stays as it ended).
    """
    if status == CONSENT_PENDING and covered:
        return OFFER
    if status == AWAITING_ACCEPTANCE and not covered:
        return BACK_TO_CONSENT
    if status == ACCEPTED and not covered:
        return CHECK_APPLICATION
    return None


def consenting_person_ids(parties: dict) -> list[str]:
    """Who is asked to consent for the child: as the consent service decides it (its
    ``child_parties`` answer, by its age rule), never decided here."""
    return sorted(parties["consenting_person_ids"])


def expires_at(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)


def is_due(expiry: datetime | None, now: datetime) -> bool:
    return expiry is not None and as_utc(expiry) <= now


# -- who sees and does what -------------------------------------------------------------------

REQUESTER, RECEIVER, CONSENTING_PARTY = "requester", "receiver", "consenting_party"
#: the receiver sees the summary (never the log) while it is theirs to take, and keeps it
#: as the record once the handover completed
RECEIVER_SUMMARY_STATES = frozenset({AWAITING_ACCEPTANCE, ACCEPTED, COMPLETED})


def is_requester(actor: Actor | None, handover) -> bool:
    return (actor is not None and actor.kind == STAFF and bool(actor.person_id)
            and actor.person_id == handover.requested_by_person_id
            and actor.agency == handover.from_agency)


def is_receiving_staff(actor: Actor | None, handover) -> bool:
    """Staff of the receiving agency; when the request named a person, only that person."""
    if actor is None or actor.kind != STAFF or not actor.person_id:
        return False
    if actor.agency != handover.to_agency:
        return False
    return handover.to_person_id is None or handover.to_person_id == actor.person_id


def part(actor: Actor | None, handover) -> str | None:
    """The actor's part in this handover as the request names it, consent aside.

    The receiving side has a part only once consent covered it (it was offered): before
    that, not even its existence is shared with an agency outside the consent.
    """
    if is_requester(actor, handover):
        return REQUESTER
    if is_receiving_staff(actor, handover) and handover.offered_at is not None:
        return RECEIVER
    if (actor is not None and actor.kind == CITIZEN and actor.person_id
            and actor.assured  # the consent service's decision on the login's level
            and actor.person_id in (handover.consent_person_ids or [])):
        return CONSENTING_PARTY
    return None


def has_direct_role(role: str | None, handover) -> bool:
    """Staff with a direct role in the child's case: the requesting stafettholder, and the
    receiver once it has accepted (before that it has no part in the log)."""
    return role == REQUESTER or (role == RECEIVER and handover.status in (ACCEPTED, COMPLETED))


def shows_child_name(role: str | None, handover, protected: bool) -> bool:
    """In a protected case (a protective address code) the child's name goes only to
    those with a direct role (``has_direct_role``)."""
    return not protected or has_direct_role(role, handover)


def agency_of(role: str | None, handover) -> tuple[str, str | None] | None:
    """The agency (organisation number, type) consent must cover for a staff role to see
    the handover: the sender's for the requester, the receiver's for the receiver. None
    for those who consent: they see their child's handovers whatever the consent says."""
    if role == REQUESTER:
        return handover.from_agency, handover.from_agency_type
    if role == RECEIVER:
        return handover.to_agency, handover.to_agency_type
    return None


def viewer_role(actor: Actor | None, handover, coverage: Callable[[], Coverage],
                today: date) -> str | None:
    """The actor's part in this handover, or None: then it does not exist for them.

    Staff (requester and receiver alike) see it only while consent covers their side's
    agency: ``coverage()`` is the consent service's decision for the child (asked only
    for staff, at the time of the request), looked up, never judged or kept here. When
    consent ends for an agency, the very next read answers as for a missing handover.
    """
    role = part(actor, handover)
    side = agency_of(role, handover)
    if side is not None and not coverage().covers(side[0], side[1], today):
        return None
    return role


def require_viewer(actor: Actor | None, handover, coverage: Callable[[], Coverage],
                   today: date) -> str:
    role = viewer_role(actor, handover, coverage, today)
    if role is None:
        raise NotFound("no such handover", code="handover.not_found")
    return role


def permissions(role: str | None, handover) -> dict[str, bool]:
    """What the viewer (``role``, from ``require_viewer``) may do with the handover now, by
    the rules the entrypoints apply (``require_side`` and the transitions): the views
    carry them as ``can_*`` flags, so no client repeats them."""
    moves = TRANSITIONS.get(handover.status, set())
    return {"can_accept": role == RECEIVER and ACCEPTED in moves,
            "can_decline": role == RECEIVER and DECLINED in moves,
            "can_cancel": role == REQUESTER and handover.status in CANCELLABLE_STATES,
            "direct_role": has_direct_role(role, handover),
            # those the consent service named may give the consent the request waits for
            "can_consent": role == CONSENTING_PARTY and handover.status == CONSENT_PENDING}


def check_version(expected: int | None, handover) -> None:
    """If-Match: the version the caller last read (None: an internal caller, unchecked;
    the gateway demands it of API clients)."""
    if expected is not None and int(expected) != handover.version:
        raise PreconditionFailed("the handover changed since you read it; read it again")


def require_side(side: str, actor: Actor | None, handover,
                 coverage: Callable[[], Coverage], today: date) -> str:
    """A step for one side: accept and decline the receiver's, cancel the requester's,
    refusing consent theirs who consent for the child.
    Others who may see it learn why not; the rest, that there is no such handover."""
    role = require_viewer(actor, handover, coverage, today)
    if role == side:
        return role
    if side == RECEIVER:
        raise Forbidden("only the receiving agency may accept or decline a handover",
                        code="handover.receiver_only")
    if side == CONSENTING_PARTY:
        raise Forbidden("only those who consent for the child may refuse consent",
                        code="handover.consenting_party_only")
    raise Forbidden("only the one who requested the handover may cancel it",
                    code="handover.requester_only")


def shows_summary(role: str, handover, now: datetime, grace_days: int) -> bool:
    """The summary is for staff: the receiver while it is theirs (and as the record after
    completion); the requester until their grace period after completion has passed."""
    if role == RECEIVER:
        return handover.status in RECEIVER_SUMMARY_STATES
    if role == REQUESTER:
        if handover.status == COMPLETED and handover.completed_at is not None:
            return now <= as_utc(handover.completed_at) + timedelta(days=grace_days)
        return True
    return False


@dataclass(frozen=True)
class Application:
    """What the logs service is asked to apply when a handover has been accepted."""
    log_id: str
    handover_id: str
    new_stafettholder_person_id: str
    receiving_person_ids: list[str]
    grace_days: int


def application(handover, grace_days: int) -> Application:
    if handover.status != ACCEPTED:
        raise Conflict(f"a handover that is {handover.status} is not to be applied",
                       code="handover.not_applicable")
    receiving = [p for p in dict.fromkeys([handover.new_stafettholder_person_id,
                                           *(handover.receiving_person_ids or [])]) if p]
    return Application(handover.log_id, handover.id, handover.new_stafettholder_person_id,
                       receiving, grace_days)


# -- the aggregate ------------------------------------------------------------------------------

class Handover:
    """The handover's behaviour: the mapped row (``models.Handover``) inherits it, so a
    row is the aggregate; a test builds one without a session. Every transition is applied
    here (status, the values that go with it, ``updated_at``, ``version``); it returns the
    status it moved from (``moved_from``, also kept on the object for the store's
    compare-and-set), or None when the current state cannot become the target: then
    nothing changed. Those answering a person raise the reason instead."""

    moved_from = None  # not mapped: the status the last transition left

    @classmethod
    def request(cls, *, id: str, context: dict, receiver: dict, data: dict, actor: Actor,
                covered: bool, consent_person_ids: list[str], summary: dict | None,
                now: datetime, expiry_days: int):
        """A new request: offered at once if consent covers the receiver, else waiting."""
        return cls(
            id=id, log_id=context["log_id"], open_for_log=context["log_id"],
            child_id=context["child_id"], from_agency=context["from_agency"],
            from_agency_type=context.get("from_agency_type"),
            to_agency=receiver["org_number"], to_agency_type=receiver["type"],
            to_person_id=data["to_person_id"], transition=data["transition"],
            status=AWAITING_ACCEPTANCE if covered else CONSENT_PENDING,
            requested_by=actor.ref, requested_by_person_id=actor.person_id,
            note=data["note"], consent_person_ids=consent_person_ids, summary=summary,
            created_at=now, updated_at=now, expires_at=expires_at(now, expiry_days),
            offered_at=now if covered else None, apply_attempts=0, version=1)

    def _become(self, target: str, now: datetime, **values) -> str | None:
        current = self.status
        if target not in TRANSITIONS.get(current, set()):
            return None
        for name, value in values.items():
            setattr(self, name, value)
        self.status, self.updated_at = target, now
        self.version = (self.version or 0) + 1
        if target in TERMINAL_STATES:
            self.open_for_log = None  # the log is free for a new request
        self.moved_from = current
        return current

    # -- a person acts ---------------------------------------------------------------------

    def accept(self, actor: Actor, new_stafettholder_person_id: str,
               participant_person_ids: list[str], *, coverage: Callable[[], Coverage],
               staff: Callable[[str], dict | None], now: datetime, today: date) -> str:
        """The receiver takes the baton, naming the new stafettholder and who joins. Only
        while consent (``coverage()``, the owner's answer) covers the receiving agency, and
        only naming staff of that agency (``staff(person_id)``, the directory's answer)."""
        transition(self.status, ACCEPTED)
        if not self.receiver_covered(coverage(), today):
            raise Conflict("consent no longer covers the receiving agency; the guardians "
                           "(or the youth) must consent before it can be accepted",
                           code="handover.consent_ended")
        holder = new_stafettholder_person_id
        check_named_person(staff(holder), self.to_agency, "new_stafettholder_person_id")
        for index, person_id in enumerate(participant_person_ids):
            check_named_person(staff(person_id), self.to_agency,
                               f"participant_person_ids.{index}")
        receiving = [p for p in dict.fromkeys(participant_person_ids) if p != holder]
        return self._moved(self._become(
            ACCEPTED, now, accepted_at=now, accepted_by_person_id=actor.person_id,
            new_stafettholder_person_id=holder, receiving_person_ids=receiving))

    def decline(self, reason: str | None, now: datetime) -> str:
        transition(self.status, DECLINED)
        return self._moved(self._become(DECLINED, now, reason=reason,
                                        reason_code=DECLINED_REASON, ended_at=now))

    def withdraw(self, reason: str | None, now: datetime) -> str:
        """The requester cancels, before the receiver has taken it."""
        if self.status not in CANCELLABLE_STATES:
            raise Conflict(f"a handover that is {self.status} cannot be cancelled"
                           + ("; the receiver has taken it" if self.status == ACCEPTED
                              else ""), code="handover.not_cancellable")
        return self._moved(self.cancel(REQUESTER_CANCELLED, now,
                                       reason or REASON_TEXTS[REQUESTER_CANCELLED]))

    def refuse_consent(self, now: datetime) -> str:
        """Those who consent say no: the request ends, and the log stays where it is
        (giving consent is a new consent, in the consent service)."""
        if self.status != CONSENT_PENDING:
            raise Conflict(f"a handover that is {self.status} does not wait for consent",
                           code="handover.not_waiting_for_consent")
        return self._moved(self.cancel(CONSENT_REFUSED, now))

    def _moved(self, previous: str | None) -> str:
        if previous is None:
            raise Conflict(f"the handover changed meanwhile; it is now {self.status}",
                           code="handover.changed_meanwhile")
        return previous

    # -- the workflow moves it ---------------------------------------------------------------

    def cancel(self, code: str, now: datetime, text: str | None = None,
               **values) -> str | None:
        return self._become(CANCELLED, now, reason=text or REASON_TEXTS[code],
                            reason_code=code, ended_at=now, **values)

    def expire_if_due(self, now: datetime) -> str | None:
        if self.status not in EXPIRABLE_STATES or not is_due(self.expires_at, now):
            return None
        return self._become(EXPIRED, now, reason_code=EXPIRED_REASON,
                            reason=REASON_TEXTS[EXPIRED_REASON], ended_at=now)

    def receiver_covered(self, coverage: Coverage, today: date) -> bool:
        """The consent service's decision, looked up for the receiving agency."""
        return coverage.covers(self.to_agency, self.to_agency_type, today)

    def sender_covered(self, coverage: Coverage, today: date) -> bool:
        return coverage.covers(self.from_agency, self.from_agency_type, today)

    def follow_consent(self, coverage: Coverage, today: date, now: datetime) -> str | None:
        """What the owner's decision about consent (``coverage``) asks of this handover
        (``consent_action``), applied: offered, or taken back (the receiver no longer sees
        it). The action (``CHECK_APPLICATION``: for the logs service to decide), or None."""
        action = consent_action(self.status, self.receiver_covered(coverage, today))
        if action == OFFER:
            return action if self.offer(now) else None
        if action == BACK_TO_CONSENT:
            return action if self.request_consent(now) else None
        return action  # CHECK_APPLICATION: the logs service decides; or None

    def offer(self, now: datetime) -> str | None:
        """Consent covers the receiver: the request goes to them."""
        return self._become(AWAITING_ACCEPTANCE, now, offered_at=now)

    def request_consent(self, now: datetime) -> str | None:
        """Consent no longer covers the receiver before acceptance: the request waits for
        consent again, and the receiver no longer sees it."""
        return self._become(CONSENT_PENDING, now, offered_at=None)

    def complete(self, now: datetime) -> str | None:
        """The logs service applied it: the receiver holds the baton."""
        return self._become(COMPLETED, now, completed_at=now, ended_at=now,
                            apply_attempts=(self.apply_attempts or 0) + 1,
                            last_apply_error=None)

    def refused(self, code: str | None, error: str, now: datetime) -> str | None:
        """The logs service refused the application (by its error code): nothing moved,
        the sender keeps the baton and the handover ends with the reason."""
        reason = refusal_reason(code)
        extra = {"last_apply_error": error[:500]} if reason == APPLICATION_REFUSED else {}
        return self.cancel(reason, now, apply_attempts=(self.apply_attempts or 0) + 1,
                           **extra)


def refusal_reason(code: str | None) -> str:
    """Why a refused application ended the handover, by the logs service's error code:
    the log was closed after acceptance; consent stopped covering the receiver; anything
    else refuses for good (e.g. no such log)."""
    return {"log.closed": LOG_CLOSED,
            "log.receiver_not_covered": CONSENT_WITHDRAWN}.get(code, APPLICATION_REFUSED)
