"""Consent service entrypoints and wiring only: each loads (store.py), asks the domain
(domain.py, the ``Consent`` row's own behaviour), records, emits and dumps."""
from __future__ import annotations

import logging
from datetime import date

from nameko.rpc import rpc
from nameko.timer import timer

from services.consent import domain, events, identities, keys
from services.consent.access_review import ConsentAccessReview
from services.consent.fhir import consent_resource
from services.consent.gauges import refresh_gauges
from services.consent.models import Consent, Person
from services.consent.protection import NumberProtector
from services.consent.register import from_config as register_from_config
from services.consent.schemas import AgencyIn, AgencyOut, ConsentIn, StaffIn
from services.consent.store import FromConfig, Store
from stafett.actor import SERVICE, STAFF
from stafett.audit import audited_work
from stafett.contracts import load
from stafett.errors import EXPECTED, Forbidden, ServiceUnavailable
from stafett.events import Outbox, utcnow
from stafett.gauges import ScrapeGauges
from stafett.ids import new_id
from stafett.request_keys import once
from stafett.rpc import TimeoutRpcProxy
from stafett.service import DomainService

log = logging.getLogger(__name__)


class ConsentService(ConsentAccessReview, DomainService):
    name = "consent"

    gauges = ScrapeGauges(refresh_gauges)
    events = Outbox()
    # keys from configuration (e.g. environment from a secret store), else SECRETS_DIR
    numbers = FromConfig(NumberProtector.from_config)
    register = FromConfig(register_from_config)  # the population register port
    # told right after a consent stops covering someone, so its projection is never stale
    logs = TimeoutRpcProxy("logs", timeout=2)

    @property
    def store(self) -> Store:
        return Store(self.db, self.numbers, self.register, self.actor, self.logs.takes_part,
                     self.policy)

    @property
    def policy(self) -> domain.ConsentPolicy:
        return domain.ConsentPolicy.from_config(self.config)

    # -- identities -----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def resolve_citizen(self, purpose: str, payload: dict) -> dict:
        """The only RPC whose body carries a national identity number (identities.py)."""
        return identities.resolve_citizen(self.store, purpose, payload)

    @rpc(expected_exceptions=EXPECTED)
    def resolve_actor(self, identity: dict) -> dict:
        """Turn verified token claims (from the gateway) into an actor with a person id."""
        return identities.resolve_actor(self.store, identity, self.policy)

    # -- registry ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once
    def register_agency(self, payload: dict) -> dict:
        domain.require_internal(self.actor)
        agency = self.store.register_agency(load(AgencyIn(), payload))
        if self.db.new:  # one already registered is answered as it is
            self.db.commit()
        return AgencyOut().dump(agency)

    @rpc(expected_exceptions=EXPECTED)
    def list_agencies(self) -> list[dict]:
        return AgencyOut(many=True).dump(self.store.agencies())

    @rpc(expected_exceptions=EXPECTED)
    @once
    def provision_staff(self, payload: dict) -> dict:
        """Pre-provision a staff member: the platform, or an administrator of the agency."""
        if not (self.actor and self.actor.kind == SERVICE):  # before validation
            domain.require_agency_admin(
                self.actor, payload.get("agency") if isinstance(payload, dict) else None)
        data, store = load(StaffIn(), payload), self.store
        agency = store.agency(data["agency"])
        with audited_work(self.db, self.actor, "provision", "staff") as work:
            person = store.staff_by_subject(f"{data['issuer']}|{data['subject']}")
            person.name, person.agency_id, person.staff_title = (data["name"], agency.id,
                                                                 data["title"])
            work.object_id = person.id
        return store.staff_out(person, agency)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def register_child(self, child_id: str) -> dict:
        """Register (or refresh) a child from the population register, never from a request
        (store.register_child); a change of guardianship is audited and told."""
        actor, store = self.actor, self.store
        if not (actor and actor.kind == SERVICE):
            domain.require_staff(actor)
        with audited_work(self.db, actor, "register", "child", child_id,
                          subject_id=child_id) as work:
            done = store.register_child(child_id, work, date.today(), self.policy)
            for event_type, data in events.of_registration(done):
                self.events.emit(self.db, event_type, child_id=child_id, data=data)
            if (done.added or done.removed) and not done.first:
                store.record_guardianship_change(child_id, work.protected)
            store.flush_registration()
        return store.child_out(done.child)

    # -- lookups ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def my_children(self) -> list[dict]:
        """A guardian's children, or the youth's own record."""
        domain.require_citizen_high(self.actor, self.policy)
        store = self.store
        children = store.children_of(self.db.get(Person, self.actor.person_id), date.today(),
                                     self.policy)
        with audited_work(self.db, self.actor, "read", "children") as work:
            work.protected = any(store.case_protected(c) for c in children)
        return [store.child_out(c, direct_role=True) for c in children]

    @rpc(expected_exceptions=EXPECTED)
    def find_child(self, child_id: str) -> dict:
        """Staff look up a child they found by national id (``resolve_citizen``: search)."""
        domain.require_staff(self.actor)
        store = self.store
        with audited_work(self.db, self.actor, "search", "child", child_id,
                          subject_id=child_id) as work:
            child = store.child(child_id)
            work.protected = store.case_protected(child)
        return store.child_out(child)

    @rpc(expected_exceptions=EXPECTED)
    def list_staff(self, org_number: str) -> list[dict]:
        domain.require_staff(self.actor)
        agency = self.store.agency(org_number)
        return [self.store.staff_out(p, agency) for p in self.store.staff_of(agency)]

    @rpc(expected_exceptions=EXPECTED)
    def staff_member(self, person_id: str) -> dict:
        return self.store.staff_out(*self.store.staff(person_id))

    @rpc(expected_exceptions=EXPECTED)
    def child_parties(self, child_id: str) -> dict:
        """The child, its guardians with parental responsibility, who consents, whether the
        case is protected (names only to a direct role): for the logs and handover services."""
        result = self.store.child_parties(self.store.child(child_id), date.today(), self.policy)
        self.db.rollback()
        return result

    @rpc(expected_exceptions=EXPECTED)
    def coverage(self, child_id: str) -> list[dict]:
        """Every open consent of a child with ``coverage``, what it decided each covers."""
        return [events.consent_data(c) for c in self.store.open_consents(child_id)]

    # -- consent ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once
    def grant_consent(self, child_id: str, payload: dict) -> dict:
        """Guardians (or the youth) consent digitally; staff record a signed paper form."""
        actor, store, today, policy = self.actor, self.store, date.today(), self.policy
        staff = actor if actor is not None and actor.kind == STAFF else None  # a paper form
        if staff:
            domain.require_staff(actor)
        else:
            domain.require_citizen_high(actor, policy)
        with store.audited("grant", "consent", subject_id=child_id) as work:
            child = store.child(child_id)
            guardian_ids = store.guardian_ids(child.id)
            party = domain.consenting_party(child.birth_date, today, policy)
            if not staff:  # who may consent is decided before the body is read
                domain.check_may_consent(actor.person_id, party, child.id, guardian_ids, policy)
            data = load(ConsentIn(), payload)
            start, end = domain.check_grant(data, staff, party, child.id, guardian_ids,
                                            store.org_numbers(), store.open_consents(child.id),
                                            store.agency_of, today, policy)
            consent = Consent.grant(new_id(), child.id, party, data, actor, guardian_ids,
                                    (start, end), policy, utcnow())
            self.db.add(consent)
            work.object_id = consent.id
            if consent.is_active:
                self._activate(store, consent)
        if data["supersedes"]:
            self._tell_logs(child.id)
        return self.store.consent_out(consent)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def approve_consent(self, consent_id: str, expected_version=None) -> dict:
        """Under the all-guardians policy, each further guardian adds their consent."""
        store, policy, today = self.store, self.policy, date.today()
        domain.require_citizen_high(self.actor, policy)
        with store.audited("approve", "consent", consent_id) as work:
            consent = store.consent(consent_id)
            work.subject_id = consent.child_id
            guardian_ids = store.require_consenting(consent, date.today(), policy)
            if consent.approve(self.actor.person_id, guardian_ids, policy, today,
                               expected_version):
                self._activate(store, consent)
        return self.store.consent_out(consent)

    @rpc(expected_exceptions=EXPECTED)
    def list_consents(self, child_id: str) -> list[dict]:
        store = self.store
        with store.audited("read", "consents", subject_id=child_id):
            store.require_may_read(child_id, date.today(), self.policy)
            consents = store.consents(child_id)
        return [store.consent_out(c) for c in consents]

    @rpc(expected_exceptions=EXPECTED)
    def get_consent(self, consent_id: str) -> dict:
        return self.store.consent_out(self.store.readable(consent_id, "read", date.today()))

    @rpc(expected_exceptions=EXPECTED)
    def consent_fhir(self, consent_id: str) -> dict:
        return consent_resource(self.store.readable(consent_id, "export_fhir", date.today()))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def withdraw_consent(self, consent_id: str, expected_version=None) -> dict:
        """By any one of those who consent; If-Match optional (never harder than granting)."""
        store = self.store
        domain.require_citizen_high(self.actor, self.policy)
        with store.audited("withdraw", "consent", consent_id) as work:
            consent = store.consent(consent_id)
            work.subject_id = consent.child_id
            store.require_consenting(consent, date.today(), self.policy)
            was_active = consent.withdraw(self.actor.ref, utcnow(), expected_version)
            self._ended(store, consent, events.WITHDRAWN, was_active)
        self._tell_logs(consent.child_id)
        return self.store.consent_out(consent)

    # -- expiry -----------------------------------------------------------------------------

    @timer(interval=3600)
    def check_expiry(self) -> dict:
        """Warn before a consent's last day, expire it after: once (store.claim), any replicas."""
        store, today, counts = self.store, date.today(), {domain.EXPIRE: 0, domain.WARN: 0}
        for consent in store.all_open_consents():
            action = domain.expiry_action(consent, today, self.policy)
            if action is None:
                continue
            was_active, claimed = consent.is_active, store.claim(consent, action)
            if claimed and action == domain.EXPIRE:
                self._ended(store, consent, events.EXPIRED, was_active)
            elif claimed:
                self.events.emit(self.db, events.EXPIRING, child_id=consent.child_id,
                                 data=events.consent_data(consent, store.notify(consent)))
            self.db.commit()
            counts[action] += claimed
            if claimed and action == domain.EXPIRE:
                self._tell_logs(consent.child_id)
        return {"expired": counts[domain.EXPIRE], "warned": counts[domain.WARN]}

    @rpc(expected_exceptions=EXPECTED)
    def rotate_number_keys(self, action: str, batch_size: int = 500) -> dict:
        """One step of a rotation of the national-id keys (keys.action), for the platform's
        own actor only; numbers never leave the service."""
        if not (self.actor and self.actor.kind == SERVICE):
            raise Forbidden("key rotation is for operations", code="number_keys.operations_only")
        step = keys.action(action, batch_size)  # an unknown one is refused before the audit
        with audited_work(self.db, self.actor, f"keys_{action}", "number_keys"):
            return step(self.db, self.numbers)

    # -- wiring -----------------------------------------------------------------------------

    def _activate(self, store: Store, consent: Consent) -> None:
        if consent.supersedes_id:
            previous = store.consent(consent.supersedes_id)
            self._ended(store, previous, events.SUPERSEDED,
                        previous.supersede(self.actor.ref, utcnow()))
        # a paper form recorded by staff is told to those who consent (one they never signed)
        self.events.emit(self.db, events.GRANTED, child_id=consent.child_id,
                         data=events.consent_data(consent, store.notify(consent)
                                                  if consent.method == "paper" else None))

    def _ended(self, store: Store, consent: Consent, event_type: str, was_active: bool) -> None:
        self.events.emit(self.db, event_type, child_id=consent.child_id,
                         data=events.consent_data(consent, store.notify(consent),
                                                  store.no_longer_covers(consent, was_active,
                                                                         date.today())))

    def _tell_logs(self, child_id: str) -> None:
        """After commit, best effort: the logs service re-reads coverage now, not at the event
        (if down, it re-checks every projection when it starts, and the event follows)."""
        try:
            self.logs.refresh_consent(child_id)
        except ServiceUnavailable:
            log.warning("logs did not take the consent refresh; the event will follow")
