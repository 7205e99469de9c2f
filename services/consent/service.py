"""Consent service entrypoints: thin; rules live in domain.py."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.consent import domain, events, keys
from services.consent.fhir import consent_resource
from services.consent.identity_numbers import (InvalidIdentityNumber, InvalidOrganisationNumber,
                                               parse, validate_org_number)
from services.consent.models import Agency, Consent, Guardianship, GuardianshipChange, Person
from services.consent.protection import NumberProtector
from services.consent.register import RegisterPerson, RegisterUnavailable
from services.consent.register import from_config as register_from_config
from services.consent.schemas import (AgencyIn, AgencyOut, ChildOut, ChildSearchIn, ConsentIn,
                                      ConsentOut, StaffIn, StaffOut)
from stafett.actor import CITIZEN, SERVICE, STAFF, SYSTEM
from stafett.audit import audited_work, record_access
from stafett.contracts import load
from stafett.db import Database
from stafett.errors import (EXPECTED, Conflict, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ServiceUnavailable, ValidationFailed)
from stafett.events import Outbox, utcnow
from stafett.ids import new_id
from stafett.request_keys import once
from stafett.rpc import TimeoutRpcProxy
from services.consent.gauges import refresh_gauges
from stafett.gauges import ScrapeGauges
from stafett.service import ServiceBase
from stafett.transparency import AuditEndpoints

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


class NumberProtection(DependencyProvider):
    def setup(self):
        # keys from configuration (e.g. environment from a secret store), else SECRETS_DIR
        self.protector = NumberProtector.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.protector


class Register(DependencyProvider):
    """The population register port (services/consent/register.py), from configuration."""

    def setup(self):
        self.register = register_from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.register


#: why a national identity number is resolved (docs/population-register.md)
LOGIN, SEARCH, REGISTER = "login", "search", "register"


def parse_number(value: str, field: str = "national_id"):
    try:
        return parse(value)
    except InvalidIdentityNumber as exc:
        raise ValidationFailed("invalid national identity number", {field: [str(exc)]},
                               code="national_id.invalid")


class ConsentService(AuditEndpoints, ServiceBase):
    name = "consent"

    db = Database(MIGRATIONS)
    gauges = ScrapeGauges(refresh_gauges)
    events = Outbox()
    numbers = NumberProtection()
    register = Register()
    # told right after a consent stops covering someone, so its projection is never stale
    logs = TimeoutRpcProxy("logs", timeout=2)

    # -- identities -----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def resolve_citizen(self, purpose: str, payload: dict) -> dict:
        """The only RPC whose body carries a national identity number: resolve one to a
        person id (``{"person_id": id or None}``); everything after travels by id.

        - ``login`` (the gateway, for a citizen's ``pid``): a registered person's id, or
          None. Reads only: logging in never creates anyone.
        - ``search`` (staff): a registered child's id, or 404.
        - ``register`` (staff, the platform): the body of ``POST /children`` (national_id
          only). A child new to Stafett is looked up in the population register and its
          register facts are mirrored, inert: nobody sees it, and nobody logs in as it,
          until ``register_child`` completes the registration in one transaction.
        """
        if purpose == LOGIN:
            try:
                number = parse(str((payload or {}).get("national_id") or ""))
            except InvalidIdentityNumber:
                return {"person_id": None}
            person = self._person_by_number(number.value)
            registered = person is not None and person.registered_at is not None
            self.db.rollback()
            return {"person_id": person.id if registered else None}
        if purpose == SEARCH:
            domain.require_staff(self.actor)
            with audited_work(self.db, self.actor, "resolve", "citizen") as work:
                number = parse_number(load(ChildSearchIn(), payload)["national_id"])
                child = self._person_by_number(number.value)
                if child is None or child.kind != "child" or child.registered_at is None:
                    raise NotFound("no child with that national identity number",
                                   code="child.not_found")
                work.object_id = work.subject_id = child.id
                work.protected = self._case_protected(child)
            return {"person_id": child.id}
        if purpose == REGISTER:
            if not (self.actor and self.actor.kind == SERVICE):
                domain.require_staff(self.actor)  # before the body is read
            with audited_work(self.db, self.actor, "resolve", "citizen") as work:
                errors = domain.registration_errors(payload)
                if errors:
                    raise ValidationFailed("register a child by its national id only", errors,
                                           code="child.register_fields")
                number = parse_number(payload["national_id"])
                child = self._person_by_number(number.value)
                if child is not None and child.kind != "child":
                    raise ValidationFailed("that national identity number is not a child's",
                                           {"national_id": ["not a child"]},
                                           code="national_id.not_a_child")
                if child is None:
                    try:
                        child, protected = self._mirror_child(number.value)
                    except IntegrityError:  # the same child, resolved at the same moment
                        raise Conflict("the child is being registered right now; try again",
                                       code="child.registration_race")
                else:
                    protected = self._case_protected(child)
                work.object_id = work.subject_id = child.id
                work.protected = protected
            return {"person_id": child.id}
        raise ValidationFailed("unknown purpose", {"purpose": [f"one of {LOGIN}, {SEARCH}, "
                                                               f"{REGISTER}"]},
                               code="citizen.purpose_unknown")

    @rpc(expected_exceptions=EXPECTED)
    def resolve_actor(self, identity: dict) -> dict:
        """Turn verified token claims (from the gateway) into an actor with a person id.

        Staff are registered just in time on first use. A citizen comes with the person id
        ``resolve_citizen`` gave for their ``pid`` (None: unknown), never with the number.
        """
        kind = identity["kind"]
        if "pid" in identity:
            raise ValidationFailed("national identity numbers travel only in resolve_citizen",
                                   {"pid": ["resolve it with resolve_citizen first"]},
                                   code="citizen.pid_not_resolved")
        actor = {"kind": kind, "acr": identity.get("acr"), "roles": identity.get("roles", []),
                 "scopes": identity.get("scopes", []), "person_id": None,
                 "agency": identity.get("agency"), "agency_type": None}
        if kind == CITIZEN:
            actor["agency"] = None
            person_id = identity.get("person_id")
            person = self.db.get(Person, person_id) if isinstance(person_id, str) else None
            known = (person is not None and person.kind in ("child", "guardian")
                     and person.registered_at is not None)
            actor["person_id"] = person.id if known else None
        elif kind in (STAFF, SYSTEM):
            agency = self.db.scalar(select(Agency).where(
                Agency.org_number == (identity.get("agency") or "")))
            actor["agency_type"] = agency.type if agency else None
            if kind == STAFF and agency is not None:
                subject = f"{identity['issuer']}|{identity['sub']}"
                person = self.db.scalar(select(Person).where(Person.staff_subject == subject))
                if person is None:
                    person = Person(id=new_id(), kind="staff", name=identity.get("name") or "",
                                    agency_id=agency.id, staff_subject=subject,
                                    created_at=utcnow())
                    self.db.add(person)
                    self.db.commit()
                actor["person_id"] = person.id
        self.db.rollback()
        return actor

    # -- registry ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once
    def register_agency(self, payload: dict) -> dict:
        domain.require_internal(self.actor)
        data = load(AgencyIn(), payload)
        try:
            data["org_number"] = validate_org_number(data["org_number"])
        except InvalidOrganisationNumber as exc:
            raise ValidationFailed("invalid organisation number", {"org_number": [str(exc)]},
                                   code="org_number.invalid")
        existing = self.db.scalar(select(Agency).where(Agency.org_number == data["org_number"]))
        if existing:
            return AgencyOut().dump(existing)
        agency = Agency(id=new_id(), **data)
        self.db.add(agency)
        self.db.commit()
        return AgencyOut().dump(agency)

    @rpc(expected_exceptions=EXPECTED)
    def list_agencies(self) -> list[dict]:
        return AgencyOut(many=True).dump(
            self.db.scalars(select(Agency).order_by(Agency.type, Agency.name)).all())

    @rpc(expected_exceptions=EXPECTED)
    @once
    def provision_staff(self, payload: dict) -> dict:
        """Pre-provision a staff member: the platform, or an administrator of the agency."""
        if not (self.actor and self.actor.kind == SERVICE):  # before validation
            domain.require_agency_admin(
                self.actor, payload.get("agency") if isinstance(payload, dict) else None)
        data = load(StaffIn(), payload)
        agency = self._agency(data["agency"])
        subject = f"{data['issuer']}|{data['subject']}"
        with audited_work(self.db, self.actor, "provision", "staff") as work:
            person = self.db.scalar(select(Person).where(Person.staff_subject == subject))
            if person is None:
                person = Person(id=new_id(), kind="staff", staff_subject=subject,
                                created_at=utcnow())
                self.db.add(person)
            person.name, person.agency_id, person.staff_title = (data["name"], agency.id,
                                                                 data["title"])
            work.object_id = person.id
        return self._staff_out(person, agency)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def register_child(self, child_id: str) -> dict:
        """Register (or refresh) a child from the population register: its name, birth
        date, protective code and who has parental responsibility, all from the register,
        in one transaction; never from a request. Idempotent: a refresh that finds no
        change changes nothing. A change of guardianship is kept in its history, audited,
        and told (event ``consent.guardianship_changed``)."""
        actor = self.actor
        if not (actor and actor.kind == SERVICE):
            domain.require_staff(actor)
        with audited_work(self.db, actor, "register", "child", child_id,
                          subject_id=child_id) as work:
            child = self.db.get(Person, child_id) if isinstance(child_id, str) else None
            if child is None or child.kind != "child" or child.nin_ciphertext is None:
                raise NotFound("no such child", code="child.not_found")
            work.protected = self._case_protected(child)
            record, parents = self._from_register(
                self.numbers.decrypt(child.nin_ciphertext, child.id, child.nin_key_id))
            first = child.registered_at is None
            protected_before = self._case_protected(child)
            previous = set(self._guardian_ids(child.id))
            guardians = [self._guardian_from(p) for p in parents]
            protected = domain.case_protected([record.protection]
                                              + [p.protection for p in parents])
            work.protected = protected or protected_before
            self._set_facts(child, record, protected)
            current = {g.id for g in guardians}
            added, removed = domain.guardianship_diff(previous, current)
            self._apply_guardianship(child, added, removed)
            if first:
                child.registered_at = utcnow()
                self.events.emit(self.db, events.CHILD_REGISTERED, child_id=child.id,
                                 data={"guardian_ids": sorted(current),
                                       "protected": protected})
            elif added or removed:
                told = domain.told_of_guardianship_change(previous, current, child.id,
                                                          child.birth_date, date.today(),
                                                          self._policy())
                self.events.emit(self.db, events.GUARDIANSHIP_CHANGED, child_id=child.id,
                                 data=events.guardianship_data(added, removed, current, told,
                                                               protected))
                record_access(self.db, actor, action="change_guardianship",
                              object_type="guardianship", object_id=child.id,
                              subject_id=child.id, outcome="allowed",
                              reason="population register", protected=work.protected)
            elif protected != protected_before:
                self.events.emit(self.db, events.PROTECTION_CHANGED, child_id=child.id,
                                 data={"protected": protected})
            try:
                self.db.flush()
            except IntegrityError:  # a concurrent registration of the same people won
                raise Conflict("the child was registered at the same moment; try again",
                               code="child.registration_race")
        return self._child_out(child)

    # -- lookups ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def my_children(self) -> list[dict]:
        """A guardian's children, or the youth's own record."""
        domain.require_citizen_high(self.actor, self._policy())
        me = self.db.get(Person, self.actor.person_id)
        children = list(self.db.scalars(
            select(Person).join(Guardianship, Guardianship.child_id == Person.id)
            .where(Guardianship.guardian_id == me.id, Person.registered_at.is_not(None))
            .order_by(Person.birth_date, Person.id)).all())
        if me.kind == "child" and domain.sees_own_case(me.birth_date, date.today(),
                                                       self._policy()):
            children.append(me)
        with audited_work(self.db, self.actor, "read", "children") as work:
            work.protected = any(self._case_protected(c) for c in children)
        return [self._child_out(c, direct_role=True) for c in children]

    @rpc(expected_exceptions=EXPECTED)
    def find_child(self, child_id: str) -> dict:
        """Staff look up a child they found by national id (``resolve_citizen`` with the
        purpose ``search`` gave the id). Names in a protected case only to those with a
        direct role in it."""
        domain.require_staff(self.actor)
        with audited_work(self.db, self.actor, "search", "child", child_id,
                          subject_id=child_id) as work:
            child = self._child(child_id)
            work.protected = self._case_protected(child)
        return self._child_out(child)

    @rpc(expected_exceptions=EXPECTED)
    def list_staff(self, org_number: str) -> list[dict]:
        domain.require_staff(self.actor)
        agency = self._agency(org_number)
        people = self.db.scalars(select(Person).where(Person.agency_id == agency.id,
                                                      Person.kind == "staff")
                                 .order_by(Person.name)).all()
        return [self._staff_out(p, agency) for p in people]

    @rpc(expected_exceptions=EXPECTED)
    def staff_member(self, person_id: str) -> dict:
        person = self.db.get(Person, person_id)
        if person is None or person.kind != "staff":
            raise NotFound("no such staff member", code="staff.not_found")
        return self._staff_out(person, self.db.get(Agency, person.agency_id))

    @rpc(expected_exceptions=EXPECTED)
    def child_parties(self, child_id: str) -> dict:
        """The child and its guardians with parental responsibility (for the logs and
        handover services), and whether the case is protected: then whoever shows it
        shows names only to those with a direct role, and nothing that locates them."""
        child = self._child(child_id)
        guardians = [self.db.get(Person, g) for g in self._guardian_ids(child.id)]
        result = {"child": {"id": child.id, "name": child.name,
                            "birth_date": child.birth_date.isoformat()},
                  "guardians": [{"id": g.id, "name": g.name} for g in guardians],
                  "protected": self._case_protected(child)}
        self.db.rollback()
        return result

    @rpc(expected_exceptions=EXPECTED)
    def coverage(self, child_id: str) -> list[dict]:
        """Every open consent of a child: the logs service's synchronous check."""
        consents = self.db.scalars(select(Consent).where(
            Consent.child_id == child_id, Consent.status.in_(domain.OPEN_STATES))).all()
        return [events.consent_data(c) for c in consents]

    # -- consent ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once
    def grant_consent(self, child_id: str, payload: dict) -> dict:
        """Guardians (or the youth) consent digitally; staff record a signed paper form."""
        actor = self.actor
        paper_recorded = actor is not None and actor.kind == STAFF
        today, policy = date.today(), self._policy()
        if paper_recorded:
            domain.require_staff(actor)
        else:
            domain.require_citizen_high(actor, policy)
        with self._audited("grant", "consent", subject_id=child_id) as work:
            child = self._child(child_id)
            guardian_ids = self._guardian_ids(child.id)
            party = domain.consenting_party(child.birth_date, today, policy)
            if not paper_recorded:  # who may consent is decided before the body is read
                domain.check_may_consent(actor.person_id, party, child.id, guardian_ids, policy)
            data = load(ConsentIn(), payload)
            if paper_recorded:
                if data["paper"] is None:
                    raise ValidationFailed("staff record consent from a signed paper form",
                                           {"paper": ["required when staff record consent"]},
                                           code="consent.paper_required")
                domain.check_signatories(data["paper"]["signed_by"], party, child.id,
                                         guardian_ids, policy)
                approvals = set(data["paper"]["signed_by"])
            else:
                approvals = {actor.person_id}
            known = set(self.db.scalars(select(Agency.org_number)).all())
            scope = data["scope"]
            domain.check_scope(scope["agencies"], scope["agency_types"], known)
            if paper_recorded and not domain.covers(scope["agencies"], scope["agency_types"],
                                                    actor.agency, actor.agency_type):
                raise ValidationFailed("staff record consent only for their own agency",
                                       {"scope": ["must cover the recording staff's agency"]},
                                       code="consent.scope_misses_own_agency")
            start, end = domain.validity(data["valid_from"], data["valid_until"], today, policy)
            open_consents = self._open_consents(child.id)
            domain.check_no_overlap(start, end, open_consents, data["supersedes"])
            if paper_recorded and data["supersedes"]:
                replaced = next(c for c in open_consents if c.id == data["supersedes"])
                domain.check_paper_may_replace(replaced, self._agency_of(replaced.recorded_by),
                                               actor.agency)
            consent = Consent(
                id=new_id(), child_id=child.id, consenting_party=party,
                status=domain.status_after_approvals(party, approvals, child.id, guardian_ids,
                                                     policy),
                scope_agencies=scope["agencies"], scope_agency_types=scope["agency_types"],
                purpose=data["purpose"], valid_from=start, valid_until=end,
                method="paper" if paper_recorded else "digital", granted_by=sorted(approvals),
                paper_kind=data["paper"]["kind"] if paper_recorded else None,
                paper_reference=data["paper"]["reference"] if paper_recorded else None,
                recorded_by=actor.person_id if paper_recorded else None,
                supersedes_id=data["supersedes"], created_at=utcnow(), version=1)
            self.db.add(consent)
            work.object_id = consent.id
            if consent.status == domain.ACTIVE:
                self._activate(consent)
        if data["supersedes"]:
            self._tell_logs(child.id)
        return ConsentOut().dump(consent)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def approve_consent(self, consent_id: str, expected_version=None) -> dict:
        """Under the all-guardians policy, each further guardian adds their consent."""
        policy, today = self._policy(), date.today()
        domain.require_citizen_high(self.actor, policy)
        with self._audited("approve", "consent", consent_id) as work:
            consent = self._consent(consent_id)
            work.subject_id = consent.child_id
            guardian_ids = self._guardian_ids(consent.child_id)
            with self._as_missing_consent():
                self._require_not_under_age(consent.child_id)
                domain.check_may_consent(self.actor.person_id, consent.consenting_party,
                                         consent.child_id, guardian_ids, policy)
            if expected_version is None:
                raise PreconditionRequired("send If-Match with the version you last read")
            if int(expected_version) != consent.version:
                raise PreconditionFailed("the consent changed since you read it")
            if consent.status != domain.PENDING:
                raise Conflict(f"the consent is {consent.status}, not pending",
                               code="consent.not_pending")
            approvals = set(consent.granted_by) | {self.actor.person_id}
            consent.granted_by = sorted(approvals)
            consent.version += 1
            consent.status = domain.status_after_approvals(
                consent.consenting_party, approvals, consent.child_id, guardian_ids, policy)
            if consent.status == domain.ACTIVE:
                if consent.valid_from < today:
                    consent.valid_from = today
                self._activate(consent)
        return ConsentOut().dump(consent)

    @rpc(expected_exceptions=EXPECTED)
    def list_consents(self, child_id: str) -> list[dict]:
        with self._audited("read", "consents", subject_id=child_id):
            self._require_may_read(child_id)
            consents = self.db.scalars(select(Consent).where(Consent.child_id == child_id)
                                       .order_by(Consent.created_at)).all()
        return ConsentOut(many=True).dump(consents)

    @rpc(expected_exceptions=EXPECTED)
    def get_consent(self, consent_id: str) -> dict:
        with self._audited("read", "consent", consent_id) as work:
            consent = self._consent(consent_id)
            work.subject_id = consent.child_id
            with self._as_missing_consent():
                self._require_may_read(consent.child_id)
        return ConsentOut().dump(consent)

    @rpc(expected_exceptions=EXPECTED)
    def consent_fhir(self, consent_id: str) -> dict:
        with self._audited("export_fhir", "consent", consent_id) as work:
            consent = self._consent(consent_id)
            work.subject_id = consent.child_id
            with self._as_missing_consent():
                self._require_may_read(consent.child_id)
        return consent_resource(consent)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def withdraw_consent(self, consent_id: str, expected_version=None) -> dict:
        """One call by any one of those who consent (a guardian, or the youth).

        If-Match is optional here, unlike other updates: withdrawing must never be harder
        than granting. When given, a stale version is refused.
        """
        domain.require_citizen_high(self.actor, self._policy())
        with self._audited("withdraw", "consent", consent_id) as work:
            consent = self._consent(consent_id)
            work.subject_id = consent.child_id
            with self._as_missing_consent():
                self._require_not_under_age(consent.child_id)
                domain.check_may_consent(self.actor.person_id, consent.consenting_party,
                                         consent.child_id, self._guardian_ids(consent.child_id),
                                         self._policy())
            if expected_version is not None and int(expected_version) != consent.version:
                raise PreconditionFailed("the consent changed since you read it")
            if consent.status not in domain.OPEN_STATES:
                raise Conflict(f"the consent is already {consent.status}",
                               code="consent.already_ended")
            self._end(consent, domain.WITHDRAWN, events.WITHDRAWN, self.actor.ref)
        self._tell_logs(consent.child_id)
        return ConsentOut().dump(consent)

    # -- expiry -----------------------------------------------------------------------------

    @timer(interval=3600)
    def check_expiry(self) -> dict:
        """Warn before a consent's last day and expire it after; each exactly once, also
        with several replicas (every change is a compare-and-set on the row)."""
        today, policy = date.today(), self._policy()
        counts = {domain.EXPIRE: 0, domain.WARN: 0}
        candidates = self.db.scalars(select(Consent).where(
            Consent.status.in_(domain.OPEN_STATES))).all()
        for consent in candidates:
            action = domain.expiry_action(consent, today, policy)
            if action == domain.EXPIRE:
                was_active = consent.status == domain.ACTIVE
                claimed = self.db.execute(update(Consent).where(
                    Consent.id == consent.id, Consent.status == consent.status).values(
                    status=domain.EXPIRED, ended_at=utcnow(), ended_by="consent:expiry",
                    version=Consent.version + 1)).rowcount
                if claimed:
                    self.db.refresh(consent)
                    self.events.emit(self.db, events.EXPIRED, child_id=consent.child_id,
                                     data=events.consent_data(
                                         consent, self._notify(consent),
                                         self._no_longer_covers(consent, was_active)))
            elif action == domain.WARN:
                claimed = self.db.execute(update(Consent).where(
                    Consent.id == consent.id, Consent.expiring_notified_at.is_(None)).values(
                    expiring_notified_at=utcnow())).rowcount
                if claimed:
                    self.events.emit(self.db, events.EXPIRING, child_id=consent.child_id,
                                     data=events.consent_data(consent, self._notify(consent)))
            else:
                continue
            self.db.commit()
            counts[action] += claimed
            if action == domain.EXPIRE and claimed:
                self._tell_logs(consent.child_id)
        return {"expired": counts[domain.EXPIRE], "warned": counts[domain.WARN]}

    # -- key rotation (operations: stafett keys rotate) -------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def rotate_number_keys(self, action: str, batch_size: int = 500) -> dict:
        """One step of a rotation of the national-id keys (services/consent/keys.py):
        ``status``, ``begin`` (a new current key), ``step`` (re-seal one batch of at most
        ``batch_size`` rows), ``retire`` (the old keys, once no row needs them). The
        platform's own actor only; numbers never leave the service."""
        if not (self.actor and self.actor.kind == SERVICE):
            raise Forbidden("key rotation is for operations", code="number_keys.operations_only")
        actions = {"status": keys.status, "begin": keys.begin, "retire": keys.retire,
                   "step": lambda db, numbers: keys.step(db, numbers, batch_size)}
        if action not in actions or not isinstance(batch_size, int) or \
                not 1 <= batch_size <= 10000:
            raise ValidationFailed("unknown action or batch size",
                                   {"action": [f"one of {sorted(actions)}"],
                                    "batch_size": ["1 to 10000"]},
                                   code="number_keys.unknown_action")
        with audited_work(self.db, self.actor, f"keys_{action}", "number_keys"):
            result = actions[action](self.db, self.numbers)
        return result

    # -- helpers ----------------------------------------------------------------------------

    @contextmanager
    def _audited(self, action: str, object_type: str, object_id: str | None = None,
                 subject_id: str | None = None):
        """``audited_work`` whose record is marked when its subject is a child in a
        protected case (a protective address code): "skjermet" in the access log."""
        with audited_work(self.db, self.actor, action, object_type, object_id,
                          subject_id=subject_id) as work:
            try:
                yield work
            finally:
                if not work.protected and isinstance(work.subject_id, str):
                    work.protected = self._subject_protected(work.subject_id)

    def _subject_protected(self, subject_id: str) -> bool:
        try:
            child = self.db.get(Person, subject_id)
            return child is not None and child.kind == "child" and self._case_protected(child)
        except Exception:  # noqa: BLE001 - a failed transaction: the error itself is reported
            log.warning("could not tell whether an access record's subject is protected")
            return False

    def _policy(self) -> domain.ConsentPolicy:
        return domain.ConsentPolicy.from_config(self.config)

    def _activate(self, consent: Consent) -> None:
        if consent.supersedes_id:
            previous = self._consent(consent.supersedes_id)
            self._end(previous, domain.SUPERSEDED, events.SUPERSEDED, self.actor.ref)
        # a paper form recorded by staff is told to those who consent: a form they never
        # signed does not go unnoticed
        self.events.emit(self.db, events.GRANTED, child_id=consent.child_id,
                         data=events.consent_data(consent, self._notify(consent)
                                                  if consent.method == "paper" else None))

    def _end(self, consent: Consent, status: str, event_type: str, by: str) -> None:
        was_active = consent.status == domain.ACTIVE
        consent.status, consent.ended_at, consent.ended_by = status, utcnow(), by
        consent.version += 1
        self.events.emit(self.db, event_type, child_id=consent.child_id,
                         data=events.consent_data(consent, self._notify(consent),
                                                  self._no_longer_covers(consent, was_active)))

    def _no_longer_covers(self, ended: Consent, was_active: bool) -> list[str]:
        """For the ending event: the agencies this consent covered and no consent in force
        covers now (the notifications service drops what it queued for them)."""
        if not was_active:
            return []
        agencies = self.db.execute(select(Agency.org_number, Agency.type)).all()
        return domain.no_longer_covered(ended, self._open_consents(ended.child_id),
                                        [tuple(a) for a in agencies], date.today())

    def _notify(self, consent: Consent) -> list[str]:
        return sorted(domain.parties_who_consent(consent.consenting_party, consent.child_id,
                                                 self._guardian_ids(consent.child_id)))

    def _tell_logs(self, child_id: str) -> None:
        """After commit: the logs service re-reads coverage now instead of waiting for the
        event, so the very next request is judged on the new state. Best effort: if logs is
        down, it re-checks every projection when it starts, and the event follows."""
        try:
            self.logs.refresh_consent(child_id)
        except ServiceUnavailable:
            log.warning("logs did not take the consent refresh; the event will follow")

    def _require_may_read(self, child_id: str) -> None:
        """Those who consent, the other guardians, the child from the age it sees its own
        case; staff only with a need to know: while a consent covers their agency, those
        who take part in the child's log and whoever recorded an open paper consent."""
        actor, child, policy = self.actor, self._child(child_id), self._policy()
        if actor and actor.kind == CITIZEN:
            domain.require_citizen_high(actor, policy)
            if actor.person_id in set(self._guardian_ids(child.id)):
                return
            if actor.person_id == child.id and domain.sees_own_case(
                    child.birth_date, date.today(), policy):
                return
        elif actor and actor.kind == STAFF and actor.person_id:
            today, open_consents = date.today(), self._open_consents(child.id)
            covered = any(domain.is_in_force(c, today) and domain.covers(
                c.scope_agencies, c.scope_agency_types, actor.agency, actor.agency_type)
                for c in open_consents)
            if covered and (any(c.recorded_by == actor.person_id for c in open_consents)
                            or self.logs.takes_part(child.id)):
                return
        raise NotFound("no such child", code="child.not_found")

    def _require_not_under_age(self, child_id: str) -> None:
        if self.actor.person_id == child_id and not domain.sees_own_case(
                self._child(child_id).birth_date, date.today(), self._policy()):
            raise NotFound("no such child", code="child.not_found")

    def _open_consents(self, child_id: str) -> list[Consent]:
        return list(self.db.scalars(select(Consent).where(
            Consent.child_id == child_id, Consent.status.in_(domain.OPEN_STATES))))

    def _guardian_ids(self, child_id: str) -> list[str]:
        return list(self.db.scalars(select(Guardianship.guardian_id).where(
            Guardianship.child_id == child_id, Guardianship.parental_responsibility.is_(True))))

    def _child(self, child_id: str) -> Person:
        """A registered child (one only resolved for a registration does not exist yet)."""
        child = self.db.get(Person, child_id) if isinstance(child_id, str) else None
        if child is None or child.kind != "child" or child.registered_at is None:
            raise NotFound("no such child", code="child.not_found")
        return child

    def _consent(self, consent_id: str) -> Consent:
        consent = self.db.get(Consent, consent_id)
        if consent is None:
            raise NotFound("no such consent", code="consent.not_found")
        return consent

    @contextmanager
    def _as_missing_consent(self):
        """A consent the actor may not see answers exactly like one that does not exist."""
        try:
            yield
        except NotFound:
            raise NotFound("no such consent", code="consent.not_found")

    def _agency_of(self, person_id: str | None) -> str | None:
        """The organisation number of a staff member's agency."""
        person = self.db.get(Person, person_id) if person_id else None
        agency = self.db.get(Agency, person.agency_id) if person and person.agency_id else None
        return agency.org_number if agency else None

    def _agency(self, org_number: str) -> Agency:
        agency = self.db.scalar(select(Agency).where(Agency.org_number == org_number))
        if agency is None:
            raise NotFound("no such agency", code="agency.not_found")
        return agency

    def _person_by_number(self, number: str) -> Person | None:
        return keys.person_by_number(self.db, self.numbers, number)

    def _new_citizen(self, kind: str, name: str, number: str, birth_date=None) -> Person:
        person = Person(id=new_id(), kind=kind, name=name, birth_date=birth_date,
                        created_at=utcnow())
        person.nin_key_id, person.nin_ciphertext, person.nin_index = \
            self.numbers.protect(number, person.id)
        self.db.add(person)
        self.db.flush()
        return person

    # -- the population register ------------------------------------------------------------

    def _lookup(self, number: str) -> RegisterPerson | None:
        try:
            return self.register.lookup(number)
        except RegisterUnavailable as exc:
            log.warning("population register unavailable: %s", exc)
            raise ServiceUnavailable("the population register is not answering; nothing "
                                     "was registered, try again later",
                                     code="register.unavailable") from None

    def _from_register(self, number: str) -> tuple[RegisterPerson, list[RegisterPerson]]:
        """The child and those with parental responsibility, as the register has them."""
        record = self._lookup(number)
        if record is None:
            raise Conflict("the population register no longer lists this child",
                           code="register.child_not_listed")
        parents = [self._lookup(p) for p in record.parental_responsibility]
        if any(p is None for p in parents):
            raise ServiceUnavailable("the population register gave an incomplete answer "
                                     "(a parent it names is unknown); try again later",
                                     code="register.incomplete_answer")
        return record, parents

    def _mirror_child(self, number: str) -> tuple[Person, bool]:
        """A child new to Stafett: its register facts, inert until ``register_child``;
        and whether its case is protected (its own code or a parent's)."""
        record = self._lookup(number)
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
        parents = [self._lookup(p) for p in record.parental_responsibility]
        child = self._new_citizen("child", record.name, number, birth_date=record.birth_date)
        child.protection = record.protection  # the guardians follow at registration
        return child, domain.case_protected([record.protection]
                                            + [p.protection for p in parents if p])

    def _guardian_from(self, record: RegisterPerson) -> Person:
        guardian = self._person_by_number(record.national_id)
        if guardian is None:
            guardian = self._new_citizen("guardian", record.name, record.national_id)
        guardian.name, guardian.birth_date = record.name, record.birth_date
        guardian.protection, guardian.municipality = record.protection, None
        if guardian.registered_at is None and guardian.kind != "child":
            guardian.registered_at = utcnow()
        return guardian

    @staticmethod
    def _set_facts(child: Person, record: RegisterPerson, protected: bool) -> None:
        child.name, child.birth_date, child.protection = (record.name, record.birth_date,
                                                          record.protection)
        # the municipality of anyone in a protected case is never stored
        child.municipality = None if protected else record.municipality

    def _apply_guardianship(self, child: Person, added: set[str], removed: set[str]) -> None:
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

    def _case_protected(self, child: Person) -> bool:
        codes = [child.protection] + list(self.db.scalars(
            select(Person.protection).join(Guardianship, Guardianship.guardian_id == Person.id)
            .where(Guardianship.child_id == child.id,
                   Guardianship.parental_responsibility.is_(True))))
        return domain.case_protected(codes)

    def _has_direct_role(self, child: Person) -> bool:
        """The platform, the child's guardians, the child, and staff who take part in its
        log while a consent covers their agency."""
        actor = self.actor
        if actor is None:
            return False
        if actor.kind == SERVICE:
            return True
        if actor.kind == CITIZEN:
            return actor.person_id == child.id or actor.person_id in set(
                self._guardian_ids(child.id))
        if actor.kind == STAFF and actor.person_id:
            today = date.today()
            covered = any(domain.is_in_force(c, today) and domain.covers(
                c.scope_agencies, c.scope_agency_types, actor.agency, actor.agency_type)
                for c in self._open_consents(child.id))
            if not covered:
                return False
            try:
                return bool(self.logs.takes_part(child.id))
            except ServiceUnavailable:
                return False  # when in doubt, no names
        return False

    def _child_out(self, child: Person, direct_role: bool | None = None) -> dict:
        guardians = self.db.scalars(select(Person).join(
            Guardianship, Guardianship.guardian_id == Person.id)
            .where(Guardianship.child_id == child.id,
                   Guardianship.parental_responsibility.is_(True))
            .order_by(Person.birth_date, Person.id)).all()
        protected = self._case_protected(child)
        if protected and direct_role is None:
            direct_role = self._has_direct_role(child)
        named = domain.shows_names(protected, bool(direct_role))
        return ChildOut().dump({"id": child.id, "name": child.name if named else None,
                                "birth_date": child.birth_date, "protected": protected,
                                "guardians": [{"id": g.id, "name": g.name if named else None}
                                              for g in guardians]})

    @staticmethod
    def _staff_out(person: Person, agency: Agency) -> dict:
        return StaffOut().dump({"id": person.id, "name": person.name,
                                "title": person.staff_title, "agency": agency.org_number,
                                "agency_type": agency.type,
                                "municipality": agency.municipality})
