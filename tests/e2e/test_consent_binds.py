"""Consent binds every service: after the guardian withdraws consent, nothing about the child
answers to the agency it covered, through any GET route of the API, for any of its personas.

On the populated platform (tests/support/world.py) Jonas's mother widens his consent to the
school: the kindergarten's handover of Jonas's log to the school is offered to it (the
school's staff see the summary, with the evaluation texts, and Jonas's name and birth
date), a school teacher joins Jonas's log and is given a measure (an inbox item, an e-mail
address, and two webhook deliveries to the school's agency system queued behind a closed
port). Then she withdraws that consent, and every GET operation in ``/openapi.json`` is
swept — path parameters filled with Jonas's real ids, lists followed to their last page —
as each persona of the school: the teacher, a second staff member, the agency system
token, the auditor and the agency administrator.

- **Sweep 1, the consent service's events held back** (its outbox relay stopped): the
  first requests after the withdrawal are judged on the owner's answer, not on events.
  Every route naming one of Jonas's objects answers exactly like a missing object (status,
  headers and problem document, byte for byte, against random ids on the same route); no
  2xx body contains Jonas's id, his log's or any of his objects' ids, his name, his birth
  date or a text of the handover summary.
- **Sweep 2, after the events** (the relay restarted): the same, and the event path's
  effects are seen through the API: the handover is back to ``consent_pending`` (as his
  mother sees it), the school's webhook deliveries about Jonas are ``dropped``
  (``consent_ended``), the teacher's inbox item about him is withdrawn.

Exempt, with the reason (also in docs/authorization.md):

- the auditor's ``GET /audit``: the agency's record of its own staff's accesses, ids only,
  including their reads of Jonas's log before the withdrawal and this sweep's refused
  probes. Hiding them would blind the one control that shows whether staff tried to reach
  a child after consent ended. It is checked for everything but ids: no name, birth date
  or text.
- ``GET /notifications`` in sweep 1 only: an inbox item carries ids and a fixed text, the
  reads behind it are refused at once (this sweep shows it), and it is withdrawn when the
  event arrives (sweep 2 holds it to the strict rule).
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, select

from stafett.audit import access_table
from stafett.dev.demo import AGENCIES, JONAS
from stafett.events import Outbox
from tests.support.platform import wait_for
from tests.support.world import school_webhook

SCHOOL = AGENCIES["school"]["org_number"]
#: the personas of the school, the agency whose consent is withdrawn
PERSONAS = ("teacher", "teacher2", "school-system", "auditor", "school-admin")
#: path parameters that name one of the child's objects (the others name the agency's own)
CHILD_PARAMS = {"child_id", "log_id", "measure_id", "meeting_id", "proposal_id",
                "participant_id", "consent_id", "handover_id", "notification_id", "record"}
#: what the agency's auditor keeps seeing, by id only (docs/authorization.md)
AUDITOR_VIEWS = {("auditor", path) for path in ("/audit/access-log", "/audit/access-log/csv",
                                                "/audit/access-log/fhir")}
VOLATILE_HEADERS = {"date", "x-request-id", "x-call-id"}
MAX_PAGES = 20


def texts(value) -> set[str]:
    """The free texts in a document (titles, goals, evaluations, the child's words)."""
    if isinstance(value, dict):
        return set().union(*(texts(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(texts(v) for v in value)) if value else set()
    if isinstance(value, str) and len(value) >= 15 and " " in value:
        return {value}
    return set()


def headers_of(response) -> dict:
    return {k.lower(): v for k, v in response.headers.items()
            if k.lower() not in VOLATILE_HEADERS}


class Sweep:
    """Every GET operation of the OpenAPI document, as every persona of the school."""

    def __init__(self, platform, ids: dict[str, list[str]]):
        self.platform = platform
        self.clients = {name: platform.client(name) for name in PERSONAS}
        self.ids = ids
        document = platform.client().get("/openapi.json").json()
        self.base = document["servers"][0]["url"]
        self.routes = sorted(path for path, operations in document["paths"].items()
                             if "get" in operations)

    def urls(self, path: str) -> list[tuple[str, dict]]:
        """The route filled with the real ids (every combination), and the values used."""
        filled = [({}, path)]
        for name in (p.strip("{}") for p in path.split("/") if p.startswith("{")):
            filled = [({**used, name: value}, url.replace("{" + name + "}", value))
                      for used, url in filled for value in self.ids[name]]
        return [(url, used) for used, url in filled]

    def get(self, persona: str, url: str):
        return self.clients[persona].get(self.base + url)

    def pages(self, persona: str, url: str) -> list:
        """The response, and every further page of a list (its ``next_cursor``)."""
        responses = [self.get(persona, url)]
        while len(responses) < MAX_PAGES:
            last = responses[-1]
            if last.status_code != 200 or "json" not in last.headers["Content-Type"] \
                    or not isinstance(last.json(), dict):  # (the auditor's CSV export)
                break
            cursor = last.json().get("next_cursor")
            if not cursor:
                break
            joiner = "&" if "?" in url else "?"
            responses.append(self.get(persona, f"{url}{joiner}cursor={cursor}"))
        return responses

    def run(self) -> list[tuple[str, str, str, object]]:
        """(persona, route, url, responses) for every route × persona × filling."""
        return [(persona, path, url, self.pages(persona, url), used)
                for path in self.routes for url, used in self.urls(path)
                for persona in PERSONAS]

    def like_missing(self, persona: str, path: str, used: dict, response) -> str | None:
        """None if the answer equals the one for random ids on the same route."""
        missing = path
        for name, value in used.items():
            replacement = str(uuid.uuid4()) if name in CHILD_PARAMS else value
            missing = missing.replace("{" + name + "}", replacement)
        nowhere = self.get(persona, missing)
        if (response.status_code, response.content, headers_of(response)) == (
                nowhere.status_code, nowhere.content, headers_of(nowhere)):
            return None
        return (f"{response.status_code} {response.text[:300]} vs missing "
                f"{nowhere.status_code} {nowhere.text[:300]}")


def leaks(sweep: Sweep, results, markers: dict[str, str], id_markers: set[str],
          exempt_ids: set[tuple[str, str]]) -> list[str]:
    """Everything that still tells of the child: object routes that answer otherwise than
    a missing object, and 2xx bodies naming the child, their ids or the summary's texts."""
    found = []
    for persona, path, url, responses, used in results:
        first = responses[0]
        assert first.status_code < 500, (persona, url, first.text)
        if CHILD_PARAMS & set(used):
            if first.status_code < 300:
                found.append(f"{persona} GET {url}: {first.status_code}")
            elif (difference := sweep.like_missing(persona, path, used, first)):
                found.append(f"{persona} GET {url}: not like a missing object: {difference}")
            continue
        for response in responses:
            if response.status_code >= 300:
                continue
            named = [label for label, text in markers.items() if text in response.text]
            if (persona, path) not in exempt_ids:
                named += [i for i in id_markers if i in response.text]
            if named:
                found.append(f"{persona} GET {url}: {response.status_code} names {named}")
    return found


def record_of(platform, log_id: str) -> str:
    """The ref of the log's oldest access record in a checkpoint (the logs service's)."""
    engine = create_engine(platform.database_urls["logs"])
    with engine.connect() as connection:
        record = connection.scalar(select(access_table.c.id).where(
            access_table.c.subject_id == log_id, access_table.c.leaf_index.is_not(None))
            .order_by(access_table.c.leaf_index).limit(1))
    engine.dispose()
    return f"logs:{record}"


def relay_of(platform, component: str) -> Outbox:
    return next(d for d in platform.containers[component].dependencies
                if isinstance(d, Outbox))


@pytest.mark.timeout(600)  # every GET route as every persona: minutes on a loaded runner
def test_after_a_withdrawal_nothing_about_the_child_answers_to_the_agency(populated_platform):
    platform, world = populated_platform
    jonas = world.stories["jonas"]
    mother = platform.client("other-guardian")
    kindergarten = platform.client("kindergarten-teacher")
    teacher, teacher2, admin = (platform.client(p) for p in ("teacher", "teacher2",
                                                              "school-admin"))
    hook = school_webhook(platform, world)

    # -- Jonas's mother widens his consent to the school ---------------------------------------
    widened = mother.post(f"/api/v1/children/{jonas.child_id}/consents", json={
        "scope": {"agency_types": ["kindergarten", "health_station", "ppt", "school"]},
        "purpose": "Overgangen til skolen", "supersedes": jonas.consent_id})
    assert widened.status_code == 201, widened.text
    consent_id = widened.json()["id"]
    handover_url = f"/api/v1/handovers/{jonas.handover_id}"
    offered = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(
        teacher.get(handover_url)), timeout=20, message="the handover offered to the school")
    assert offered.json()["status"] == "awaiting_acceptance"
    # a school teacher joins Jonas's log and is given a measure
    teacher2_id = world.actors["teacher2"].person_id
    joined = kindergarten.post(f"/api/v1/logs/{jonas.log_id}/participants",
                               json={"person_id": teacher2_id})
    assert joined.status_code == 201, joined.text
    today = date.today()
    measure = kindergarten.post(f"/api/v1/logs/{jonas.log_id}/measures", json={
        "title": "Besøk på skolen før skolestart", "goal": "Jonas kjenner igjen klasserommet",
        "responsible_id": joined.json()["id"], "arena": "school",
        "start_date": today.isoformat(), "evaluate_by": (today + timedelta(days=30)).isoformat(),
        "status": "active"})
    assert measure.status_code == 201, measure.text
    item = wait_for(lambda: next((i for i in teacher2.get("/api/v1/notifications").json()[
        "items"] if i.get("log_id") == jonas.log_id), None), timeout=20,
        message="the school teacher's inbox item about Jonas")

    def school_deliveries():
        return admin.get(f"/api/v1/webhooks/{hook}/deliveries").json()["items"]
    wait_for(lambda: {d["kind"] for d in school_deliveries()} >= {
        "handover_requested", "measure_assigned"}, timeout=30,
        message="the school's webhook deliveries about Jonas")

    # what the sweep must find gone: his identity, his ids, the texts the school was shown
    child = next(c for c in mother.get("/api/v1/children").json()["items"]
                 if c["id"] == jonas.child_id)
    summary = kindergarten.get(handover_url).json()["summary"]
    markers = {"name": child["name"], "birth date": child["birth_date"],
               **{f"text {n}": t for n, t in enumerate(sorted(texts(summary)), 1)}}
    assert child["name"] == JONAS["name"] and len(markers) > 4, markers
    id_markers = {jonas.child_id, jonas.log_id, jonas.measure_id, jonas.meeting_id,
                  jonas.proposal_id, jonas.participant_id, jonas.consent_id, consent_id,
                  jonas.handover_id, measure.json()["id"], joined.json()["id"]}
    ids = {"child_id": [jonas.child_id], "log_id": [jonas.log_id],
           "measure_id": [jonas.measure_id, measure.json()["id"]],
           "meeting_id": [jonas.meeting_id], "proposal_id": [jonas.proposal_id],
           "participant_id": [jonas.participant_id], "consent_id": [jonas.consent_id, consent_id],
           "handover_id": [jonas.handover_id], "notification_id": [item["id"]],
           "webhook_id": [hook], "org_number": [SCHOOL],
           "record": [record_of(platform, jonas.log_id)]}
    sweep = Sweep(platform, ids)
    assert {"/handovers/{handover_id}", "/logs/{log_id}", "/notifications",
            "/audit/access-log", "/children/{child_id}/access-log/{record}"} <= set(
        sweep.routes)

    # before: the sweep does see Jonas (so that it can see a leak)
    before = leaks(sweep, sweep.run(), markers, id_markers, exempt_ids=set())
    for expected in (f"teacher GET /handovers/{jonas.handover_id}: 200",
                     f"teacher2 GET /logs/{jonas.log_id}: 200"):
        assert expected in before, before
    assert any(line.startswith("teacher GET /handovers: 200 names") for line in before), before
    assert any(line.startswith("teacher2 GET /notifications: 200 names") for line in before)
    assert any(line.startswith("school-system GET /logs: 200 names") for line in before)

    # -- the withdrawal, with the consent service's events held back -----------------------------
    relay = relay_of(platform, "consent")
    relay.stop()
    withdrawn = mother.post(f"/api/v1/consents/{consent_id}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"

    first = leaks(sweep, sweep.run(), markers, id_markers,
                  exempt_ids={*AUDITOR_VIEWS, *((p, "/notifications") for p in PERSONAS)})
    assert first == [], "\n".join(first)

    # -- the events arrive -------------------------------------------------------------------
    relay.start()
    wait_for(lambda: mother.get(handover_url).json()["status"] == "consent_pending",
             timeout=30, message="the handover back to waiting for consent")
    wait_for(lambda: all(d["status"] == "dropped" for d in school_deliveries()
                         if d["kind"] in ("handover_requested", "measure_assigned")),
             timeout=30, message="the school's deliveries about Jonas dropped")
    about_jonas = [d for d in school_deliveries()
                   if d["kind"] in ("handover_requested", "measure_assigned")]
    assert {(d["status"], d["drop_reason"]) for d in about_jonas} == {
        ("dropped", "consent_ended")}
    wait_for(lambda: all(i.get("log_id") != jonas.log_id for i in
                         teacher2.get("/api/v1/notifications").json()["items"]),
             timeout=30, message="the inbox item about Jonas withdrawn")

    second = leaks(sweep, sweep.run(), markers, id_markers,
                   exempt_ids=AUDITOR_VIEWS)
    assert second == [], "\n".join(second)
    # the audit view is exempt from ids only: it names no child, no date, no text
    audit = [r.text for r in sweep.pages("auditor", "/audit/access-log")]
    assert any(jonas.log_id in page for page in audit)  # the exemption is real
    assert not [label for label, text in markers.items() if any(text in p for p in audit)]
