"""The consent service's storage and its population register port, behind one object per
worker (``Store``): loading rows, mirroring the register, and the views it answers with.
No rule is decided here (they are in domain.py); the entrypoints (service.py) only
orchestrate."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from nameko.extensions import DependencyProvider
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.consent import domain, keys
from services.consent.identity_numbers import (InvalidIdentityNumber, InvalidOrganisationNumber,
                                               parse, validate_org_number)
from services.consent.models import Agency, Consent, Guardianship, GuardianshipChange, Person
from services.consent.register import RegisterPerson, RegisterUnavailable
from services.consent.schemas import ChildOut, ConsentOut, StaffOut
from stafett.actor import CITIZEN, SERVICE, STAFF
from stafett.audit import audited_work, record_access
from stafett.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from stafett.events import utcnow
from stafett.ids import new_id

log = logging.getLogger(__name__)


def parse_number(value: str, field: str = "national_id"):
    try:
        return parse(value)
    except InvalidIdentityNumber as exc:
        raise ValidationFailed("invalid national identity number", {field: [str(exc)]},
                               code="national_id.invalid")


class FromConfig(DependencyProvider):
    """One object made from configuration at start (``make(config)``), shared by workers:
    the number protection, the population register port."""

    def __init__(self, make):
        self.make = make

    def setup(self):
        self.made = self.make(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.made


@dataclass
class Registration:
    """What a registration from the population register changed (for the events)."""
    child: Person
    first: bool
    protected: bool
    protected_before: bool
    previous: set[str]
    current: set[str]
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    told: list[str] = field(default_factory=list)  # who hears of a change of guardianship


class Store:
    def __init__(self, db, numbers, register, actor, takes_part, policy=None):
        self.db, self.numbers, self.register, self.actor = db, numbers, register, actor
        self._takes_part = takes_part  # the logs service's answer, asked only when needed
        self.policy = policy or domain.ConsentPolicy()  # for what the views say one may do

    # -- loading ----------------------------------------------------------------------------

    def child(self, child_id: str) -> Person:
        """A registered child (one only resolved for a registration does not exist yet)."""
        child = self.db.get(Person, child_id) if isinstance(child_id, str) else None
        if child is None or child.kind != "child" or child.registered_at is None:
            raise NotFound("no such child", code="child.not_found")
        return child

    def consent(self, consent_id: str) -> Consent:
        consent = self.db.get(Consent, consent_id)
        if consent is None:
            raise NotFound("no such consent", code="consent.not_found")
        return consent

    def consents(self, child_id: str) -> list[Consent]:
        return list(self.db.scalars(select(Consent).where(Consent.child_id == child_id)
                                    .order_by(Consent.created_at)))

    def open_consents(self, child_id: str) -> list[Consent]:
        return list(self.db.scalars(select(Consent).where(
            Consent.child_id == child_id, Consent.status.in_(domain.OPEN_STATES))))

    def all_open_consents(self) -> list[Consent]:
        return list(self.db.scalars(select(Consent).where(
            Consent.status.in_(domain.OPEN_STATES))))

    def guardian_ids(self, child_id: str) -> list[str]:
        return list(self.db.scalars(select(Guardianship.guardian_id).where(
            Guardianship.child_id == child_id, Guardianship.parental_responsibility.is_(True))))

    def guardians(self, child_id: str) -> list[Person]:
        return list(self.db.scalars(select(Person).join(
            Guardianship, Guardianship.guardian_id == Person.id)
            .where(Guardianship.child_id == child_id,
                   Guardianship.parental_responsibility.is_(True))
            .order_by(Person.birth_date, Person.id)))

    def children_of(self, person: Person, today: date, policy) -> list[Person]:
        """A guardian's children, or the youth's own record."""
        children = list(self.db.scalars(
            select(Person).join(Guardianship, Guardianship.child_id == Person.id)
            .where(Guardianship.guardian_id == person.id, Person.registered_at.is_not(None))
            .order_by(Person.birth_date, Person.id)))
        if person.kind == "child" and domain.sees_own_case(person.birth_date, today, policy):
            children.append(person)
        return children

    def agency_or_none(self, org_number: str) -> Agency | None:
        return self.db.scalar(select(Agency).where(Agency.org_number == org_number))

    def agency(self, org_number: str) -> Agency:
        agency = self.agency_or_none(org_number)
        if agency is None:
            raise NotFound("no such agency", code="agency.not_found")
        return agency

    def agencies(self) -> list[Agency]:
        return list(self.db.scalars(select(Agency).order_by(Agency.type, Agency.name)))

    def org_numbers(self) -> set[str]:
        return set(self.db.scalars(select(Agency.org_number)))

    def agency_of(self, person_id: str | None) -> str | None:
        """The organisation number of a staff member's agency."""
        person = self.db.get(Person, person_id) if person_id else None
        agency = self.db.get(Agency, person.agency_id) if person and person.agency_id else None
        return agency.org_number if agency else None

    def staff(self, person_id: str) -> tuple[Person, Agency]:
        person = self.db.get(Person, person_id)
        if person is None or person.kind != "staff":
            raise NotFound("no such staff member", code="staff.not_found")
        return person, self.db.get(Agency, person.agency_id)

    def staff_names(self, refs: list, most: int = 600) -> dict:
        """``{"person:<id>": {name, title, agency, agency_name, agency_type}}`` of the
        staff members among ``refs`` (others are left out)."""
        ids = {ref.removeprefix("person:") for ref in refs[:most]
               if isinstance(ref, str) and ref.startswith("person:")}
        rows = self.db.execute(select(Person, Agency).join(
            Agency, Agency.id == Person.agency_id).where(
            Person.id.in_(ids), Person.kind == "staff")).all()
        return {f"person:{person.id}": {"name": person.name, "title": person.staff_title,
                                        "agency": agency.org_number,
                                        "agency_name": agency.name,
                                        "agency_type": agency.type}
                for person, agency in rows}

    def staff_of(self, agency: Agency) -> list[Person]:
        return list(self.db.scalars(select(Person).where(
            Person.agency_id == agency.id, Person.kind == "staff").order_by(Person.name)))

    def register_agency(self, data: dict) -> Agency:
        """An agency new to the registry (not committed); one already there stays as is."""
        try:
            data["org_number"] = validate_org_number(data["org_number"])
        except InvalidOrganisationNumber as exc:
            raise ValidationFailed("invalid organisation number", {"org_number": [str(exc)]},
                                   code="org_number.invalid")
        agency = self.agency_or_none(data["org_number"])
        if agency is None:
            agency = Agency(id=new_id(), **data)
            self.db.add(agency)
        return agency

    def staff_by_subject(self, subject: str, **fields) -> Person:
        """A staff member by token subject; new ones are added (not committed)."""
        person = self.db.scalar(select(Person).where(Person.staff_subject == subject))
        if person is None:
            person = Person(id=new_id(), kind="staff", staff_subject=subject,
                            created_at=utcnow(), **fields)
            self.db.add(person)
        return person

    def person_by_number(self, number: str) -> Person | None:
        return keys.person_by_number(self.db, self.numbers, number)

    # -- decisions that need rows -----------------------------------------------------------

    def case_protected(self, child: Person) -> bool:
        return domain.case_protected([child.protection] + [g.protection
                                                           for g in self.guardians(child.id)])

    def subject_protected(self, subject_id: str) -> bool:
        try:
            child = self.db.get(Person, subject_id)
            return child is not None and child.kind == "child" and self.case_protected(child)
        except Exception:  # noqa: BLE001 - a failed transaction: the error itself is reported
            log.warning("could not tell whether an access record's subject is protected")
            return False

    def require_may_read(self, child_id: str, today: date, policy) -> None:
        """Those who consent, the other guardians, the child from the age it sees its own
        case; staff only with a need to know (domain.staff_need_to_know)."""
        actor, child = self.actor, self.child(child_id)
        if actor and actor.kind == CITIZEN:
            if domain.citizen_may_read(actor, child.id, child.birth_date,
                                       self.guardian_ids(child.id), today, policy):
                return
        elif actor and domain.staff_need_to_know(actor, self.open_consents(child.id), today,
                                                 lambda: self._takes_part(child.id)):
            return
        raise NotFound("no such child", code="child.not_found")

    def require_not_under_age(self, child_id: str, today: date, policy) -> None:
        if self.actor.person_id == child_id and not domain.sees_own_case(
                self.child(child_id).birth_date, today, policy):
            raise NotFound("no such child", code="child.not_found")

    def readable(self, consent_id: str, action: str, today: date) -> Consent:
        """A consent the actor may read (audited); one they may not answers like one that
        does not exist."""
        with self.audited(action, "consent", consent_id) as work:
            consent = self.consent(consent_id)
            work.subject_id = consent.child_id
            try:
                self.require_may_read(consent.child_id, today, self.policy)
            except NotFound:
                raise NotFound("no such consent", code="consent.not_found")
        return consent

    def require_consenting(self, consent: Consent, today: date, policy) -> list[str]:
        """The actor is one of those who consent (else: as if the consent did not exist,
        or why not); answers the child's guardians."""
        guardian_ids = self.guardian_ids(consent.child_id)
        try:
            self.require_not_under_age(consent.child_id, today, policy)
            domain.check_may_consent(self.actor.person_id, consent.consenting_party,
                                     consent.child_id, guardian_ids, policy)
        except NotFound:
            raise NotFound("no such consent", code="consent.not_found")
        return guardian_ids

    def has_direct_role(self, child: Person, today: date) -> bool:
        """The platform, the child's guardians, the child, and staff who take part in its
        log while a consent covers their agency."""
        actor = self.actor
        if actor is None:
            return False
        if actor.kind == SERVICE:
            return True
        if actor.kind == CITIZEN:
            return actor.person_id == child.id or actor.person_id in set(
                self.guardian_ids(child.id))
        if actor.kind == STAFF and actor.person_id:
            if not domain.covered_now(self.open_consents(child.id), actor.agency,
                                      actor.agency_type, today):
                return False
            try:
                return bool(self._takes_part(child.id))
            except ServiceUnavailable:
                return False  # when in doubt, no names
        return False

    def notify(self, consent: Consent) -> list[str]:
        return sorted(domain.parties_who_consent(consent.consenting_party, consent.child_id,
                                                 self.guardian_ids(consent.child_id)))

    def no_longer_covers(self, ended: Consent, was_active: bool, today: date) -> list[str]:
        """For the ending event: the agencies this consent covered and no consent in force
        covers now (the notifications service drops what it queued for them)."""
        if not was_active:
            return []
        agencies = self.db.execute(select(Agency.org_number, Agency.type)).all()
        return domain.no_longer_covered(ended, self.open_consents(ended.child_id),
                                        [tuple(a) for a in agencies], today)

    # -- expiry: compare-and-set, so each happens once also with several replicas ---------

    def claim(self, consent: Consent, action: str) -> int:
        """The expiry timer's ``action`` (domain.EXPIRE or WARN) on one consent: 1 if this
        replica did it, 0 if another did first."""
        return (self.claim_expiry if action == domain.EXPIRE else self.claim_warning)(consent)

    def claim_expiry(self, consent: Consent) -> int:
        """Expire the row unless another replica changed its status first (then 0)."""
        claimed = self.db.execute(update(Consent).where(
            Consent.id == consent.id, Consent.status == consent.status).values(
            status=domain.EXPIRED, ended_at=utcnow(), ended_by=domain.EXPIRED_BY,
            version=Consent.version + 1)).rowcount
        if claimed:
            self.db.refresh(consent)
        return claimed

    def claim_warning(self, consent: Consent) -> int:
        return self.db.execute(update(Consent).where(
            Consent.id == consent.id, Consent.expiring_notified_at.is_(None)).values(
            expiring_notified_at=utcnow())).rowcount

    # -- audit ------------------------------------------------------------------------------

    @contextmanager
    def audited(self, action: str, object_type: str, object_id: str | None = None,
                subject_id: str | None = None):
        """``audited_work`` whose record is marked when its subject is a child in a
        protected case (a protective address code): "skjermet" in the access log."""
        with audited_work(self.db, self.actor, action, object_type, object_id,
                          subject_id=subject_id) as work:
            try:
                yield work
            finally:
                if not work.protected and isinstance(work.subject_id, str):
                    work.protected = self.subject_protected(work.subject_id)

    # -- the population register ------------------------------------------------------------

    def lookup(self, number: str) -> RegisterPerson | None:
        try:
            return self.register.lookup(number)
        except RegisterUnavailable as exc:
            log.warning("population register unavailable: %s", exc)
            raise ServiceUnavailable("the population register is not answering; nothing "
                                     "was registered, try again later",
                                     code="register.unavailable") from None

    def from_register(self, number: str) -> tuple[RegisterPerson, list[RegisterPerson]]:
        """The child and those with parental responsibility, as the register has them."""
        record = self.lookup(number)
        if record is None:
            raise Conflict("the population register no longer lists this child",
                           code="register.child_not_listed")
        parents = [self.lookup(p) for p in record.parental_responsibility]
        if any(p is None for p in parents):
            raise ServiceUnavailable("the population register gave an incomplete answer "
                                     "(a parent it names is unknown); try again later",
                                     code="register.incomplete_answer")
        return record, parents

    def child_to_register(self, number: str) -> tuple[Person, bool]:
        """The child with this number for a registration, mirrored from the register when
        new to Stafett; and whether its case is protected."""
        child = self.person_by_number(number)
        if child is not None and child.kind != "child":
            raise ValidationFailed("that national identity number is not a child's",
                                   {"national_id": ["not a child"]},
                                   code="national_id.not_a_child")
        if child is not None:
            return child, self.case_protected(child)
        try:
            return self.mirror_child(number)
        except IntegrityError:  # the same child, resolved at the same moment
            raise Conflict("the child is being registered right now; try again",
                           code="child.registration_race")

    def mirror_child(self, number: str) -> tuple[Person, bool]:
        """A child new to Stafett: its register facts, inert until ``register_child``;
        and whether its case is protected (its own code or a parent's)."""
        record = self.lookup(number)
        if record is None:
            raise ValidationFailed("the population register has no person with that "
                                   "national identity number",
                                   {"national_id": ["not in the population register"]},
                                   code="register.person_unknown")
        if not domain.is_minor(record.birth_date, date.today()):
            raise ValidationFailed("that national identity number is not a child's",
                                   {"national_id": [f"not a child (under "
                                                    f"{domain.ADULT_AGE})"]},
                                   code="national_id.not_a_child")
        parents = [self.lookup(p) for p in record.parental_responsibility]
        child = self.new_citizen("child", record.name, number, birth_date=record.birth_date)
        child.protection = record.protection  # the guardians follow at registration
        return child, domain.case_protected([record.protection]
                                            + [p.protection for p in parents if p])

    def register_child(self, child_id: str, work, today: date, policy) -> Registration:
        """Name, birth date, protective code and guardianship of a mirrored child from the
        register, as it says now; ``work.protected`` follows as soon as it is known."""
        child = self.db.get(Person, child_id) if isinstance(child_id, str) else None
        if child is None or child.kind != "child" or child.nin_ciphertext is None:
            raise NotFound("no such child", code="child.not_found")
        work.protected = protected_before = self.case_protected(child)
        record, parents = self.from_register(
            self.numbers.decrypt(child.nin_ciphertext, child.id, child.nin_key_id))
        previous = set(self.guardian_ids(child.id))
        guardians = [self.guardian_from(p) for p in parents]
        protected = domain.case_protected([record.protection] + [p.protection for p in parents])
        work.protected = protected or protected_before
        child.name, child.birth_date, child.protection = (record.name, record.birth_date,
                                                          record.protection)
        # the municipality of anyone in a protected case is never stored
        child.municipality = None if protected else record.municipality
        current = {g.id for g in guardians}
        result = Registration(child, child.registered_at is None, protected, protected_before,
                              previous, current, *domain.guardianship_diff(previous, current))
        self.apply_guardianship(child, result.added, result.removed)
        result.told = domain.told_of_guardianship_change(previous, current, child.id,
                                                         child.birth_date, today, policy)
        if result.first:
            child.registered_at = utcnow()
        return result

    def record_guardianship_change(self, child_id: str, protected: bool) -> None:
        """The register changed who has parental responsibility: in the access log too."""
        record_access(self.db, self.actor, action="change_guardianship",
                      object_type="guardianship", object_id=child_id, subject_id=child_id,
                      outcome="allowed", reason="population register", protected=protected)

    def flush_registration(self) -> None:
        try:
            self.db.flush()
        except IntegrityError:  # a concurrent registration of the same people won
            raise Conflict("the child was registered at the same moment; try again",
                           code="child.registration_race")

    def new_citizen(self, kind: str, name: str, number: str, birth_date=None) -> Person:
        person = Person(id=new_id(), kind=kind, name=name, birth_date=birth_date,
                        created_at=utcnow())
        person.nin_key_id, person.nin_ciphertext, person.nin_index = \
            self.numbers.protect(number, person.id)
        self.db.add(person)
        self.db.flush()
        return person

    def guardian_from(self, record: RegisterPerson) -> Person:
        guardian = self.person_by_number(record.national_id)
        if guardian is None:
            guardian = self.new_citizen("guardian", record.name, record.national_id)
        guardian.name, guardian.birth_date = record.name, record.birth_date
        guardian.protection, guardian.municipality = record.protection, None
        if guardian.registered_at is None and guardian.kind != "child":
            guardian.registered_at = utcnow()
        return guardian

    def apply_guardianship(self, child: Person, added: set[str], removed: set[str]) -> None:
        now, by = utcnow(), self.actor.ref if self.actor else "consent"
        for guardian_id in sorted(added):
            self.db.add(Guardianship(child_id=child.id, guardian_id=guardian_id,
                                     parental_responsibility=True))
        for guardian_id in sorted(removed):
            row = self.db.get(Guardianship, (child.id, guardian_id))
            if row is not None:
                self.db.delete(row)
        for change, ids in (("added", added), ("removed", removed)):
            for guardian_id in sorted(ids):
                self.db.add(GuardianshipChange(id=new_id(), child_id=child.id,
                                               guardian_id=guardian_id, change=change,
                                               changed_at=now, requested_by=by))

    # -- views ------------------------------------------------------------------------------

    def child_out(self, child: Person, direct_role: bool | None = None) -> dict:
        """``can_consent``: whether the actor may give (or change) the child's consent
        today (``domain.may_decide``)."""
        guardians, today = self.guardians(child.id), date.today()
        protected = self.case_protected(child)
        if protected and direct_role is None:
            direct_role = self.has_direct_role(child, today)
        named = domain.shows_names(protected, bool(direct_role))
        policy = self.policy
        can_consent = child.birth_date is not None and domain.may_decide(
            self.actor, domain.consenting_party(child.birth_date, today, policy), child.id,
            [g.id for g in guardians], child.birth_date, today, policy)
        return ChildOut().dump({"id": child.id, "name": child.name if named else None,
                                "birth_date": child.birth_date, "protected": protected,
                                "guardians": [{"id": g.id, "name": g.name if named else None}
                                              for g in guardians],
                                "can_consent": can_consent})

    def consent_out(self, consent: Consent) -> dict:
        """A consent with what the actor may do with it now (``domain.viewer_may``)."""
        child = self.db.get(Person, consent.child_id)
        return {**ConsentOut().dump(consent), **domain.viewer_may(
            self.actor, consent, self.guardian_ids(consent.child_id),
            child.birth_date if child else None, date.today(), self.policy)}

    def child_parties(self, child: Person, today: date, policy) -> dict:
        """Also the age rules' answers for today: who consents for the child
        (``consenting_party``, ``consenting_person_ids``) and whether it sees its own case
        (``sees_own_case``): consent's decisions, which others use and do not copy."""
        guardian_ids = self.guardian_ids(child.id)
        guardians = [self.db.get(Person, g) for g in guardian_ids]
        party = domain.consenting_party(child.birth_date, today, policy)
        return {"child": {"id": child.id, "name": child.name,
                          "birth_date": child.birth_date.isoformat()},
                "guardians": [{"id": g.id, "name": g.name} for g in guardians],
                "protected": self.case_protected(child), "consenting_party": party,
                "sees_own_case": domain.sees_own_case(child.birth_date, today, policy),
                "consenting_person_ids": sorted(domain.parties_who_consent(
                    party, child.id, guardian_ids))}

    @staticmethod
    def staff_out(person: Person, agency: Agency) -> dict:
        return StaffOut().dump({"id": person.id, "name": person.name,
                                "title": person.staff_title, "agency": agency.org_number,
                                "agency_type": agency.type,
                                "municipality": agency.municipality})
