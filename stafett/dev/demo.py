"""Synthetic demo data and the personas the dev issuer mints tokens for.

The children and guardians come from the embedded population register,
``stafett/population-register.yaml`` (synthetic test numbers: month + 80), the single source
of the demo's persons: the consent service reads the same file, so registering a child by
its national id gives it exactly the guardians the personas log in as. Agencies' numbers are
generated from a fixed seed, so the demo is the same on every machine and no real person or
organisation is named. People and places are invented; the stories follow the seed texts in
../shared/seeds.
"""
from __future__ import annotations

import random
from datetime import date

from services.consent.identity_numbers import generate_org_number
from services.consent.register import handles
from stafett.paging import MAX_LIMIT, every_item

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

#: the embedded register's persons by handle (national_id, name, birth_date, municipality,
#: protection, parental_responsibility as handles)
REGISTER = handles()


def _person(handle: str) -> dict:
    return {"national_id": str(REGISTER[handle]["national_id"]),
            "name": REGISTER[handle]["name"]}


# Emma (13) and her guardians: the thread of the foundation, and the demo's main story.
EMMA, EMMA_MOTHER, EMMA_FATHER = _person("emma"), _person("ingrid"), _person("tor")
# Jonas (5), kindergarten, for the transition to school.
JONAS, JONAS_MOTHER = _person("jonas"), _person("maria")
# Sara (16) consents for herself: from the configured age the youth consents alone.
SARA, SARA_MOTHER = _person("sara"), _person("eva")
# Nora (11) and her mother: strictly confidential address ("kode 6").
NORA, NORA_MOTHER = _person("nora"), _person("hege")
# Liam (14): his father has a confidential address ("kode 7"), his mother none.
LIAM, LIAM_FATHER, LIAM_MOTHER = _person("liam"), _person("kim"), _person("siv")

#: every child of the register with its guardians (the register's parental responsibility)
CHILDREN = [
    {**_person(handle), "guardians": [{**_person(parent), "parental_responsibility": True}
                                      for parent in entry["parental_responsibility"]]}
    for handle, entry in REGISTER.items() if entry.get("parental_responsibility")
]

HIGH = "idporten-loa-high"


def _staff(sub: str, name: str, agency: str, title: str, description: str) -> dict:
    return {"issuer_kind": "staff", "sub": sub, "name": name,
            "agency": AGENCIES[agency]["org_number"], "roles": ["staff"], "acr": HIGH,
            "title": title, "description": description}


def _citizen(sub: str, person: dict, description: str) -> dict:
    return {"issuer_kind": "citizen", "sub": sub, "pid": person["national_id"], "acr": HIGH,
            "description": description}


PERSONAS: dict[str, dict] = {
    "guardian": _citizen("citizen-ingrid", EMMA_MOTHER, "Ingrid Solberg, Emmas mor (foresatt)"),
    "guardian2": _citizen("citizen-tor", EMMA_FATHER, "Tor Solberg, Emmas far (foresatt)"),
    "child": _citizen("citizen-emma", EMMA, "Emma Solberg, 13 år"),
    "other-guardian": _citizen("citizen-maria", JONAS_MOTHER,
                               "Maria Berg, foresatt til et annet barn"),
    "young-child": _citizen("citizen-jonas", JONAS,
                            "Jonas Berg, 5 år (under alderen for egen innsyn)"),
    "youth": _citizen("citizen-sara", SARA, "Sara Lie, 16 år (samtykker selv)"),
    "youth-guardian": _citizen("citizen-eva", SARA_MOTHER, "Eva Lie, Saras mor"),
    "shielded-guardian": _citizen("citizen-hege", NORA_MOTHER, "Hege Strand, Noras mor "
                                  "(strengt fortrolig adresse, kode 6)"),
    "confidential-guardian": _citizen("citizen-kim", LIAM_FATHER,
                                      "Kim Fjeld, Liams far (fortrolig adresse, kode 7)"),
    "teacher": _staff("staff-lise", "Lise Aarseth", "school", "Kontaktlærer",
                      "Lise Aarseth, kontaktlærer ved Solbakken skole"),
    "teacher2": _staff("staff-jon", "Jon Berge", "school", "Faglærer",
                       "Jon Berge, faglærer ved Solbakken skole (ikke med i Emmas logg)"),
    "auditor": {**_staff("staff-randi", "Randi Holm", "school", "Personvernkontakt",
                         "Randi Holm, revisor av skolens tilgangslogg"),
                "roles": ["staff", "auditor"]},
    "ppt": _staff("staff-omar", "Omar Haddad", "ppt", "PP-rådgiver",
                  "Omar Haddad, rådgiver i PPT"),
    "nurse": _staff("staff-hanne", "Hanne Vik", "health_station", "Helsesykepleier",
                    "Hanne Vik, helsesykepleier"),
    "child-welfare": _staff("staff-per", "Per Lunde", "child_welfare", "Saksbehandler",
                            "Per Lunde, barnevernstjenesten (ikke dekket av samtykke)"),
    "kindergarten-teacher": _staff("staff-siri", "Siri Nilsen", "kindergarten",
                                   "Pedagogisk leder",
                                   "Siri Nilsen, pedagogisk leder i Regnbuen barnehage"),
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


def register_child(rpc, national_id: str) -> dict:
    """What ``POST /children`` does: the number resolved once (``resolve_citizen``), then
    the registration from the population register by id."""
    resolved = rpc.consent.resolve_citizen("register", {"national_id": national_id})
    return rpc.consent.register_child(resolved["person_id"])


def resolve_identity(rpc, identity: dict) -> dict:
    """What the gateway does with a verified identity: a citizen's ``pid`` is resolved
    to a person id (``resolve_citizen``), then the actor is built without it."""
    identity = dict(identity)
    if "pid" in identity:
        identity["person_id"] = rpc.consent.resolve_citizen(
            "login", {"national_id": identity.pop("pid")})["person_id"]
    return rpc.consent.resolve_actor(identity)


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
    children = [register_child(rpc, child["national_id"]) for child in CHILDREN]
    seed_contacts(rpc, issuer_for_kind)  # demo e-mail addresses (synthetic) for the personas
    return {"children": children}


# -- contact points: a synthetic e-mail address for every person persona ---------------------
#: under reserved example domains; an address carries the persona key only, never a name
STAFF_DOMAIN = "havvik.example"
CITIZEN_DOMAIN = "example.org"


def demo_address(persona_key: str, persona: dict) -> str:
    domain_name = CITIZEN_DOMAIN if persona["issuer_kind"] == "citizen" else STAFF_DOMAIN
    return f"{persona_key}@{domain_name}"


def seed_contacts(rpc, issuer_for_kind) -> dict:
    """Give every person persona a demo e-mail address (``notifications.seed_contacts``);
    returns persona → person id. Person ids are looked up the way the gateway does it
    (``resolve_identity``), so nothing here knows how the consent service stores people."""
    contacts, ids = [], {}
    for key, persona in PERSONAS.items():
        if persona["issuer_kind"] not in ("staff", "citizen"):
            continue
        actor = resolve_identity(rpc, identity_of(key, issuer_for_kind))
        if actor.get("person_id"):
            ids[key] = actor["person_id"]
            contacts.append({"person_id": actor["person_id"],
                             "email": demo_address(key, persona)})
    rpc.notifications.seed_contacts(contacts)
    return ids


# -- stories: logs in all three colours, for make run ----------------------------------------

def identity_of(persona_name: str, issuer_for_kind) -> dict:
    """The identity the gateway would build from this persona's token."""
    persona = PERSONAS[persona_name]
    kind = persona["issuer_kind"]
    identity = {"kind": kind, "issuer": issuer_for_kind(kind), "sub": persona["sub"],
                "acr": persona.get("acr"), "roles": persona.get("roles", []), "scopes": [],
                "agency": persona.get("agency"), "name": persona.get("name")}
    if kind == "citizen":
        identity["pid"] = persona["pid"]
    return identity


def seed_stories(rpc_as, issuer_for_kind, today: date | None = None) -> dict:
    """Three synthetic logs, told through the services' own RPCs as their personas would.

    ``rpc_as(actor)`` gives a cluster proxy whose calls carry that actor (None: the
    internal service actor). Idempotent enough for a restarted ``make run``: a child that
    already has a log is left alone.
    """
    from datetime import timedelta

    from stafett.actor import Actor

    today = today or date.today()
    day = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731

    with rpc_as(None) as rpc:
        actors = {name: Actor.from_context(resolve_identity(rpc, identity_of(name,
                                                                              issuer_for_kind)))
                  for name in PERSONAS if PERSONAS[name]["issuer_kind"] != "system"}
        children = {c["name"]: c for c in (register_child(rpc, c["national_id"])
                                           for c in CHILDREN)}

    def as_(name):
        return rpc_as(actors[name])

    def staff_id(name):
        return actors[name].person_id

    told = {}

    # Emma (13): the pupil who proposed her own two small measures, and came back to school
    emma = children[EMMA["name"]]["id"]
    with as_("teacher") as rpc:
        if any(l["child_id"] == emma for l in every_item(rpc.logs.my_logs)):
            return {"already_seeded": True}
    with as_("guardian") as rpc:
        rpc.consent.grant_consent(emma, {
            "scope": {"agencies": [AGENCIES["school"]["org_number"]],
                      "agency_types": ["ppt", "health_station"]},
            "purpose": "Samarbeid om Emmas skolehverdag og fravær"})
    with as_("teacher") as rpc:
        log = rpc.logs.open_log({"child_id": emma, "level": 2})
        teacher_p = log["viewer_participant_id"]
        omar = rpc.logs.add_participant(log["id"], {"person_id": staff_id("ppt")})
        hanne = rpc.logs.add_participant(log["id"], {"person_id": staff_id("nurse")})
    ingrid = next(p["id"] for p in log["participants"] if p["display_name"] == "Ingrid Solberg")
    with as_("child") as rpc:
        late = rpc.logs.propose_measure(log["id"], {
            "title": "Starte dagen noen minutter etter de andre",
            "goal": "Komme inn i klasserommet uten å måtte gå gjennom en full gang",
            "arena": "school"})
        desk = rpc.logs.propose_measure(log["id"], {
            "title": "Pulten nærmest døra", "goal": "Kunne gå ut en kort tur når det blir for mye",
            "arena": "school"})
        rpc.logs.add_entry(log["id"], {"kind": "child_voice", "text":
                           "Det er lettere når gangen er tom. Og jeg liker at jeg kan gå ut "
                           "litt hvis det blir for mye."})
    with as_("guardian") as rpc:
        bedtime = rpc.logs.propose_measure(log["id"], {
            "title": "Fast leggetid på hverdager", "goal": "Emma er uthvilt om morgenen",
            "arena": "home"})
    with as_("teacher") as rpc:
        measures = {}
        for proposal, responsible in ((late, teacher_p), (desk, teacher_p), (bedtime, ingrid)):
            rpc.logs.accept_proposal(log["id"], proposal["id"], {
                "responsible_id": responsible, "start_date": day(-42), "evaluate_by": day(-14)})
        for measure in rpc.logs.list_measures(log["id"], limit=MAX_LIMIT)["items"]:
            measures[measure["title"]] = measure
        for title in ("Starte dagen noen minutter etter de andre", "Pulten nærmest døra"):
            rpc.logs.add_evaluation(log["id"], measures[title]["id"], {
                "outcome": "green", "evaluated_on": day(-14),
                "text": "Emma kommer inn i timen uten å stoppe opp. Fraværet har gått kraftig ned.",
                "child_view": "Det funker. Jeg vil fortsette sånn."})
        rpc.logs.add_evaluation(log["id"], measures["Fast leggetid på hverdager"]["id"], {
            "outcome": "yellow", "evaluated_on": day(-14),
            "text": "Går bra de fleste dager, men ikke i helgene."})
        reading = rpc.logs.add_measure(log["id"], {
            "title": "Kartlegging av lese- og skriveferdigheter",
            "goal": "Vite om Emma trenger tilrettelagt lesing", "responsible_id": omar["id"],
            "arena": "school", "start_date": day(-30), "evaluate_by": day(-3), "status": "active"})
        talks = rpc.logs.add_measure(log["id"], {
            "title": "Samtaler med helsesykepleier annenhver uke",
            "goal": "Emma har en voksen å snakke med om det som er vanskelig",
            "responsible_id": hanne["id"], "arena": "health", "start_date": day(-35),
            "evaluate_by": day(21), "status": "active"})
        rpc.logs.add_evaluation(log["id"], talks["id"], {
            "outcome": "yellow", "evaluated_on": day(-7),
            "text": "Emma møter opp, men synes det er vanskelig å snakke om hjemmet."})
        rpc.logs.add_entry(log["id"], {"kind": "bright_spot", "text":
                           "Fraværet har gått ned fra 30 % i september til 5 % i november."})
        rpc.logs.add_entry(log["id"], {"kind": "note", "visibility": "staff", "text":
                           "PPT venter på svar fra lærer om leseprøve før kartleggingen."})
        rpc.logs.schedule_meeting(log["id"], {
            "starts_at": f"{day(7)}T14:00:00+01:00", "ends_at": f"{day(7)}T15:00:00+01:00",
            "mode": "in_person", "place": "Møterom 2, Solbakken skole",
            "agenda": "Hvordan går det nå? Evaluering av tiltakene. Veien videre.",
            "invited": [p["id"] for p in rpc.logs.get_log(log["id"])["participants"]]})
    told["emma"] = log["id"]
    del reading

    # Jonas (5): kindergarten, language, one red and one green
    jonas = children[JONAS["name"]]["id"]
    with as_("other-guardian") as rpc:
        rpc.consent.grant_consent(jonas, {
            "scope": {"agency_types": ["kindergarten", "health_station", "ppt"]},
            "purpose": "Samarbeid om Jonas' språk og overgangen til skolen"})
    with as_("kindergarten-teacher") as rpc:
        log = rpc.logs.open_log({"child_id": jonas, "level": 1})
        me = log["viewer_participant_id"]
        for title, goal, outcome, text in (
                ("Språkgruppe tre ganger i uka", "Jonas bruker flere ord i lek", "red",
                 "Jonas trekker seg unna i gruppa. Vi prøver heller én-til-én."),
                ("Tegn til tale hjemme og i barnehagen",
                 "Jonas kan vise hva han vil med tegn når ordene ikke strekker til", "green",
                 "Jonas bruker tegn for «mer», «ferdig» og «hjelp» hver dag.")):
            measure = rpc.logs.add_measure(log["id"], {
                "title": title, "goal": goal, "responsible_id": me, "arena": "kindergarten",
                "start_date": day(-60), "evaluate_by": day(-20), "status": "active"})
            rpc.logs.add_evaluation(log["id"], measure["id"], {
                "outcome": outcome, "evaluated_on": day(-20), "text": text})
    told["jonas"] = log["id"]

    # Sara (16): consents herself; a red measure that needs rethinking
    sara = children[SARA["name"]]["id"]
    with as_("youth") as rpc:
        rpc.consent.grant_consent(sara, {
            "scope": {"agency_types": ["health_station", "nav"]},
            "purpose": "Hjelp til å komme tilbake til skole og arbeid"})
    with as_("nurse") as rpc:
        log = rpc.logs.open_log({"child_id": sara, "level": 2})
        me = log["viewer_participant_id"]
        start = rpc.logs.add_measure(log["id"], {
            "title": "Gradvis oppstart etter sykefravær", "goal": "Sara er på skolen tre dager i uka",
            "responsible_id": me, "arena": "school", "start_date": day(-40),
            "evaluate_by": day(-10), "status": "active"})
        rpc.logs.add_evaluation(log["id"], start["id"], {
            "outcome": "red", "evaluated_on": day(-10),
            "text": "Planen var for stram. Sara og helsesykepleier lager en ny.",
            "child_view": "Jeg ble sliten av å skulle klare alt på en gang."})
    told["sara"] = log["id"]
    return told
