"""Rules of consent and parties, free of nameko and the ORM's sessions.

Who consents: below the configured age (default 15) the guardians with parental
responsibility, under one of two deployment policies (one guardian suffices, or all must
consent); from that age the youth alone. Withdrawal is as easy as granting: any one
consenting party withdraws.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.consent.identity_numbers import age_on
from stafett.actor import CITIZEN, SERVICE, STAFF, Actor
from stafett.config import comma_list
from stafett.coverage import Coverage, Covered, Window
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ValidationFailed, coded)

AGENCY_TYPES = ("kindergarten", "school", "health_station", "ppt", "child_welfare", "nav",
                "bup", "other")
PENDING, ACTIVE, WITHDRAWN, EXPIRED, SUPERSEDED = (
    "pending", "active", "withdrawn", "expired", "superseded")
#: states a consent can still leave; the others are history
OPEN_STATES = (PENDING, ACTIVE)
HIGH_ASSURANCE = "idporten-loa-high"
ANY_GUARDIAN, ALL_GUARDIANS = "any", "all"
YOUTH, GUARDIANS = "youth", "guardians"
PAPER_KINDS = ("signed_form", "signed_form_scanned")


@dataclass(frozen=True)
class ConsentPolicy:
    default_days: int = 365
    max_days: int = 1095
    youth_age: int = 15
    child_min_age: int = 12            # below it the child sees nothing of its case
    guardians: str = ANY_GUARDIAN      # "any": one guardian suffices; "all": every guardian
    expiring_days: int = 30
    # the ID-porten levels at which citizens read and decide consent (and guardians see
    # the child's case), and at which the child sees its own case
    citizen_acr: tuple[str, ...] = (HIGH_ASSURANCE,)
    child_acr: tuple[str, ...] = (HIGH_ASSURANCE,)

    @classmethod
    def from_config(cls, config) -> "ConsentPolicy":
        policy = cls(default_days=int(config.get("CONSENT_DEFAULT_DAYS", 365)),
                     max_days=int(config.get("CONSENT_MAX_DAYS", 1095)),
                     youth_age=int(config.get("CONSENT_YOUTH_AGE", 15)),
                     child_min_age=int(config.get("LOG_CHILD_MIN_AGE", 12)),
                     guardians=str(config.get("CONSENT_GUARDIANS", ANY_GUARDIAN)),
                     expiring_days=int(config.get("CONSENT_EXPIRING_DAYS", 30)),
                     citizen_acr=comma_list(config.get("CONSENT_CITIZEN_ACR", HIGH_ASSURANCE)),
                     child_acr=comma_list(config.get("CONSENT_CHILD_ACR", HIGH_ASSURANCE)))
        if policy.guardians not in (ANY_GUARDIAN, ALL_GUARDIANS):
            raise ValueError("CONSENT_GUARDIANS must be 'any' or 'all'")
        return policy


# -- actors ----------------------------------------------------------------------------------

def require_internal(actor: Actor | None) -> None:
    """Registry administration: the platform itself (seed, registry integrations)."""
    if actor is None or actor.kind != SERVICE:
        raise Forbidden("only an internal administrator may do this",
                        code="platform.internal_admin_only")


def require_citizen_high(actor: Actor | None, policy: ConsentPolicy = ConsentPolicy()) -> None:
    """A known citizen, logged in at a level the policy accepts (high, unless configured)."""
    if actor is None or actor.kind != CITIZEN or not actor.person_id:
        raise NotFound("no such child", code="child.not_found")
    if actor.acr not in policy.citizen_acr:
        raise Forbidden("this needs login at assurance level "
                        + " or ".join(policy.citizen_acr), code="login.assurance_too_low")


def assured(person_kind: str | None, acr: str | None, policy: ConsentPolicy) -> bool:
    """Is a citizen's login enough for them to see their case? The guardian at the citizen
    levels, the child at the child's: the one answer every service uses (``Actor.assured``,
    set by ``resolve_actor``). Deciding consent itself always needs ``require_citizen_high``."""
    levels = policy.child_acr if person_kind == "child" else policy.citizen_acr
    return person_kind in ("child", "guardian") and acr in levels


def require_staff(actor: Actor | None) -> None:
    if actor is None or actor.kind != STAFF or not actor.person_id:
        raise NotFound("not found", code="resource.not_found")


def require_agency_admin(actor: Actor | None, org_number: str) -> None:
    require_staff(actor)
    if actor.agency != org_number or "agency_admin" not in actor.roles:
        raise Forbidden("only an administrator of this agency may register its staff",
                        code="agency.admin_only")


# -- who consents ---------------------------------------------------------------------------

def sees_own_case(birth_date: date | None, today: date, policy: ConsentPolicy) -> bool:
    """The child reads its own consents from the age it may read its log."""
    return birth_date is not None and age_on(birth_date, today) >= policy.child_min_age


def consenting_party(birth_date: date, today: date, policy: ConsentPolicy) -> str:
    return YOUTH if age_on(birth_date, today) >= policy.youth_age else GUARDIANS


def parties_who_consent(party: str, child_id: str, guardian_ids: list[str]) -> set[str]:
    return {child_id} if party == YOUTH else set(guardian_ids)


def check_may_consent(actor_person_id: str, party: str, child_id: str,
                      guardian_ids: list[str], policy: ConsentPolicy) -> None:
    """May this person grant or withdraw the child's consent?"""
    if actor_person_id in parties_who_consent(party, child_id, guardian_ids):
        return
    if party == YOUTH and actor_person_id in guardian_ids:
        raise Forbidden(f"from the age of {policy.youth_age} the youth consents alone",
                        code="consent.youth_consents_alone")
    if party == GUARDIANS and actor_person_id == child_id:
        raise Forbidden(f"until the age of {policy.youth_age} the guardians consent",
                        code="consent.guardians_consent")
    raise NotFound("no such child",
                   code="child.not_found")  # a stranger learns nothing about the child


def may_decide(actor: Actor | None, party: str, child_id: str, guardian_ids,
               birth_date: date | None, today: date, policy: ConsentPolicy) -> bool:
    """Would this actor pass as one of those who consent for the child (``party``): a
    citizen at the policy's level (``require_citizen_high``), not a child below the age it
    sees its own case, and one of ``parties_who_consent`` (``check_may_consent``)? The
    views' ``can_*`` flags ask this, so no client decides who consents."""
    if actor is None or actor.kind != CITIZEN or not actor.person_id:
        return False
    if actor.acr not in policy.citizen_acr:
        return False
    if actor.person_id == child_id and not sees_own_case(birth_date, today, policy):
        return False
    return actor.person_id in parties_who_consent(party, child_id, guardian_ids)


def viewer_may(actor: Actor | None, consent, guardian_ids, birth_date: date | None,
               today: date, policy: ConsentPolicy) -> dict[str, bool]:
    """What the viewer may do with this consent now (``withdraw_consent``,
    ``approve_consent``): withdraw an open one, approve a pending one they have not."""
    decides = may_decide(actor, consent.consenting_party, consent.child_id, guardian_ids,
                         birth_date, today, policy)
    return {"can_withdraw": decides and consent.status in OPEN_STATES,
            "can_approve": (decides and consent.status == PENDING
                            and actor.person_id not in (consent.granted_by or []))}


def status_after_approvals(party: str, approvals: set[str], child_id: str,
                           guardian_ids: list[str], policy: ConsentPolicy) -> str:
    """``active`` once the policy's parties have all consented, else ``pending``."""
    required = parties_who_consent(party, child_id, guardian_ids)
    if party == GUARDIANS and policy.guardians == ANY_GUARDIAN:
        return ACTIVE if approvals & required else PENDING
    return ACTIVE if required and required <= approvals else PENDING


def check_signatories(signed_by: list[str], party: str, child_id: str,
                      guardian_ids: list[str], policy: ConsentPolicy) -> None:
    """A paper form counts only when signed by those who consent."""
    signatories = set(signed_by)
    strangers = signatories - parties_who_consent(party, child_id, guardian_ids)
    if strangers or status_after_approvals(party, signatories, child_id, guardian_ids,
                                           policy) != ACTIVE:
        who = ("the youth" if party == YOUTH else
               "a guardian" if policy.guardians == ANY_GUARDIAN else "every guardian")
        raise ValidationFailed("the form is not signed by those who consent",
                               {"paper.signed_by": [f"must be signed by {who} (and no one else)"]},
                               code="consent.paper_signatories")


# -- validity and scope ----------------------------------------------------------------------

def validity(valid_from: date | None, valid_until: date | None, today: date,
             policy: ConsentPolicy) -> tuple[date, date]:
    start = valid_from or today
    end = valid_until or start + timedelta(days=policy.default_days)
    errors = {}
    if start < today:
        errors["valid_from"] = [coded("consent.starts_in_past", "must not be in the past")]
    if end <= start:
        errors["valid_until"] = [coded("consent.ends_before_start", "must be after valid_from")]
    elif end > start + timedelta(days=policy.max_days):
        errors["valid_until"] = [coded("consent.too_long",
                                        f"at most {policy.max_days} days after valid_from",
                                        max_days=policy.max_days)]
    if errors:
        raise ValidationFailed("the validity period is not allowed", errors,
                               code="consent.validity_period")
    return start, end


def check_scope(agencies: list[str], agency_types: list[str], known_agencies: set[str]) -> None:
    if not agencies and not agency_types:
        raise ValidationFailed("consent must name at least one agency or agency type",
                               {"scope": ["name at least one agency or agency type"]},
                               code="consent.scope_empty")
    unknown = sorted(set(agencies) - known_agencies)
    if unknown:
        raise ValidationFailed("the scope names an unknown agency",
                               {"scope.agencies": [f"unknown agency {o}" for o in unknown]},
                               code="consent.scope_unknown_agency")


def overlaps(start: date, end: date, other_start: date, other_end: date) -> bool:
    return start <= other_end and other_start <= end


def check_no_overlap(start: date, end: date, open_consents, supersedes: str | None) -> None:
    """One consent at a time: a new one must not overlap an open one it does not replace."""
    if supersedes and supersedes not in {c.id for c in open_consents}:
        raise ValidationFailed("'supersedes' must name an open consent of this child",
                               {"supersedes": ["not an open consent of this child"]},
                               code="consent.supersedes_not_open")
    for consent in open_consents:
        if consent.id != supersedes and overlaps(start, end, consent.valid_from,
                                                 consent.valid_until):
            raise Conflict("the child already has a consent for this period; withdraw it "
                           "or name it in 'supersedes'", code="consent.period_overlaps")


def check_paper_may_replace(replaced, replaced_recorded_by_agency: str | None,
                            agency: str | None) -> None:
    """Staff may record a paper form in place of an earlier paper form their own agency
    recorded; never in place of a consent the guardians or the youth gave themselves
    (that they change themselves), nor of another agency's form (which would let one
    agency write another out of the case)."""
    if replaced is None:
        return
    if replaced.method != "paper":
        raise Forbidden("a consent given digitally is changed or withdrawn only by those "
                        "who gave it", code="consent.digital_changed_by_givers")
    if replaced_recorded_by_agency != agency:
        raise Forbidden("a paper form recorded by another agency is changed by that agency "
                        "or by those who consent",
                        code="consent.paper_changed_by_recording_agency")


def covers(scope_agencies: list[str], scope_types: list[str], agency: str | None,
           agency_type: str | None) -> bool:
    """Does a scope name this agency (by number or by type)? Dates and status aside."""
    return Covered(frozenset(scope_agencies), frozenset(scope_types)).covers(agency, agency_type)


def coverage_of(consent) -> Coverage:
    """The decision one consent makes, which this service sends to the others (events,
    ``coverage``): an active consent covers its scope on each day of its validity, first
    and last day included; a pending or ended one covers nobody."""
    if consent.status != ACTIVE:
        return Coverage()
    return Coverage((Window(consent.valid_from, consent.valid_until,
                            frozenset(consent.scope_agencies),
                            frozenset(consent.scope_agency_types)),))


def child_coverage(consents) -> Coverage:
    """What a child's consents together cover, day by day."""
    return Coverage(tuple(w for c in consents for w in coverage_of(c).windows))


def is_in_force(consent, today: date) -> bool:
    return consent.status == ACTIVE and consent.valid_from <= today <= consent.valid_until


def no_longer_covered(ended, others, agencies, today: date) -> list[str]:
    """The organisation numbers an ending consent covered that no other consent in force
    today covers: the agencies every service must stop showing this child's data to.

    ``ended`` was active until now (a pending consent never covered anyone: pass nothing);
    ``others`` are the child's other open consents; ``agencies`` the registry's
    ``(org_number, type)`` pairs. One rule, ``covers``, decides both sides.
    """
    still = child_coverage(c for c in others if c.id != ended.id).on(today)
    known = dict(agencies)
    candidates = [*known.items(), *((org, None) for org in ended.scope_agencies
                                    if org not in known)]
    return sorted({org for org, agency_type in candidates
                   if covers(ended.scope_agencies, ended.scope_agency_types, org, agency_type)
                   and not still.covers(org, agency_type)})


def check_grant(data: dict, recording_staff: Actor | None, party: str, child_id: str,
                guardian_ids, known_agencies: set[str], open_consents, agency_of,
                today: date, policy: ConsentPolicy) -> tuple[date, date]:
    """May this consent be granted as asked? Answers its validity period.

    ``recording_staff``: the staff member recording a signed paper form (None: given
    digitally by those who consent); ``agency_of(person_id)``: the organisation number of
    the agency of whoever recorded a consent being replaced."""
    if recording_staff is not None:
        if data["paper"] is None:
            raise ValidationFailed("staff record consent from a signed paper form",
                                   {"paper": ["required when staff record consent"]},
                                   code="consent.paper_required")
        check_signatories(data["paper"]["signed_by"], party, child_id, guardian_ids, policy)
    scope = data["scope"]
    check_scope(scope["agencies"], scope["agency_types"], known_agencies)
    if recording_staff is not None and not covers(scope["agencies"], scope["agency_types"],
                                                  recording_staff.agency,
                                                  recording_staff.agency_type):
        raise ValidationFailed("staff record consent only for their own agency",
                               {"scope": ["must cover the recording staff's agency"]},
                               code="consent.scope_misses_own_agency")
    start, end = validity(data["valid_from"], data["valid_until"], today, policy)
    check_no_overlap(start, end, open_consents, data["supersedes"])
    if recording_staff is not None and data["supersedes"]:
        replaced = next(c for c in open_consents if c.id == data["supersedes"])
        check_paper_may_replace(replaced, agency_of(replaced.recorded_by),
                                recording_staff.agency)
    return start, end


# -- need to know -----------------------------------------------------------------------------

def covered_now(open_consents, agency: str | None, agency_type: str | None,
                today: date) -> bool:
    """Does a consent in force today cover this agency?"""
    return child_coverage(open_consents).covers(agency, agency_type, today)


def staff_need_to_know(actor: Actor, open_consents, today: date, takes_part) -> bool:
    """Staff see a child's consents only with a need to know: while a consent covers their
    agency, if they take part in the child's log (``takes_part()``, asked only then) or
    recorded one of its open paper consents."""
    if not (actor.kind == STAFF and actor.person_id):
        return False
    if not covered_now(open_consents, actor.agency, actor.agency_type, today):
        return False
    return (any(c.recorded_by == actor.person_id for c in open_consents)
            or bool(takes_part()))


def citizen_may_read(actor: Actor, child_id: str, birth_date: date | None,
                     guardian_ids, today: date, policy: "ConsentPolicy") -> bool:
    """A citizen (at the policy's level) reads a child's consents as one of its guardians,
    or as the child itself from the age it sees its own case."""
    require_citizen_high(actor, policy)
    if actor.person_id in set(guardian_ids):
        return True
    return actor.person_id == child_id and sees_own_case(birth_date, today, policy)


# -- a consent's behaviour -------------------------------------------------------------------

def check_version(expected, current: int, required: bool) -> None:
    """If-Match: ``required`` refuses a missing version; a stale one is always refused."""
    if expected is None:
        if required:
            raise PreconditionRequired("send If-Match with the version you last read")
        return
    if int(expected) != current:
        raise PreconditionFailed("the consent changed since you read it")


class ConsentBehaviour:
    """What a consent does to itself: it guards its own state and bumps its own version.
    Mixed into the table's row class (``models.Consent``); any object with the same
    attributes works, so the rules are tested without a database."""

    @classmethod
    def grant(cls, id: str, child_id: str, party: str, data: dict, by: Actor,
              guardian_ids, period: tuple[date, date], policy: "ConsentPolicy", now):
        """A new consent (``data`` passed ``check_grant``, which gave ``period``): given
        digitally by a citizen (``by``), or recorded by staff (``by``) from a paper form
        its signatories signed; active once those who consent all have (by the policy)."""
        paper = data["paper"] if by.kind == STAFF else None
        approvals = set(paper["signed_by"]) if paper else {by.person_id}
        return cls(id=id, child_id=child_id, consenting_party=party,
                   status=status_after_approvals(party, approvals, child_id, guardian_ids,
                                                 policy),
                   scope_agencies=data["scope"]["agencies"],
                   scope_agency_types=data["scope"]["agency_types"],
                   purpose=data["purpose"], valid_from=period[0], valid_until=period[1],
                   method="paper" if paper else "digital", granted_by=sorted(approvals),
                   paper_kind=paper["kind"] if paper else None,
                   paper_reference=paper["reference"] if paper else None,
                   recorded_by=by.person_id if paper else None,
                   supersedes_id=data["supersedes"], created_at=now, version=1)

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def approve(self, person_id: str, guardian_ids, policy: "ConsentPolicy", today: date,
                expected_version) -> bool:
        """A further guardian adds their consent (If-Match required). True when this made
        it active; then it is valid from today at the earliest."""
        check_version(expected_version, self.version, required=True)
        if self.status != PENDING:
            raise Conflict(f"the consent is {self.status}, not pending",
                           code="consent.not_pending")
        approvals = set(self.granted_by) | {person_id}
        self.granted_by = sorted(approvals)
        self.version += 1
        self.status = status_after_approvals(self.consenting_party, approvals, self.child_id,
                                             guardian_ids, policy)
        if self.status == ACTIVE and self.valid_from < today:
            self.valid_from = today
        return self.status == ACTIVE

    def withdraw(self, by: str, now, expected_version=None) -> bool:
        """Withdrawn by one of those who consent. If-Match optional: withdrawing is never
        harder than granting; a stale version is refused. True if it was active."""
        check_version(expected_version, self.version, required=False)
        if self.status not in OPEN_STATES:
            raise Conflict(f"the consent is already {self.status}",
                           code="consent.already_ended")
        return self._end(WITHDRAWN, by, now)

    def supersede(self, by: str, now) -> bool:
        """Replaced by a newer consent (which may cover less). True if it was active."""
        return self._end(SUPERSEDED, by, now)

    def expire(self, now) -> bool:
        """Past its last day. True if it was active."""
        return self._end(EXPIRED, EXPIRED_BY, now)

    def _end(self, status: str, by: str, now) -> bool:
        was_active = self.status == ACTIVE
        self.status, self.ended_at, self.ended_by = status, now, by
        self.version += 1
        return was_active


# -- expiry ----------------------------------------------------------------------------------

EXPIRE, WARN = "expire", "warn"
#: who ended an expired consent (``ended_by``)
EXPIRED_BY = "consent:expiry"


def expiry_action(consent, today: date, policy: ConsentPolicy) -> str | None:
    """What the expiry timer does with a consent today.

    A consent is valid through its ``valid_until`` date and expired from the day after;
    the warning goes out ``expiring_days`` before that last day, once.
    """
    if consent.status not in OPEN_STATES:
        return None
    if today > consent.valid_until:
        return EXPIRE
    if (consent.status == ACTIVE and consent.expiring_notified_at is None
            and today >= consent.valid_until - timedelta(days=policy.expiring_days)):
        return WARN
    return None


# -- the population register ----------------------------------------------------------------

ADULT_AGE = 18
#: the only member of a registration: the rest comes from the population register
REGISTRATION_FIELDS = ("national_id",)
FROM_REGISTER = {
    "guardians": "guardians come from the population register (Folkeregisteret), never "
                 "from a request; send only national_id",
    "name": "the name comes from the population register (Folkeregisteret); send only "
            "national_id",
    "birth_date": "the birth date comes from the population register (Folkeregisteret); "
                  "send only national_id",
}


def registration_errors(payload) -> dict:
    """Field errors of a registration body: national_id only, and never who the guardians
    are (the register says that)."""
    if not isinstance(payload, dict):
        return {"_schema": [coded("field.not_an_object", "send a JSON object with national_id")]}
    errors = {key: [coded("child.field_from_register", FROM_REGISTER[key]) if key in FROM_REGISTER
                    else coded("field.unknown", "unknown field; send only national_id")]
              for key in payload if key not in REGISTRATION_FIELDS}
    if "national_id" not in payload:
        errors["national_id"] = [coded("field.required", "Missing data for required field.")]
    return errors


def is_minor(birth_date: date, today: date) -> bool:
    return age_on(birth_date, today) < ADULT_AGE


def guardianship_diff(current: set[str], registered: set[str]) -> tuple[set[str], set[str]]:
    """(added, removed): the register is the truth, the database follows it."""
    return registered - current, current - registered


def told_of_guardianship_change(previous: set[str], current: set[str], child_id: str,
                                birth_date: date | None, today: date,
                                policy: ConsentPolicy) -> list[str]:
    """Who hears that parental responsibility changed: the guardians who had it and keep
    it (the real guardians learn of anyone added), and the youth from the consent age. A
    newly added guardian is not told of its own addition, and someone who lost parental
    responsibility is told nothing more about the child."""
    told = set(previous & current)
    if birth_date is not None and age_on(birth_date, today) >= policy.youth_age:
        told.add(child_id)
    return sorted(told)


def case_protected(codes) -> bool:
    """A case is protected when the child or any guardian with parental responsibility
    has a protective address code: finding the child finds the parent."""
    return any(code for code in codes)


def shows_names(protected: bool, has_direct_role: bool) -> bool:
    """Names in a protected case only to those with a direct role in it."""
    return not protected or has_direct_role
