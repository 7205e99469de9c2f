"""Demo contact points: a synthetic e-mail address for every demo persona.

``stafett.demo.seed()`` calls ``seed_contacts`` after the parties exist. Person ids are
looked up the way the gateway does it (a citizen's number through
``consent.resolve_citizen``, then ``consent.resolve_actor``), so nothing here needs to know
how the consent service stores people. The
addresses carry the persona key only (never a name), under reserved example domains.
"""
from __future__ import annotations

STAFF_DOMAIN = "havvik.example"
CITIZEN_DOMAIN = "example.org"


def demo_address(persona_key: str, persona: dict) -> str:
    domain_name = CITIZEN_DOMAIN if persona["issuer_kind"] == "citizen" else STAFF_DOMAIN
    return f"{persona_key}@{domain_name}"


def persona_identity(persona: dict, issuer_for_kind) -> dict:
    kind = persona["issuer_kind"]
    identity = {"kind": kind, "issuer": issuer_for_kind(kind), "sub": persona["sub"],
                "acr": persona.get("acr"), "roles": list(persona.get("roles", [])),
                "scopes": [], "agency": persona.get("agency")}
    if kind == "citizen":
        identity["pid"] = persona["pid"]
    elif kind == "staff":
        identity["name"] = persona.get("name", "")
    return identity


def seed_contacts(rpc, issuer_for_kind, personas: dict | None = None) -> dict:
    """Give every person persona a demo e-mail address; returns persona → person id."""
    if personas is None:
        from stafett.demo import PERSONAS as personas
    contacts, ids = [], {}
    for key, persona in personas.items():
        if persona["issuer_kind"] not in ("staff", "citizen"):
            continue
        identity = persona_identity(persona, issuer_for_kind)
        if "pid" in identity:
            identity["person_id"] = rpc.consent.resolve_citizen(
                "login", {"national_id": identity.pop("pid")})["person_id"]
        actor = rpc.consent.resolve_actor(identity)
        if actor.get("person_id"):
            ids[key] = actor["person_id"]
            contacts.append({"person_id": actor["person_id"],
                             "email": demo_address(key, persona)})
    rpc.notifications.seed_contacts(contacts)
    return ids
