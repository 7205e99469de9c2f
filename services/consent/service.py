"""Consent service entrypoints: thin; rules live in domain.py."""
from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy import select

from services.consent import domain, events
from services.consent.identity_numbers import (InvalidIdentityNumber, InvalidOrganisationNumber,
                                               parse, validate_org_number)
from services.consent.models import Agency, Consent, Guardianship, Person
from services.consent.protection import NumberProtector
from services.consent.schemas import (AgencyIn, AgencyOut, ChildIn, ChildOut, ChildSearchIn,
                                      ConsentIn, ConsentOut, StaffIn, StaffOut)
from stafett.actor import CITIZEN, STAFF, SYSTEM, Actor
from stafett.db import Database
from stafett.errors import EXPECTED, Conflict, NotFound, ValidationFailed
from stafett.events import Outbox, utcnow
from stafett.service import ServiceBase

MIGRATIONS = Path(__file__).parent / "migrations"


class NumberProtection(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.protector = NumberProtector.from_directory(
            config.get("SECRETS_DIR", "var/secrets"),
            create=str(config.get("SECRETS_CREATE", "true")).lower() == "true")

    def get_dependency(self, worker_ctx):
        return self.protector


def load(schema, payload):
    try:
        return schema.load(payload or {})
    except ValidationError as exc:
        raise ValidationFailed("the request has invalid fields", exc.messages)


def parse_number(value: str, field: str = "national_id"):
    try:
        return parse(value)
    except InvalidIdentityNumber as exc:
        raise ValidationFailed("invalid national identity number", {field: [str(exc)]})


def new_id() -> str:
    return str(uuid.uuid4())


class ConsentService(ServiceBase):
    name = "consent"

    db = Database(MIGRATIONS)
    events = Outbox()
    numbers = NumberProtection()

    # -- identities -----------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def resolve_actor(self, identity: dict) -> dict:
        """Turn verified token claims (from the gateway) into an actor with a person id.

        Staff are registered just in time on first use; citizens are matched by the blind
        index of their national identity number (unknown citizens get no person id).
        """
        kind = identity["kind"]
        actor = {"kind": kind, "acr": identity.get("acr"), "roles": identity.get("roles", []),
                 "scopes": identity.get("scopes", []), "person_id": None,
                 "agency": identity.get("agency"), "agency_type": None}
        if kind == CITIZEN:
            try:
                number = parse(identity.get("pid", ""))
            except InvalidIdentityNumber:
                return actor
            person = self.db.scalar(select(Person).where(
                Person.nin_index == self.numbers.blind_index(number.value)))
            actor["person_id"] = person.id if person else None
            actor["agency"] = None
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
        return actor

    # -- registry administration -------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def register_agency(self, payload: dict) -> dict:
        domain.require_internal(self.actor)
        data = load(AgencyIn(), payload)
        try:
            data["org_number"] = validate_org_number(data["org_number"])
        except InvalidOrganisationNumber as exc:
            raise ValidationFailed("invalid organisation number", {"org_number": [str(exc)]})
        existing = self.db.scalar(select(Agency).where(Agency.org_number == data["org_number"]))
        if existing:
            return AgencyOut().dump(existing)
        agency = Agency(id=new_id(), **data)
        self.db.add(agency)
        self.db.commit()
        return AgencyOut().dump(agency)

    @rpc(expected_exceptions=EXPECTED)
    def provision_staff(self, payload: dict) -> dict:
        domain.require_internal(self.actor)
        data = load(StaffIn(), payload)
        agency = self._agency(data["agency"])
        subject = f"{data['issuer']}|{data['subject']}"
        person = self.db.scalar(select(Person).where(Person.staff_subject == subject))
        if person is None:
            person = Person(id=new_id(), kind="staff", staff_subject=subject,
                            created_at=utcnow())
            self.db.add(person)
        person.name, person.agency_id, person.staff_title = data["name"], agency.id, data["title"]
        self.db.commit()
        return self._staff_out(person, agency)

    @rpc(expected_exceptions=EXPECTED)
    def register_child(self, payload: dict) -> dict:
        domain.require_internal(self.actor)
        data = load(ChildIn(), payload)
        child_number = parse_number(data["national_id"])
        child = self._person_by_number(child_number.value)
        if child is None:
            child = self._new_citizen("child", data["name"], child_number.value,
                                      birth_date=child_number.birth_date)
        for index, guardian_data in enumerate(data["guardians"]):
            number = parse_number(guardian_data["national_id"], f"guardians.{index}.national_id")
            guardian = (self._person_by_number(number.value)
                        or self._new_citizen("guardian", guardian_data["name"], number.value))
            if self.db.get(Guardianship, (child.id, guardian.id)) is None:
                self.db.add(Guardianship(
                    child_id=child.id, guardian_id=guardian.id,
                    parental_responsibility=guardian_data["parental_responsibility"]))
        self.db.commit()
        return self._child_out(child)

    # -- lookups ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def my_children(self) -> list[dict]:
        domain.require_citizen_high(self.actor)
        children = self.db.scalars(
            select(Person).join(Guardianship, Guardianship.child_id == Person.id)
            .where(Guardianship.guardian_id == self.actor.person_id)).all()
        return [self._child_out(c) for c in children]

    @rpc(expected_exceptions=EXPECTED)
    def find_child(self, payload: dict) -> dict:
        """Staff look a child up by national id in a request body, never in a URL."""
        domain.require_staff(self.actor)
        number = parse_number(load(ChildSearchIn(), payload)["national_id"])
        child = self._person_by_number(number.value)
        if child is None or child.kind != "child":
            raise NotFound("no child with that national identity number")
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
            raise NotFound("no such staff member")
        return self._staff_out(person, self.db.get(Agency, person.agency_id))

    @rpc(expected_exceptions=EXPECTED)
    def child_parties(self, child_id: str) -> dict:
        """Person ids of the child and its guardians with parental responsibility."""
        child = self.db.get(Person, child_id)
        if child is None or child.kind != "child":
            raise NotFound("no such child")
        guardians = [self.db.get(Person, g) for g in self._guardian_ids(child.id)]
        return {"child": {"id": child.id, "name": child.name,
                          "birth_date": child.birth_date.isoformat()},
                "guardians": [{"id": g.id, "name": g.name} for g in guardians]}

    @rpc(expected_exceptions=EXPECTED)
    def coverage(self, child_id: str) -> list[dict]:
        """Active consents for a child: the logs service's synchronous fallback."""
        today = date.today()
        consents = self.db.scalars(select(Consent).where(
            Consent.child_id == child_id, Consent.status == domain.ACTIVE)).all()
        return [events.consent_data(c) for c in consents
                if c.valid_from <= today <= c.valid_until]

    # -- consent ------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def grant_consent(self, child_id: str, payload: dict) -> dict:
        domain.require_citizen_high(self.actor)
        child = self.db.get(Person, child_id)
        if child is None or child.kind != "child":
            raise NotFound("no such child")
        guardian_ids = set(self._guardian_ids(child.id))
        if not domain.may_grant(self.actor, guardian_ids, child.id):
            raise NotFound("no such child")  # a stranger learns nothing about the child
        data = load(ConsentIn(), payload)
        known = set(self.db.scalars(select(Agency.org_number)).all())
        domain.check_scope(data["scope"]["agencies"], data["scope"]["agency_types"], known)
        start, end = domain.validity(data["valid_from"], data["valid_until"], date.today(),
                                     self._policy())
        if self.db.scalar(select(Consent).where(Consent.child_id == child.id,
                                                Consent.status == domain.ACTIVE)):
            raise Conflict("the child already has an active consent; withdraw it first")
        consent = Consent(id=new_id(), child_id=child.id, status=domain.ACTIVE,
                          scope_agencies=data["scope"]["agencies"],
                          scope_agency_types=data["scope"]["agency_types"],
                          purpose=data["purpose"], valid_from=start, valid_until=end,
                          method="digital", granted_by=[self.actor.person_id],
                          created_at=utcnow())
        self.db.add(consent)
        self.events.emit(self.db, events.GRANTED, child_id=child.id,
                         data=events.consent_data(consent))
        self.db.commit()
        return ConsentOut().dump(consent)

    @rpc(expected_exceptions=EXPECTED)
    def list_consents(self, child_id: str) -> list[dict]:
        self._require_guardian_of(child_id)
        consents = self.db.scalars(select(Consent).where(Consent.child_id == child_id)
                                   .order_by(Consent.created_at)).all()
        return ConsentOut(many=True).dump(consents)

    @rpc(expected_exceptions=EXPECTED)
    def withdraw_consent(self, consent_id: str) -> dict:
        consent = self.db.get(Consent, consent_id)
        if consent is None:
            raise NotFound("no such consent")
        self._require_guardian_of(consent.child_id)
        if consent.status != domain.ACTIVE:
            raise Conflict(f"the consent is already {consent.status}")
        consent.status, consent.ended_at, consent.ended_by = (domain.WITHDRAWN, utcnow(),
                                                              self.actor.ref)
        self.events.emit(self.db, events.WITHDRAWN, child_id=consent.child_id,
                         data=events.consent_data(consent))
        self.db.commit()
        return ConsentOut().dump(consent)

    # -- helpers ----------------------------------------------------------------------------

    def _policy(self) -> domain.ConsentPolicy:
        config = self.config
        return domain.ConsentPolicy(default_days=int(config.get("CONSENT_DEFAULT_DAYS", 365)),
                                    max_days=int(config.get("CONSENT_MAX_DAYS", 1095)))

    def _require_guardian_of(self, child_id: str) -> None:
        domain.require_citizen_high(self.actor)
        if self.actor.person_id not in self._guardian_ids(child_id):
            raise NotFound("no such child")

    def _guardian_ids(self, child_id: str) -> list[str]:
        return list(self.db.scalars(select(Guardianship.guardian_id).where(
            Guardianship.child_id == child_id, Guardianship.parental_responsibility.is_(True))))

    def _agency(self, org_number: str) -> Agency:
        agency = self.db.scalar(select(Agency).where(Agency.org_number == org_number))
        if agency is None:
            raise NotFound("no such agency")
        return agency

    def _person_by_number(self, number: str) -> Person | None:
        return self.db.scalar(select(Person).where(
            Person.nin_index == self.numbers.blind_index(number)))

    def _new_citizen(self, kind: str, name: str, number: str, birth_date=None) -> Person:
        person = Person(id=new_id(), kind=kind, name=name, birth_date=birth_date,
                        nin_index=self.numbers.blind_index(number), created_at=utcnow())
        person.nin_ciphertext = self.numbers.encrypt(number, person.id)
        self.db.add(person)
        self.db.flush()
        return person

    def _child_out(self, child: Person) -> dict:
        guardians = self.db.scalars(select(Person).join(
            Guardianship, Guardianship.guardian_id == Person.id)
            .where(Guardianship.child_id == child.id)).all()
        return ChildOut().dump({"id": child.id, "name": child.name,
                                "birth_date": child.birth_date,
                                "guardians": [{"id": g.id, "name": g.name} for g in guardians]})

    @staticmethod
    def _staff_out(person: Person, agency: Agency) -> dict:
        return StaffOut().dump({"id": person.id, "name": person.name,
                                "title": person.staff_title, "agency": agency.org_number,
                                "agency_type": agency.type})
