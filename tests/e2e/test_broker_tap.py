"""The broker is not a trusted room: a national identity number travels in one RPC only.

RabbitMQ's firehose (the vhost's ``tracing`` flag, the same switch as ``rabbitmqctl
trace_on -p <vhost>``, set here through the management API the tests already use for
their vhosts) copies every message published in and delivered from this test's vhost to
``amq.rabbitmq.trace``, with its exchange, routing keys, properties and headers. A queue
bound there records the whole end-to-end thread: a guardian logs in (her token's ``pid``),
consents; staff register and search a child by number, open a log, add a measure; the PPT
advisor is notified; a handover is requested and accepted; the family reads.

Then every recorded message, except requests of ``consent.resolve_citizen``, is searched
for every national identity number used: bodies, headers, properties and routing keys,
replies to ``resolve_citizen`` included. A second test makes ``child_parties`` answer with
the number and proves the tap catches it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from urllib.parse import unquote, urlsplit

import amqp
import pytest
import requests

from services.consent.models import Person
from services.consent.service import ConsentService
from stafett.dev.demo import AGENCIES, CHILDREN, EMMA
from tests.support.platform import Platform, wait_for

PPT, HEALTH = AGENCIES["ppt"]["org_number"], AGENCIES["health_station"]["org_number"]
SCHOOL = AGENCIES["school"]["org_number"]
NUMBERS = sorted({c["national_id"] for c in CHILDREN}
                 | {g["national_id"] for c in CHILDREN for g in c["guardians"]})
RESOLVE = "consent.resolve_citizen"
TRACE_EXCHANGE = "amq.rabbitmq.trace"


@dataclass
class Traced:
    kind: str            # publish.<exchange> | deliver.<queue>
    exchange: str
    routing_keys: list
    headers: dict
    body: bytes

    @property
    def resolve_request(self) -> bool:
        return self.exchange == "nameko-rpc" and self.routing_keys == [RESOLVE]

    def text(self) -> str:
        return " ".join((self.kind, self.exchange, repr(self.routing_keys),
                         repr(self.headers), self.body.decode("utf-8", "replace")))


class Tap:
    """The firehose of one vhost, recorded in an exclusive queue until collected."""

    def __init__(self, broker, amqp_uri: str):
        parts = urlsplit(amqp_uri)
        self.vhost = unquote(parts.path[1:])
        self.api, self.auth = broker.management_url, broker._auth()
        requests.put(f"{self.api}/api/vhosts/{self.vhost}", auth=self.auth, timeout=30,
                     json={"tracing": True}).raise_for_status()
        self.connection = amqp.Connection(host=f"{parts.hostname}:{parts.port or 5672}",
                                          userid=parts.username or "guest",
                                          password=parts.password or "guest",
                                          virtual_host=self.vhost)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.queue, _, _ = self.channel.queue_declare(queue="", exclusive=True)
        self.channel.queue_bind(self.queue, TRACE_EXCHANGE, "#")
        self.seen: list[Traced] = []

    def collect(self) -> list[Traced]:
        while (message := self.channel.basic_get(self.queue, no_ack=True)) is not None:
            headers = dict(message.headers or {})
            self.seen.append(Traced(
                kind=message.delivery_info["routing_key"],
                exchange=str(headers.get("exchange_name", "")),
                routing_keys=[str(k) for k in headers.get("routing_keys") or []],
                headers=headers, body=bytes(message.body if isinstance(message.body, bytes)
                                            else str(message.body).encode())))
        return self.seen

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            requests.put(f"{self.api}/api/vhosts/{self.vhost}", auth=self.auth, timeout=30,
                         json={"tracing": False})


def leaks(traced: list[Traced], numbers=NUMBERS) -> list[tuple[str, list, str]]:
    """(trace kind, routing keys, number) of every message other than a resolve_citizen
    request that holds a national identity number anywhere."""
    found = []
    for message in traced:
        if message.resolve_request:
            continue
        text = message.text()
        found += [(message.kind, message.routing_keys, n) for n in numbers if n in text]
    return found


@pytest.fixture
def tapped(broker, amqp_uri, container_factory, database_urls, tmp_path):
    if not broker._management_ok():
        pytest.skip("the broker tap needs the RabbitMQ management API")
    tap = Tap(broker, amqp_uri)  # on before anything connects
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start()
    try:
        yield platform, tap
    finally:
        platform.close()
        tap.close()


def the_thread(platform) -> dict:
    """Login, consent, registration and search by number, log, measure, notification,
    handover, reading: every service and every kind of message."""
    platform.seed()
    guardian, teacher, ppt, nurse = (platform.client(p) for p in ("guardian", "teacher",
                                                                  "ppt", "nurse"))
    emma = next(c for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    assert guardian.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [SCHOOL], "agency_types": ["ppt", "health_station"]},
        "purpose": "Samarbeid om skolehverdagen"}).status_code == 201
    number = {"national_id": EMMA["national_id"]}
    assert teacher.post("/api/v1/children", json=number).status_code == 201
    assert teacher.post("/api/v1/children/search", json=number).json()["id"] == emma["id"]
    log = teacher.post("/api/v1/logs", json={"child_id": emma["id"], "level": 2}).json()
    omar = teacher.get(f"/api/v1/agencies/{PPT}/staff").json()["items"][0]
    added = teacher.post(f"/api/v1/logs/{log['id']}/participants",
                         json={"person_id": omar["id"]}).json()
    assert teacher.post(f"/api/v1/logs/{log['id']}/measures", json={
        "title": "Fast plass nær døra", "goal": "Roligere start", "arena": "school",
        "responsible_id": added["id"], "start_date": date.today().isoformat(),
        "evaluate_by": "2027-01-15"}).status_code == 201
    wait_for(lambda: ppt.get("/api/v1/notifications").json()["items"], timeout=20,
             message="the PPT advisor's notification")
    handover = teacher.post("/api/v1/handovers", json={
        "log_id": log["id"], "to_agency": HEALTH, "transition": "other"}).json()
    url = f"/api/v1/handovers/{handover['id']}"
    offered = nurse.get(url)
    me = nurse.get("/api/v1/me").json()["person_id"]
    assert nurse.post(f"{url}/accept", json={"new_stafettholder_person_id": me},
                      headers={"If-Match": offered.headers["ETag"]}).status_code == 200
    wait_for(lambda: nurse.get(url).json()["status"] == "completed", timeout=30,
             message="the handover to complete")
    assert guardian.get(f"/api/v1/logs/{log['id']}").status_code == 200
    assert guardian.get(f"/api/v1/logs/{log['id']}/access-log").status_code == 200
    wait_for(lambda: teacher.get("/api/v1/notifications").json()["items"], timeout=20,
             message="the requester hears of the acceptance")
    return {"log": log, "emma": emma}


def test_no_national_identity_number_on_the_broker_outside_resolve_citizen(tapped):
    platform, tap = tapped
    the_thread(platform)
    traced = tap.collect()
    # the tap saw the whole thread: events, RPCs of every service, and the numbers where
    # they are allowed (else it proves nothing)
    keys = {k for m in traced for k in m.routing_keys}
    assert {"log.measure_added", "handover.accepted", "consent.granted",
            "consent.register_child", "consent.find_child", "consent.resolve_actor",
            "consent.child_parties", "logs.open_log", "handover.accept_handover"} <= keys
    resolved = [m for m in traced if m.resolve_request]
    assert any(EMMA["national_id"] in m.text() for m in resolved)
    assert {json.loads(m.body)["args"][0] for m in resolved
            if m.kind.startswith("publish.")} == {"login", "search", "register"}
    assert leaks(traced) == []


def test_the_tap_catches_a_number_in_any_other_message(tapped, monkeypatch):
    """If child_parties (for instance) answered with the number, the tap would fail."""
    platform, tap = tapped
    original = ConsentService.child_parties

    def leaky(self, child_id):
        result = original(self, child_id)
        child = self.db.get(Person, child_id)
        result["child"]["national_id"] = self.numbers.decrypt(child.nin_ciphertext, child.id)
        return result

    monkeypatch.setattr(ConsentService, "child_parties", leaky)
    platform.seed()
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    emma = next(c for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    guardian.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [SCHOOL]}, "purpose": "Samarbeid"})
    assert teacher.post("/api/v1/logs", json={"child_id": emma["id"]}).status_code == 201
    found = leaks(tap.collect())
    assert found and {n for _, _, n in found} == {EMMA["national_id"]}
    # a reply: published to the caller's reply queue, not a request of resolve_citizen
    assert all(RESOLVE not in keys for _, keys, _ in found)
