"""Synthetic demo data and the personas the dev issuer mints tokens for.

Every national identity number here is generated as a synthetic test number (month + 80)
from a fixed seed, so the demo is the same on every machine and no real person is named.
People and places are invented; the stories follow the seed texts in ../shared/seeds.
"""
from __future__ import annotations

import random
from datetime import date

from services.consent.identity_numbers import generate_org_number, generate_synthetic

_rng = random.Random(20261122)

MUNICIPALITY = "Havvik kommune"


def _agency(name: str, type_: str) -> dict:
    return {"org_number": generate_org_number(_rng), "name": name, "type": type_,
            "municipality": MUNICIPALITY}


AGENCIES = {
    "school": _agency("Solbakken skole", "school"),
    "ppt": _agency("PPT Havvik", "ppt"),
    "health_station": _agency("Havvik helsestasjon og skolehelsetjeneste", "health_station"),
    "child_welfare": _agency("Barnevernstjenesten i Havvik", "child_welfare"),
    "nav": _agency("NAV Havvik", "nav"),
    "kindergarten": _agency("Regnbuen barnehage", "kindergarten"),
}

# Emma (13) and her guardians: the thread of the foundation, and the demo's main story.
EMMA = {"national_id": generate_synthetic(date(2013, 3, 14), _rng, female=True),
        "name": "Emma Solberg"}
EMMA_MOTHER = {"national_id": generate_synthetic(date(1984, 9, 2), _rng, female=True),
               "name": "Ingrid Solberg"}
EMMA_FATHER = {"national_id": generate_synthetic(date(1982, 1, 27), _rng, female=False),
               "name": "Tor Solberg"}
# Jonas (5), kindergarten, for the transition to school.
JONAS = {"national_id": generate_synthetic(date(2021, 6, 30), _rng, female=False),
         "name": "Jonas Berg"}
JONAS_MOTHER = {"national_id": generate_synthetic(date(1991, 11, 11), _rng, female=True),
                "name": "Maria Berg"}

# Sara (16) consents for herself: from the configured age the youth consents alone.
SARA = {"national_id": generate_synthetic(date(2010, 5, 5), _rng, female=True),
        "name": "Sara Lie"}
SARA_MOTHER = {"national_id": generate_synthetic(date(1978, 8, 19), _rng, female=True),
               "name": "Eva Lie"}

CHILDREN = [
    {**EMMA, "guardians": [{**EMMA_MOTHER, "parental_responsibility": True},
                           {**EMMA_FATHER, "parental_responsibility": True}]},
    {**JONAS, "guardians": [{**JONAS_MOTHER, "parental_responsibility": True}]},
    {**SARA, "guardians": [{**SARA_MOTHER, "parental_responsibility": True}]},
]

HIGH = "idporten-loa-high"


def _staff(sub: str, name: str, agency: str, title: str, description: str) -> dict:
    return {"issuer_kind": "staff", "sub": sub, "name": name,
            "agency": AGENCIES[agency]["org_number"], "roles": ["staff"], "acr": HIGH,
            "title": title, "description": description}


PERSONAS: dict[str, dict] = {
    "guardian": {"issuer_kind": "citizen", "sub": "citizen-ingrid", "pid": EMMA_MOTHER["national_id"],
                 "acr": HIGH, "description": "Ingrid Solberg, Emmas mor (foresatt)"},
    "guardian2": {"issuer_kind": "citizen", "sub": "citizen-tor", "pid": EMMA_FATHER["national_id"],
                  "acr": HIGH, "description": "Tor Solberg, Emmas far (foresatt)"},
    "child": {"issuer_kind": "citizen", "sub": "citizen-emma", "pid": EMMA["national_id"],
              "acr": HIGH, "description": "Emma Solberg, 13 år"},
    "other-guardian": {"issuer_kind": "citizen", "sub": "citizen-maria",
                       "pid": JONAS_MOTHER["national_id"], "acr": HIGH,
                       "description": "Maria Berg, foresatt til et annet barn"},
    "youth": {"issuer_kind": "citizen", "sub": "citizen-sara", "pid": SARA["national_id"],
              "acr": HIGH, "description": "Sara Lie, 16 år (samtykker selv)"},
    "youth-guardian": {"issuer_kind": "citizen", "sub": "citizen-eva",
                       "pid": SARA_MOTHER["national_id"], "acr": HIGH,
                       "description": "Eva Lie, Saras mor"},
    "teacher": _staff("staff-lise", "Lise Aarseth", "school", "Kontaktlærer",
                      "Lise Aarseth, kontaktlærer ved Solbakken skole"),
    "ppt": _staff("staff-omar", "Omar Haddad", "ppt", "PP-rådgiver",
                  "Omar Haddad, rådgiver i PPT"),
    "nurse": _staff("staff-hanne", "Hanne Vik", "health_station", "Helsesykepleier",
                    "Hanne Vik, helsesykepleier"),
    "child-welfare": _staff("staff-per", "Per Lunde", "child_welfare", "Saksbehandler",
                            "Per Lunde, barnevernstjenesten (ikke dekket av samtykke)"),
    "school-admin": {**_staff("staff-kari", "Kari Dahl", "school", "Rektor",
                              "Kari Dahl, rektor og virksomhetsadministrator"),
                     "roles": ["staff", "agency_admin"]},
    "nav": _staff("staff-anne", "Anne Moe", "nav", "Veileder", "Anne Moe, veileder i NAV"),
    "school-system": {"issuer_kind": "system", "sub": "school-admin-system",
                      "consumer": {"authority": "iso6523-actorid-upis",
                                   "ID": "0192:" + AGENCIES["school"]["org_number"]},
                      "scope": "stafett:logs.read",
                      "description": "Skolens fagsystem (maskin-til-maskin)"},
}


def staff_personas() -> list[tuple[str, dict]]:
    return [(name, p) for name, p in PERSONAS.items() if p["issuer_kind"] == "staff"]


def seed(rpc, issuer_for_kind) -> dict:
    """Register agencies, staff and children through the services' own RPCs.

    ``rpc`` is a cluster proxy whose calls carry the internal service actor;
    ``issuer_for_kind`` gives the issuer URL staff tokens come from.
    """
    for agency in AGENCIES.values():
        rpc.consent.register_agency(agency)
    for _, persona in staff_personas():
        rpc.consent.provision_staff({"issuer": issuer_for_kind("staff"), "subject": persona["sub"],
                                     "name": persona["name"], "agency": persona["agency"],
                                     "title": persona["title"]})
    children = [rpc.consent.register_child(child) for child in CHILDREN]
    return {"children": children}
