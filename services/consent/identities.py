"""Who is who: national identity numbers resolved to person ids (``resolve_citizen``) and
verified token claims turned into an actor (``resolve_actor``). The only place a number
arrives in a request body; everything after travels by id."""
from __future__ import annotations

from services.consent import domain
from services.consent.identity_numbers import InvalidIdentityNumber, parse
from services.consent.models import Person
from services.consent.schemas import ChildSearchIn
from services.consent.store import Store, parse_number
from stafett.actor import CITIZEN, SERVICE, STAFF, SYSTEM
from stafett.audit import audited_work
from stafett.contracts import load
from stafett.errors import NotFound, ValidationFailed

#: why a national identity number is resolved (docs/population-register.md)
LOGIN, SEARCH, REGISTER = "login", "search", "register"


def resolve_citizen(store: Store, purpose: str, payload) -> dict:
    """``login`` (the gateway, for a citizen's ``pid``): a registered person's id or None,
    reading only: logging in never creates anyone. ``search`` (staff): a registered
    child's id, or 404. ``register`` (staff, the platform; the body of ``POST /children``,
    national_id only): a child new to Stafett is mirrored from the population register,
    inert (nobody sees it or logs in as it) until ``register_child`` completes it."""
    db, actor = store.db, store.actor
    if purpose == LOGIN:
        try:
            number = parse(str((payload or {}).get("national_id") or ""))
        except InvalidIdentityNumber:
            return {"person_id": None}
        person = store.person_by_number(number.value)
        db.rollback()
        return {"person_id": person.id if person and person.registered_at else None}
    if purpose not in (SEARCH, REGISTER):
        raise ValidationFailed("unknown purpose", {"purpose": [
            f"one of {LOGIN}, {SEARCH}, {REGISTER}"]}, code="citizen.purpose_unknown")
    if purpose == SEARCH or not (actor and actor.kind == SERVICE):
        domain.require_staff(actor)  # before the body is read
    with audited_work(db, actor, "resolve", "citizen") as work:
        if purpose == SEARCH:
            child = store.person_by_number(parse_number(
                load(ChildSearchIn(), payload)["national_id"]).value)
            if child is None or child.kind != "child" or child.registered_at is None:
                raise NotFound("no child with that national identity number",
                               code="child.not_found")
            protected = store.case_protected(child)
        else:
            errors = domain.registration_errors(payload)
            if errors:
                raise ValidationFailed("register a child by its national id only", errors,
                                       code="child.register_fields")
            child, protected = store.child_to_register(parse_number(payload["national_id"]).value)
        work.object_id = work.subject_id = child.id
        work.protected = protected
    return {"person_id": child.id}


def resolve_actor(store: Store, identity: dict, policy: domain.ConsentPolicy) -> dict:
    """Staff are registered just in time on first use. A citizen comes with the person id
    ``resolve_citizen`` gave for their ``pid`` (None: unknown), never with the number; a
    known citizen's ``assured`` says whether their login's level is enough to see their
    case (``domain.assured``: this service's rule, which the others only read)."""
    db, kind = store.db, identity["kind"]
    if "pid" in identity:
        raise ValidationFailed("national identity numbers travel only in resolve_citizen",
                               {"pid": ["resolve it with resolve_citizen first"]},
                               code="citizen.pid_not_resolved")
    actor = {"kind": kind, "acr": identity.get("acr"), "roles": identity.get("roles", []),
             "scopes": identity.get("scopes", []), "person_id": None,
             "agency": identity.get("agency"), "agency_type": None, "assured": False}
    if kind == CITIZEN:
        actor["agency"], person_id = None, identity.get("person_id")
        person = db.get(Person, person_id) if isinstance(person_id, str) else None
        if (person is not None and person.kind in ("child", "guardian")
                and person.registered_at is not None):
            actor["person_id"] = person.id
            actor["assured"] = domain.assured(person.kind, actor["acr"], policy)
    elif kind in (STAFF, SYSTEM):
        agency = store.agency_or_none(identity.get("agency") or "")
        actor["agency_type"] = agency.type if agency else None
        if kind == STAFF and agency is not None:
            person = store.staff_by_subject(f"{identity['issuer']}|{identity['sub']}",
                                            name=identity.get("name") or "",
                                            agency_id=agency.id)
            if db.new:  # registered just in time
                db.commit()
            actor["person_id"] = person.id
    db.rollback()
    return actor
