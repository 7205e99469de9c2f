"""Guardianship comes from the population register, never from a request body; protective
addresses ("kode 6/7") are honoured everywhere. Over the gateway's HTTP API, the real
broker, a real register server on loopback, a real SMTP server and webhook receiver."""
from __future__ import annotations

import json
import time
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from stafett.dev.demo import AGENCIES, CHILDREN, EMMA, JONAS_MOTHER, LIAM, NORA, SARA
from tests.e2e.test_consent import dump
from tests.support.platform import Platform, wait_for
from tests.support.register import LOOKUP_PATH, RegisterServer

SCHOOL, PPT = AGENCIES["school"]["org_number"], AGENCIES["ppt"]["org_number"]
HEALTH = AGENCIES["health_station"]["org_number"]
NUMBERS = {c["national_id"] for c in CHILDREN} | {g["national_id"] for c in CHILDREN
                                                  for g in c["guardians"]}


def rows(platform, service: str, sql: str, **params) -> list[dict]:
    engine = create_engine(platform.database_urls[service])
    try:
        with engine.connect() as connection:
            return [dict(r) for r in connection.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()


def me(client) -> str:
    return client.get("/api/v1/me").json()["person_id"]


def child_of(client, name: str) -> dict | None:
    return next((c for c in client.get("/api/v1/children").json()["items"]
                 if c["name"] == name), None)


def inbox_kinds(client) -> list[str]:
    return [n["kind"] for n in client.get("/api/v1/notifications").json()["items"]]


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.json()


# -- the attack, replayed ----------------------------------------------------------------------

def test_staff_cannot_make_anyone_a_guardian_and_nothing_changes(platform):
    """The attack of issue 12: staff POST /children for an existing child with a new
    entry in ``guardians``. Refused with 422 naming the field; the intruder sees no child,
    no consent, no log; the real guardians' data is as it was."""
    platform.seed()
    ingrid, tor, teacher = (platform.client(p) for p in ("guardian", "guardian2", "teacher"))
    intruder = platform.client("other-guardian")  # Maria: a citizen who can log in
    emma = child_of(ingrid, EMMA["name"])
    consent = ingrid.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [SCHOOL]}, "purpose": "Samarbeid om skolehverdagen"}).json()
    log = teacher.post("/api/v1/logs", json={"child_id": emma["id"]}).json()
    history = rows(platform, "consent", "SELECT * FROM guardianship_changes")
    assert {r["change"] for r in history} == {"added"}  # the first registration's
    before = {"children": ingrid.get("/api/v1/children").json(),
              "consents": ingrid.get(f"/api/v1/children/{emma['id']}/consents").json(),
              "participants": ingrid.get(f"/api/v1/logs/{log['id']}").json()["participants"]}

    attack = teacher.post("/api/v1/children", json={
        "national_id": EMMA["national_id"], "name": EMMA["name"],
        "guardians": [{"national_id": JONAS_MOTHER["national_id"], "name": "Maria Berg",
                       "parental_responsibility": True}]})
    errors = problem(attack, 422)["errors"]
    assert "population register" in errors["guardians"][0]
    assert "population register" in errors["name"][0]
    only_guardians = problem(teacher.post("/api/v1/children", json={
        "national_id": EMMA["national_id"],
        "guardians": [{"national_id": JONAS_MOTHER["national_id"], "name": "Maria Berg"}]}),
        422)
    assert list(only_guardians["errors"]) == ["guardians"]

    # the intruder sees no child, no consent, no log, and cannot consent
    assert child_of(intruder, EMMA["name"]) is None
    missing = intruder.get("/api/v1/children/00000000-0000-4000-8000-000000000000/consents")
    foreign = intruder.get(f"/api/v1/children/{emma['id']}/consents")
    assert foreign.status_code == missing.status_code == 404
    assert intruder.get(f"/api/v1/consents/{consent['id']}").status_code == 404
    assert intruder.get(f"/api/v1/logs/{log['id']}").status_code == 404
    assert log["id"] not in [entry["id"] for entry in
                             intruder.get("/api/v1/logs").json()["items"]]
    assert intruder.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agency_types": ["school", "ppt", "child_welfare", "nav"]},
        "purpose": "Bredere samtykke", "supersedes": consent["id"]}).status_code == 404
    # the real guardians' data is unchanged, and no change was recorded
    assert ingrid.get("/api/v1/children").json() == before["children"]
    assert ingrid.get(f"/api/v1/children/{emma['id']}/consents").json() == before["consents"]
    assert ingrid.get(f"/api/v1/logs/{log['id']}").json()["participants"] == \
        before["participants"]
    assert rows(platform, "consent", "SELECT * FROM guardianship_changes") == history

    # registering by number only refreshes from the register: the same two guardians
    again = teacher.post("/api/v1/children", json={"national_id": EMMA["national_id"]})
    assert again.status_code == 201, again.text
    assert sorted(g["id"] for g in again.json()["guardians"]) == sorted([me(ingrid), me(tor)])
    assert rows(platform, "consent", "SELECT * FROM guardianship_changes") == history


# -- a change in the register ------------------------------------------------------------------

def test_a_change_in_the_register_moves_access_and_is_told(registered_platform, register_file):
    platform = registered_platform
    platform.seed()
    ingrid, tor, teacher = (platform.client(p) for p in ("guardian", "guardian2", "teacher"))
    maria, sara, eva = (platform.client(p) for p in ("other-guardian", "youth",
                                                     "youth-guardian"))
    emma = child_of(ingrid, EMMA["name"])["id"]
    assert ingrid.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": [SCHOOL]}, "purpose": "Samarbeid"}).status_code == 201
    log = teacher.post("/api/v1/logs", json={"child_id": emma}).json()["id"]
    assert tor.get(f"/api/v1/logs/{log}").status_code == 200
    assert maria.get(f"/api/v1/logs/{log}").status_code == 404

    # Folkeregisteret: Tor loses parental responsibility for Emma, Maria gets it; Sara
    # (16) gets a second parent
    register_file.set_parents("emma", ["ingrid", "maria"])
    register_file.add("ole", "Ole Lie", date(1976, 4, 4), female=False)
    register_file.set_parents("sara", ["eva", "ole"])
    assert tor.get(f"/api/v1/logs/{log}").status_code == 200  # asked, not watched

    refreshed = teacher.post("/api/v1/children", json={"national_id": EMMA["national_id"]})
    assert refreshed.status_code == 201, refreshed.text
    assert sorted(g["name"] for g in refreshed.json()["guardians"]) == ["Ingrid Solberg",
                                                                        "Maria Berg"]
    assert teacher.post("/api/v1/children",
                        json={"national_id": SARA["national_id"]}).status_code == 201

    # consent follows at once; the logs service through the event
    assert tor.get(f"/api/v1/children/{emma}/consents").status_code == 404
    assert child_of(tor, EMMA["name"]) is None
    assert child_of(maria, EMMA["name"]) is not None
    wait_for(lambda: tor.get(f"/api/v1/logs/{log}").status_code == 404, timeout=20,
             message="the removed guardian to lose the log")
    as_maria = wait_for(lambda: (r := maria.get(f"/api/v1/logs/{log}")).status_code == 200
                        and r.json(), timeout=20, message="the new guardian in the log")
    assert as_maria["viewer_role"] == "guardian"
    participants = teacher.get(f"/api/v1/logs/{log}").json()["participants"]
    assert sorted(p["display_name"] for p in participants if p["role"] == "guardian") == [
        "Ingrid Solberg", "Maria Berg"]

    # those who keep parental responsibility, and the youth, are told; nobody else
    for client, who in ((ingrid, "Ingrid"), (sara, "Sara, 16"), (eva, "Eva")):
        wait_for(lambda c=client: "guardianship_changed" in inbox_kinds(c), timeout=20,
                 message=f"{who} to be told of the change")
    told = next(n for n in ingrid.get("/api/v1/notifications").json()["items"]
                if n["kind"] == "guardianship_changed")
    assert told["title"] == "Endring i foreldreansvar" and told["link"] == "/samtykker"
    assert "guardianship_changed" not in inbox_kinds(tor) + inbox_kinds(maria)

    # recorded (history), audited (access record), emitted with ids only
    history = {(r["guardian_id"], r["change"]) for r in rows(
        platform, "consent", "SELECT * FROM guardianship_changes WHERE child_id = :c "
        "AND requested_by = :by", c=emma, by=f"person:{me(teacher)}")}
    assert history == {(me(maria), "added"), (me(tor), "removed")}
    count = len(rows(platform, "consent", "SELECT * FROM guardianship_changes"))
    audited = rows(platform, "consent", "SELECT * FROM access_log WHERE action = "
                   "'change_guardianship' AND subject_id = :c", c=emma)
    assert len(audited) == 1 and audited[0]["actor_ref"] == f"person:{me(teacher)}"
    events = [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
              for r in rows(platform, "consent", "SELECT * FROM outbox WHERE type = "
                            "'consent.guardianship_changed'")]
    emma_event = next(e for e in events if e["child_id"] == emma)
    assert emma_event["data"]["added_guardian_ids"] == [me(maria)]
    assert emma_event["data"]["removed_guardian_ids"] == [me(tor)]
    assert emma_event["data"]["notify_person_ids"] == [me(ingrid)]
    flat = json.dumps(events)
    assert not [n for n in NUMBERS | {register_file.national_id("ole")} if n in flat]
    assert "Solberg" not in flat and "Berg" not in flat and "Lie" not in flat

    # registering again finds nothing new and changes nothing
    assert teacher.post("/api/v1/children",
                        json={"national_id": EMMA["national_id"]}).status_code == 201
    assert len(rows(platform, "consent", "SELECT * FROM guardianship_changes")) == count


# -- the HTTP register -------------------------------------------------------------------------

def test_the_register_api_over_http_and_what_happens_when_it_is_down(
        container_factory, amqp_uri, database_urls, tmp_path, register_file):
    ada = register_file.add("ada", "Ada Berg", date(2016, 2, 2), parents=["maria"])
    server = RegisterServer(register_file.api_persons()).start()
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        POPULATION_REGISTER=server.url, POPULATION_REGISTER_TOKEN=server.token,
                        POPULATION_REGISTER_TIMEOUT=1)
    platform.start()
    try:
        platform.seed()  # every demo child through the register API
        assert server.requests, "the seed asked the register API"
        assert {r["path"] for r in server.requests} == {LOOKUP_PATH}  # the number in the body
        assert {r["authorization"] for r in server.requests} == {f"Bearer {server.token}"}
        teacher, maria = platform.client("teacher"), platform.client("other-guardian")
        emma = child_of(platform.client("guardian"), EMMA["name"])

        # a number the register does not know: 422 naming the field
        unknown = problem(teacher.post("/api/v1/children",
                                       json={"national_id": "01811512345"}), 422)
        assert "national_id" in unknown["errors"]

        # down: 503 with Retry-After, nothing registered, nothing changed
        server.fail_status = 503
        down = teacher.post("/api/v1/children", json={"national_id": ada})
        assert problem(down, 503) and down.headers.get("Retry-After")
        refresh = teacher.post("/api/v1/children", json={"national_id": EMMA["national_id"]})
        problem(refresh, 503)
        server.fail_status = None
        # the child answers but its parent does not: the mirrored child stays inert
        server.fail_numbers = {register_file.national_id("maria")}
        problem(teacher.post("/api/v1/children", json={"national_id": ada}), 503)
        server.fail_numbers = set()
        assert teacher.post("/api/v1/children/search",
                            json={"national_id": ada}).status_code == 404
        assert child_of(maria, "Ada Berg") is None
        # nobody logs in as the inert child, and logging in creates no one
        persons = len(rows(platform, "consent", "SELECT id FROM persons"))
        assert platform.client("child", pid=ada).get("/api/v1/me").json()["person_id"] is None
        stranger = register_file.add("ukjent", "Ukjent Person", date(1990, 1, 1))
        assert platform.client("guardian", pid=stranger).get(
            "/api/v1/me").json()["person_id"] is None
        assert len(rows(platform, "consent", "SELECT id FROM persons")) == persons
        assert child_of(platform.client("guardian"), EMMA["name"]) == emma

        # slow: refused within the register timeout, not the gateway's
        server.delay = 3
        started = time.monotonic()
        problem(teacher.post("/api/v1/children", json={"national_id": ada}), 503)
        assert time.monotonic() - started < 3
        server.delay = 0

        # back: registered, with the guardian the register names
        registered = teacher.post("/api/v1/children", json={"national_id": ada})
        assert registered.status_code == 201, registered.text
        assert [g["name"] for g in registered.json()["guardians"]] == ["Maria Berg"]
        assert child_of(maria, "Ada Berg") is not None
    finally:
        platform.close()
        server.stop()


# -- protective addresses ----------------------------------------------------------------------

#: the register's municipality of each protected person (never stored, shown or sent)
HIDDEN_PLACES = ("Nordfjell", "Sørvåg")


@pytest.mark.parametrize("code", ["strengt_fortrolig", "fortrolig"])
def test_a_protected_case(code, container_factory, amqp_uri, database_urls, tmp_path, sink,
                          receiver):
    child, parent = {"strengt_fortrolig": (NORA, "shielded-guardian"),
                     "fortrolig": (LIAM, "confidential-guardian")}[code]
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        SMTP_PORT=sink.port, WEBHOOK_ALLOW_HTTP="true",
                        WEBHOOK_ALLOW_LOOPBACK="true",     # the receiver is on 127.0.0.1
                        PUBLIC_URL="https://stafett.test", DELIVERY_POLL_SECONDS=0.2)
    platform.start()
    try:
        platform.seed()
        guardian, teacher, colleague = (platform.client(p) for p in (parent, "teacher",
                                                                     "teacher2"))
        ppt, nurse = platform.client("ppt"), platform.client("nurse")
        number = {"national_id": child["national_id"]}

        # staff with no part in the case find the child, and see no name
        for response in (teacher.post("/api/v1/children/search", json=number),
                         teacher.post("/api/v1/children", json=number)):
            assert response.status_code in (200, 201), response.text
            found = response.json()
            assert found["protected"] is True and found["name"] is None
            assert {g["name"] for g in found["guardians"]} == {None}
            assert not [w for w in child["name"].split() if w in response.text]
        # the family sees itself
        mine = child_of(guardian, child["name"])
        assert mine["protected"] is True and mine["id"] == found["id"]

        # no municipality of anyone in the case is stored; an unprotected child's is
        stored = {r["name"]: r["municipality"] for r in rows(
            platform, "consent", "SELECT name, municipality FROM persons WHERE kind <> 'staff'")}
        assert stored[EMMA["name"]] == "Havvik kommune"
        case = [child["name"]] + [g["name"] for c in CHILDREN if c["name"] == child["name"]
                                  for g in c["guardians"]]
        assert {stored[name] for name in case} == {None}

        # with consent and a log the teacher has a direct role; a colleague still has none
        assert guardian.post(f"/api/v1/children/{mine['id']}/consents", json={
            "scope": {"agencies": [SCHOOL], "agency_types": ["ppt", "health_station"]},
            "purpose": "Samarbeid"}).status_code == 201
        log = teacher.post("/api/v1/logs", json={"child_id": mine["id"]}).json()
        assert teacher.post("/api/v1/children/search",
                            json=number).json()["name"] == child["name"]
        assert colleague.post("/api/v1/children/search", json=number).json()["name"] is None

        # e-mail and webhooks about the case locate nothing
        system = platform.client("school-system", scope="stafett:webhooks", consumer={
            "authority": "iso6523-actorid-upis", "ID": f"0192:{PPT}"})
        receiver.endpoint("/ppt")
        assert system.post("/api/v1/webhooks", json={
            "url": receiver.url("/ppt"), "description": "PPT"}).status_code == 201
        omar = teacher.get(f"/api/v1/agencies/{PPT}/staff").json()["items"][0]
        added = teacher.post(f"/api/v1/logs/{log['id']}/participants",
                             json={"person_id": omar["id"]}).json()
        assert teacher.post(f"/api/v1/logs/{log['id']}/measures", json={
            "title": "Fast plass nær døra", "goal": "Roligere start", "arena": "school",
            "responsible_id": added["id"], "start_date": date.today().isoformat(),
            "evaluate_by": "2027-01-15"}).status_code == 201
        mail = wait_for(lambda: sink.to("ppt@havvik.example"), timeout=30,
                        message="the PPT advisor's e-mail")[0]
        hooks = wait_for(lambda: receiver.at("/ppt"), timeout=30, message="the PPT webhook")
        sent = mail.as_string() + "\n".join(
            h.body.decode() + json.dumps(h.headers) for h in hooks)
        assert mail["Subject"] == "Nytt varsel i Stafett"
        assert "havvik" not in str(mail["From"]).lower()
        assert "http" not in mail.get_body(("plain",)).get_content()
        assert not [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
        located = [s for s in (*HIDDEN_PLACES, "Havvik", "Solbakken", *case,
                               *(a["org_number"] for a in AGENCIES.values()),
                               *(a["name"] for a in AGENCIES.values()))
                   if s in sent.replace("X-Sink-Rcpt-To: ppt@havvik.example", "")
                   .replace("To: ppt@havvik.example", "")]
        assert located == []
        assert json.loads(hooks[0].body)["data"]["log_id"] == log["id"]

        # the receiver of a handover sees no name before it has accepted
        handover = teacher.post("/api/v1/handovers", json={
            "log_id": log["id"], "to_agency": HEALTH, "transition": "other"}).json()
        url = f"/api/v1/handovers/{handover['id']}"
        offered = nurse.get(url)
        assert offered.status_code == 200 and offered.json()["child"]["name"] is None
        assert teacher.get(url).json()["child"]["name"] == child["name"]  # the requester
        assert nurse.post(f"{url}/accept", json={"new_stafettholder_person_id": me(nurse)},
                          headers={"If-Match": offered.headers["ETag"]}).status_code == 200
        wait_for(lambda: nurse.get(url).json()["status"] == "completed", timeout=30,
                 message="the handover to complete")
        assert nurse.get(url).json()["child"]["name"] == child["name"]

        # the access log marks reads of the case: "skjermet" to the family
        records = guardian.get(f"/api/v1/logs/{log['id']}/access-log").json()["items"]
        assert [r for r in records if r["protected"] is not True] == []
        assert records
        consent_records = rows(platform, "consent", "SELECT protected FROM access_log "
                               "WHERE subject_id = :c", c=mine["id"])
        assert consent_records and all(r["protected"] for r in consent_records)

        # the register's municipality is nowhere: no database holds it
        for service, url_ in platform.database_urls.items():
            assert not [p for p in HIDDEN_PLACES if p in dump(url_)], service
    finally:
        platform.close()


def test_other_childrens_access_records_are_not_marked(platform):
    platform.seed()
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    emma = child_of(guardian, EMMA["name"])
    assert emma["protected"] is False
    guardian.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [SCHOOL]}, "purpose": "Samarbeid"})
    log = teacher.post("/api/v1/logs", json={"child_id": emma["id"]}).json()
    records = guardian.get(f"/api/v1/logs/{log['id']}/access-log").json()["items"]
    assert records and not any(r["protected"] for r in records)
