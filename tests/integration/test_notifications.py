"""The notifications service over a real broker, a real SMTP server and a webhook receiver.

Events are published the way the producers' relays publish them (kombu, to the
``<source>.events`` topic exchange, routing key = event type), shaped by the contracts in
services/logs/events.py, services/handover/events.py and services/consent/events.py, so
these tests do not depend on the producers' progress.
"""
from __future__ import annotations

import json
import ssl
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import eventlet
import pytest
import requests
import trustme
from icalendar import Calendar
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from services.notifications.models import Delivery, MeasureFact, MeetingFact, ReminderSent
from services.notifications.service import NotificationsService
from stafett.actor import SYSTEM_ACTOR, Actor
from stafett.config import component_config
from stafett.dev.demo import AGENCIES
from stafett.events import Envelope
from tests.support.notifications import (FAKE_DNS, FAKE_DNS_PATH, ConnectionCounter, SmtpSink,
                                         WebhookReceiver)
from tests.support.platform import free_port, wait_for

OSLO = ZoneInfo("Europe/Oslo")
PPT, SCHOOL, NAV = (AGENCIES[k]["org_number"] for k in ("ppt", "school", "nav"))
PUBLIC_URL = "https://stafett.test"


def pid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def sink(tmp_path):
    sink = SmtpSink(tmp_path / "mail", reject_domains=("nowhere.example",)).start()
    yield sink
    sink.stop()


@pytest.fixture
def settings(amqp_uri, database_urls, tmp_path, sink):
    def make(**overrides):
        config = component_config(
            "notifications", AMQP_URI=amqp_uri, DATABASE_URL=database_urls["notifications"],
            WEB_SERVER_ADDRESS=f"127.0.0.1:{free_port()}", SECRETS_DIR=str(tmp_path / "secrets"),
            AUDIT_WITNESS_DIR=str(tmp_path / "audit-witness"),
            PUBLIC_URL=PUBLIC_URL, SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port,
            WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOW_LOOPBACK="true",  # the receiver
            DELIVERY_POLL_SECONDS=0.2,
            DELIVERY_RETRY_BASE_SECONDS=0.2, DELIVERY_MAX_ATTEMPTS=3,
            EVENT_RETRY_BASE_SECONDS=0.1, EVENT_MAX_ATTEMPTS=3, WEBHOOK_TIMEOUT_SECONDS=10)
        config.update(overrides)
        return config
    return make


@pytest.fixture
def notifications(container_factory, settings):
    container = container_factory(NotificationsService, settings())
    container.start()
    return container


class Client:
    """RPC as a given actor, and publishing as the producers do."""

    def __init__(self, amqp_uri, database_url):
        self.amqp_uri = amqp_uri
        self.engine = create_engine(database_url)

    def rpc(self, actor=SYSTEM_ACTOR):
        return ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=15,
                               context_data={"actor": actor.to_context()})

    def publish(self, source, type_, data, *, log_id=None, child_id=None, actor_ref=None,
                occurred_at=None) -> Envelope:
        event = Envelope(type=type_, source=source, data=data, log_id=log_id,
                         child_id=child_id, actor_ref=actor_ref or "person:someone-else",
                         **({"occurred_at": occurred_at} if occurred_at else {}))
        with Connection(self.amqp_uri) as connection:
            connection.Producer().publish(event.to_dict(), exchange=f"{source}.events",
                                          routing_key=type_, serializer="json",
                                          delivery_mode=2)
        return event

    def deliveries(self, event_id: str) -> list[dict]:
        with self.rpc() as rpc:
            return rpc.notifications.list_deliveries(event_id=event_id)

    def settled(self, event_id: str, count: int, timeout: float = 15) -> list[dict]:
        """Wait until ``count`` deliveries of the event have a final status."""
        final = ("delivered", "failed-permanent", "cancelled")
        return wait_for(lambda: (lambda ds: ds if len(ds) == count and all(
            d["status"] in final for d in ds) else None)(self.deliveries(event_id)),
            timeout=timeout, message=f"{count} settled deliveries of {event_id}")

    def contacts(self, **emails) -> None:
        with self.rpc() as rpc:
            rpc.notifications.seed_contacts([{"person_id": p, "email": e}
                                             for p, e in emails.items()])

    def webhook(self, agency: str, url: str) -> dict:
        actor = Actor(kind="system", agency=agency, scopes=("stafett:webhooks",))
        with self.rpc(actor) as rpc:
            return rpc.notifications.create_webhook({"url": url})

    def inbox(self, person_id: str) -> list[dict]:
        with self.rpc(Actor(kind="staff", person_id=person_id)) as rpc:
            return rpc.notifications.inbox()


@pytest.fixture
def client(amqp_uri, database_urls):
    client = Client(amqp_uri, database_urls["notifications"])
    yield client
    client.engine.dispose()


def measure_data(responsible, agency=PPT, evaluate_by="2026-12-14", **extra) -> dict:
    return {"measure_id": pid(), "status": "active", "arena": "school",
            "evaluate_by": evaluate_by, "responsible_person_id": responsible,
            "responsible_agency": agency, "proposer_person_id": None,
            "stafettholder_person_id": extra.pop("stafettholder", pid()), **extra}


def by_channel(deliveries) -> dict:
    result = {}
    for d in deliveries:
        result.setdefault(d["channel"], []).append(d)
    return result


# -- a new measure: inbox, e-mail, webhook ---------------------------------------------------

def test_a_new_measure_reaches_the_inbox_the_smtp_server_and_the_webhook(
        notifications, client, sink, receiver):
    responsible = pid()
    client.contacts(**{responsible: "ansvarlig@havvik.example"})
    hook = client.webhook(PPT, receiver.url("/ppt"))
    receiver.endpoint("/ppt", secret=hook["secret"])
    other = client.webhook(NAV, receiver.url("/nav"))
    receiver.endpoint("/nav", secret=other["secret"])
    log_id, child_id = pid(), pid()

    data = measure_data(responsible)
    event = client.publish("logs", "log.measure_added", data,
                           log_id=log_id, child_id=child_id)
    deliveries = by_channel(client.settled(event.event_id, 3))

    assert [d["status"] for d in deliveries["inbox"]] == ["delivered"]
    assert [d["status"] for d in deliveries["email"]] == ["delivered"]
    assert [(d["status"], d["agency"]) for d in deliveries["webhook"]] == [("delivered", PPT)]
    inbox = client.inbox(responsible)
    assert [(n["kind"], n["link"], n["read"]) for n in inbox] == [
        ("measure_assigned", f"/logger/{log_id}#tiltak-{data['measure_id']}", False)]

    mail = sink.to("ansvarlig@havvik.example")
    assert len(mail) == 1
    assert mail[0]["Subject"] == "Du har en ny oppgave i Stafett"
    text_part = mail[0].get_body(("plain",)).get_content()
    # content-free: the link is to the inbox item, behind the login
    assert f"Logg inn for å se det: {PUBLIC_URL}/innboks/{event.event_id}" in text_part
    assert "logger" not in text_part
    assert mail[0].get_body(("html",)) is not None

    [received] = receiver.at("/ppt")
    assert received.verified
    assert received.headers["Stafett-Event-Id"] == event.event_id
    body = json.loads(received.body)
    assert set(body) == {"id", "event_id", "type", "kind", "occurred_at", "data", "link"}
    assert body["type"] == "log.measure_added" and body["kind"] == "measure_assigned"
    assert set(body["data"]) == {"log_id", "child_id", "measure_id"}
    assert body["link"] == f"{PUBLIC_URL}/api/v1/logs/{log_id}"
    assert receiver.at("/nav") == []   # another agency's webhook hears nothing of it

    # the same event again (a redelivery): one delivery per (event, recipient, channel)
    with entrypoint_waiter(notifications, "on_log_event"):
        _republish(client, event)
    assert len(client.deliveries(event.event_id)) == 3
    assert len(sink.to("ansvarlig@havvik.example")) == 1
    assert len(receiver.at("/ppt")) == 1


def _republish(client, event: Envelope) -> None:
    with Connection(client.amqp_uri) as connection:
        connection.Producer().publish(event.to_dict(), exchange=f"{event.source}.events",
                                      routing_key=event.type, serializer="json")


# -- every recipient rule, over the broker -------------------------------------------------------

def test_each_event_reaches_the_right_people(notifications, client):
    log_id, child_id = pid(), pid()
    stafettholder, ppt_person, guardian1, guardian2, proposer = (pid() for _ in range(5))
    receiver_person, requester = pid(), pid()

    def publish(source, type_, data, **kw):
        return client.publish(source, type_, data, log_id=log_id, child_id=child_id, **kw)

    # the projection: who holds the log, who takes part (no one is told of these)
    with entrypoint_waiter(notifications, "on_log_event"):
        opened = publish("logs", "log.opened", {"level": 2, "stafettholder_person_id":
                                                stafettholder, "stafettholder_agency": SCHOOL})
    with entrypoint_waiter(notifications, "on_log_event"):
        publish("logs", "log.participant_added", {
            "participant_id": pid(), "person_id": ppt_person, "kind": "staff",
            "role": "member", "agency": PPT})
    assert client.deliveries(opened.event_id) == []

    meeting_start = datetime(2026, 12, 1, 9, 0, tzinfo=OSLO).isoformat()
    cases = [
        (("logs", "log.meeting_scheduled", {
            "meeting_id": pid(), "starts_at": meeting_start, "ends_at": None,
            "invited_person_ids": [ppt_person, guardian1, stafettholder],
            "stafettholder_person_id": stafettholder}, f"person:{stafettholder}"),
         {(ppt_person, "meeting_invited"), (guardian1, "meeting_invited")}),
        (("consent", "consent.expiring", {
            "consent_id": pid(), "status": "active", "scope_agencies": [],
            "scope_agency_types": ["ppt"], "valid_from": "2026-01-01",
            "valid_until": "2026-12-31", "notify_person_ids": [guardian1, guardian2]},
          "consent"),
         {(guardian1, "consent_expiring"), (guardian2, "consent_expiring"),
          (stafettholder, "consent_expiring_stafettholder")}),
        (("handover", "handover.requested", {
            "handover_id": pid(), "status": "consent_pending", "transition": "school",
            "from_agency": SCHOOL, "to_agency": NAV, "to_person_id": receiver_person,
            "requested_by_person_id": requester,
            "consent_person_ids": [guardian1, guardian2]}, f"person:{requester}"),
         {(guardian1, "handover_consent_needed"), (guardian2, "handover_consent_needed")}),
        (("handover", "handover.requested", {
            "handover_id": pid(), "status": "awaiting_acceptance", "transition": "school",
            "from_agency": SCHOOL, "to_agency": NAV, "to_person_id": receiver_person,
            "requested_by_person_id": requester, "consent_person_ids": []},
          f"person:{requester}"),
         {(receiver_person, "handover_requested")}),
        (("handover", "handover.accepted", {
            "handover_id": pid(), "from_agency": SCHOOL, "to_agency": NAV,
            "requested_by_person_id": requester,
            "new_stafettholder_person_id": receiver_person}, f"person:{receiver_person}"),
         {(requester, "handover_accepted")}),
        (("handover", "handover.declined", {
            "handover_id": pid(), "from_agency": SCHOOL, "to_agency": NAV,
            "requested_by_person_id": requester}, f"person:{receiver_person}"),
         {(requester, "handover_declined")}),
        (("logs", "log.proposal_answered", {
            "proposal_id": pid(), "proposer_person_id": proposer, "decision": "accepted",
            "measure_id": pid()}, f"person:{stafettholder}"),
         {(proposer, "proposal_answered")}),
        (("logs", "log.closed", {
            "participant_person_ids": [stafettholder, ppt_person, guardian1, guardian2],
            "stafettholder_person_id": stafettholder}, f"person:{stafettholder}"),
         {(p, "log_closed") for p in (ppt_person, guardian1, guardian2)}),
    ]
    for (source, type_, data, actor_ref), expected in cases:
        event = publish(source, type_, data, actor_ref=actor_ref)
        inbox = {(d["person_id"], d["kind"]) for d in client.settled(
            event.event_id, len(expected)) if d["channel"] == "inbox"}
        assert inbox == expected, type_

    # once the log is closed, its stafettholder no longer hears of the child's consent
    event = publish("consent", "consent.expired", {
        "consent_id": pid(), "status": "expired", "scope_agencies": [],
        "scope_agency_types": [], "valid_from": "2026-01-01", "valid_until": "2026-12-31",
        "notify_person_ids": [guardian1]}, actor_ref="consent")
    assert {(d["person_id"], d["kind"]) for d in client.settled(event.event_id, 1)} == {
        (guardian1, "consent_expired")}


# -- the meeting invitation's calendar file -------------------------------------------------------

def test_the_meeting_invitation_email_carries_an_ics(notifications, client, sink):
    invited = pid()
    client.contacts(**{invited: "invitert@example.org"})
    starts = datetime(2026, 12, 3, 13, 30, tzinfo=OSLO)
    meeting_id = pid()
    event = client.publish("logs", "log.meeting_scheduled", {
        "meeting_id": meeting_id, "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(minutes=90)).isoformat(),
        "invited_person_ids": [invited], "stafettholder_person_id": pid()},
        log_id=pid(), child_id=pid())
    client.settled(event.event_id, 2)
    [mail] = sink.to("invitert@example.org")
    assert mail["Subject"] == "Invitasjon til samarbeidsmøte i Stafett"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "samarbeidsmote.ics"
    calendar = Calendar.from_ical(attachment.get_content())
    [vevent] = calendar.walk("VEVENT")
    assert vevent.decoded("dtstart") == starts.astimezone(timezone.utc)
    assert vevent.decoded("dtend") == (starts + timedelta(minutes=90)).astimezone(timezone.utc)
    assert str(vevent["summary"]) == "Samarbeidsmøte (Stafett)"
    assert str(vevent["uid"]) == f"{meeting_id}@stafett"
    assert set(vevent) <= {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION",
                           "URL", "SEQUENCE", "TRANSP"}   # no attendees, no place, no agenda


# -- retries, dead letters, operations ----------------------------------------------------------

def test_temporary_webhook_failures_are_retried_with_exponential_backoff(
        notifications, client, receiver):
    hook = client.webhook(PPT, receiver.url("/flaky"))
    receiver.endpoint("/flaky", statuses=[503, 429, 200], secret=hook["secret"])
    event = client.publish("logs", "log.measure_added", measure_data(pid()), log_id=pid())
    [delivery] = [d for d in client.settled(event.event_id, 2) if d["channel"] == "webhook"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 3)
    calls = receiver.at("/flaky")
    assert len(calls) == 3 and all(call.verified for call in calls)
    # base 0.2 s: the second wait is about twice the first
    first, second = calls[1].at - calls[0].at, calls[2].at - calls[1].at
    assert first >= 0.2 and second >= 0.4
    assert len({c.headers["Stafett-Delivery-Id"] for c in calls}) == 1


def test_permanent_failures_are_dead_letters_visible_to_operations_and_can_be_requeued(
        notifications, client, receiver, sink):
    gone = pid()
    client.contacts(**{gone: "borte@nowhere.example"})          # the SMTP server says 550
    hook = client.webhook(PPT, receiver.url("/gone"))
    receiver.endpoint("/gone", statuses=[410, 200], secret=hook["secret"])
    event = client.publish("logs", "log.measure_added", measure_data(gone), log_id=pid())
    deliveries = by_channel(client.settled(event.event_id, 3))
    [webhook], [mail] = deliveries["webhook"], deliveries["email"]
    assert (webhook["status"], webhook["attempts"], webhook["last_error"]) == (
        "failed-permanent", 1, "http_410")
    assert (mail["status"], mail["attempts"]) == ("failed-permanent", 1)
    assert "550" in mail["last_error"] and "nowhere" not in mail["last_error"]

    with client.rpc() as rpc:
        dead = {d["id"] for d in rpc.notifications.list_deliveries(status="failed-permanent")}
        assert {webhook["id"], mail["id"]} <= dead
    metrics = requests.get(f"http://{notifications.config['WEB_SERVER_ADDRESS']}/metrics",
                           timeout=5).text
    assert 'stafett_notifications_dead_total{channel="webhook",service="notifications"}' \
        in metrics

    # operations fix the cause and send it again
    with client.rpc() as rpc:
        assert rpc.notifications.requeue_delivery(webhook["id"])["status"] == "queued"
    wait_for(lambda: [d for d in client.deliveries(event.event_id)
                      if d["id"] == webhook["id"] and d["status"] == "delivered"],
             timeout=10, message="the requeued delivery")
    # an agency only ever sees its own webhook's deliveries
    with client.rpc(Actor(kind="system", agency=PPT, scopes=("stafett:webhooks",))) as rpc:
        page = rpc.notifications.webhook_deliveries(hook["id"])
        assert [d["status"] for d in page["items"]] == ["delivered"]
        assert page["next_cursor"] is None
    with client.rpc(Actor(kind="system", agency=NAV, scopes=("stafett:webhooks",))) as rpc:
        with pytest.raises(Exception) as caught:
            rpc.notifications.webhook_deliveries(hook["id"])
        assert type(caught.value).__name__ == "NotFound"


def test_an_unreachable_smtp_server_is_retried_then_dead(container_factory, settings,
                                                        client):
    closed_port = free_port()   # nothing listens here
    container = container_factory(NotificationsService, settings(SMTP_PORT=closed_port))
    container.start()
    person = pid()
    client.contacts(**{person: "noen@havvik.example"})
    event = client.publish("logs", "log.measure_added", measure_data(person), log_id=pid())
    [mail] = [d for d in client.settled(event.event_id, 2) if d["channel"] == "email"]
    assert (mail["status"], mail["attempts"]) == ("failed-permanent", 3)
    assert mail["last_error"].startswith("SMTP ")


# -- webhook targets: public addresses only, checked again at delivery ----------------------------

@pytest.fixture
def dns():
    with FAKE_DNS.answering() as dns:
        yield dns


def test_a_name_that_resolves_inward_at_delivery_is_refused_and_never_connected(
        container_factory, settings, client, dns):
    """DNS rebinding: public when registered, 127.0.0.1 when the event comes. Loopback is
    not allowed here (production's setting); a listener there counts connections."""
    container = container_factory(NotificationsService, settings(
        WEBHOOK_ALLOW_LOOPBACK="false", WEBHOOK_RESOLVER=FAKE_DNS_PATH))
    container.start()
    listener = ConnectionCounter()
    try:
        name = f"rebind-{uuid.uuid4().hex[:8]}.fagsystem.example"
        dns.answers[name] = ["93.184.215.14"]
        hook = client.webhook(PPT, f"https://{name}:{listener.port}/hooks")
        assert dns.questions == [name]                       # checked at registration

        dns.answers[name] = ["127.0.0.1"]                    # ... and now it points inward
        event = client.publish("logs", "log.measure_added", measure_data(pid()),
                               log_id=pid())
        [delivery] = [d for d in client.settled(event.event_id, 2)
                      if d["channel"] == "webhook"]
        assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == (
            "failed-permanent", 1, "blocked_address")
        assert dns.questions == [name, name]                 # resolved again, once
        assert listener.connections == 0
        with client.rpc(Actor(kind="system", agency=PPT, scopes=("stafett:webhooks",))) as rpc:
            [seen] = rpc.notifications.webhook_deliveries(hook["id"])["items"]
        assert (seen["status"], seen["last_error"]) == ("failed-permanent", "blocked_address")
    finally:
        listener.stop()


def test_a_webhook_name_is_connected_to_at_the_checked_address_with_tls_for_the_name(
        container_factory, settings, client, dns, tmp_path):
    """The name exists only in the service's resolver: the delivery can only have reached
    the receiver through the address the check returned, with SNI and the certificate
    verified for the name."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    name = f"pinned-{uuid.uuid4().hex[:8]}.fagsystem.example"
    ca.issue_cert(name).configure_cert(context)
    receiver = WebhookReceiver(tls=context).start()
    try:
        container = container_factory(NotificationsService, settings(
            WEBHOOK_RESOLVER=FAKE_DNS_PATH, WEBHOOK_CA_BUNDLE=str(tmp_path / "ca.pem")))
        container.start()
        dns.answers[name] = ["127.0.0.1"]
        hook = client.webhook(PPT, receiver.url("/hooks", host=name))
        receiver.endpoint("/hooks", secret=hook["secret"])
        event = client.publish("logs", "log.measure_added", measure_data(pid()),
                               log_id=pid())
        [delivery] = [d for d in client.settled(event.event_id, 2)
                      if d["channel"] == "webhook"]
        assert (delivery["status"], delivery["last_error"]) == ("delivered", None)
        [received] = receiver.at("/hooks")
        assert received.verified and received.headers["Host"] == f"{name}:{receiver.port}"
        assert receiver.server_names == [name]
        assert dns.questions == [name, name]                 # registration, delivery
    finally:
        receiver.stop()


def test_last_error_tells_the_agency_a_category_and_nothing_it_could_map_with(
        notifications, client, receiver):
    """A closed port and a TLS failure (an open port that speaks no TLS) on the same host:
    the agency sees ``refused`` and ``tls``, never an exception text, address or port."""
    closed = free_port()
    refused = client.webhook(PPT, f"https://127.0.0.1:{closed}/hooks")
    tls = client.webhook(NAV, f"https://127.0.0.1:{receiver.port}/hooks")
    events = [client.publish("logs", "log.measure_added", measure_data(pid(), agency=agency),
                             log_id=pid()) for agency in (PPT, NAV)]
    for event in events:
        client.settled(event.event_id, 2)
    for agency, hook, category in ((PPT, refused, "refused"), (NAV, tls, "tls")):
        with client.rpc(Actor(kind="system", agency=agency,
                              scopes=("stafett:webhooks",))) as rpc:
            [seen] = rpc.notifications.webhook_deliveries(hook["id"])["items"]
        assert (seen["status"], seen["attempts"], seen["last_error"]) == (
            "failed-permanent", 3, category)
    with client.rpc() as rpc:      # operations see the same words
        errors = {d["webhook_id"]: d["last_error"] for d in rpc.notifications.list_deliveries(
            channel="webhook")}
    assert errors == {refused["id"]: "refused", tls["id"]: "tls"}


# -- the bulkhead --------------------------------------------------------------------------------

def test_a_slow_agency_endpoint_does_not_delay_the_others(container_factory, settings,
                                                          client, receiver):
    container = container_factory(NotificationsService,
                                  settings(WEBHOOK_CONCURRENCY_PER_AGENCY=2))
    container.start()
    slow = client.webhook(PPT, receiver.url("/slow"))
    receiver.endpoint("/slow", delay=5.0, secret=slow["secret"])
    fast = client.webhook(NAV, receiver.url("/fast"))
    receiver.endpoint("/fast", secret=fast["secret"])

    # the slow agency first: more deliveries than its pool has room for
    for _ in range(4):
        client.publish("logs", "log.measure_added", measure_data(pid(), agency=PPT),
                       log_id=pid())
    wait_for(lambda: receiver.endpoints["/slow"].calls >= 2, timeout=10,
             message="the slow agency's pool to fill")
    for n in range(1, 4):
        client.publish("logs", "log.measure_added", measure_data(pid(), agency=NAV),
                       log_id=pid())
        # the bound: published → received by the other agency within 1 s
        wait_for(lambda n=n: len(receiver.at("/fast")) >= n, timeout=1.0, interval=0.02,
                 message="a delivery to the other agency within 1 s")
    assert all(call.verified for call in receiver.at("/fast"))
    # and the slow agency's own deliveries do get through, in their own time
    wait_for(lambda: len(receiver.at("/slow")) >= 2, timeout=8,
             message="the slow agency's first deliveries")


# -- quiet hours and the daily digest --------------------------------------------------------------

def _set_preferences(client, person_id: str, **choices) -> dict:
    with client.rpc(Actor(kind="citizen", person_id=person_id)) as rpc:
        current = rpc.notifications.get_preferences()
        return rpc.notifications.update_preferences(choices, str(current["version"]))


def test_quiet_hours_hold_email_but_not_the_inbox(notifications, client, sink):
    person = pid()
    local = datetime.now(OSLO)
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), \
        (local + timedelta(hours=1)).strftime("%H:%M")
    _set_preferences(client, person, email="stille@example.org",
                     quiet_hours={"start": start, "end": end})
    event = client.publish("logs", "log.measure_added", measure_data(person), log_id=pid())
    wait_for(lambda: client.inbox(person), message="the inbox notification")
    deliveries = by_channel(client.deliveries(event.event_id))
    [mail] = deliveries["email"]
    assert mail["status"] == "queued" and mail["attempts"] == 0
    expected = datetime.combine(local.date() if local.strftime("%H:%M") < end
                                else local.date() + timedelta(days=1),
                                time.fromisoformat(end), tzinfo=OSLO)
    assert datetime.fromisoformat(mail["next_attempt_at"]) == expected
    assert sink.to("stille@example.org") == []
    # when the quiet hours are over (here: turned off, and the clock moved on), it goes
    _set_preferences(client, person, email="stille@example.org")
    with Session(client.engine) as session:
        session.execute(update(Delivery).where(Delivery.id == mail["id"]).values(
            next_attempt_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        session.commit()
    wait_for(lambda: sink.to("stille@example.org"), timeout=10, message="the held e-mail")


def test_a_daily_digest_replaces_immediate_email(notifications, client, sink):
    person = pid()
    _set_preferences(client, person, email="samlet@example.org",
                     digest={"daily": True, "hour": 7})
    events = [client.publish("logs", "log.measure_added", measure_data(person), log_id=pid())
              for _ in range(3)]
    mails = wait_for(lambda: [d for e in events for d in client.deliveries(e.event_id)
                              if d["channel"] == "email"] if len(client.inbox(person)) == 3
                     else None, message="three inbox notifications")
    assert len(mails) == 3 and {m["status"] for m in mails} == {"queued"}
    next_seven = {datetime.fromisoformat(m["next_attempt_at"]).astimezone(OSLO).hour
                  for m in mails}
    assert next_seven == {7}
    assert sink.to("samlet@example.org") == []
    # seven o'clock comes
    with Session(client.engine) as session:
        session.execute(update(Delivery).where(Delivery.id.in_([m["id"] for m in mails]))
                        .values(next_attempt_at=datetime.now(timezone.utc)))
        session.commit()
    [digest] = wait_for(lambda: sink.to("samlet@example.org"), timeout=10,
                        message="the digest")
    assert digest["Subject"] == "Nye varsler i Stafett"
    assert "Du har 3 nye varsler i Stafett." in digest.get_body(("plain",)).get_content()
    wait_for(lambda: all(d["status"] == "delivered" for e in events
                         for d in client.deliveries(e.event_id)), timeout=10,
             message="all three delivered by the one digest")
    assert len(sink.to("samlet@example.org")) == 1


# -- reminders: once, across restarts and replicas ----------------------------------------------

@pytest.mark.parametrize("database_backend", ["sqlite", "postgres"], indirect=True)
def test_reminders_are_sent_once_across_restarts_and_two_replicas(
        database_backend, container_factory, settings, client):
    replicas = [container_factory(NotificationsService, settings()) for _ in range(2)]
    for replica in replicas:
        replica.start()
    today = datetime.now(OSLO).date()
    stafettholder, late, soon, invited = pid(), pid(), pid(), pid()
    log_id, child_id = pid(), pid()
    overdue = measure_data(late, evaluate_by=(today - timedelta(days=1)).isoformat(),
                           stafettholder=stafettholder)
    due_soon = measure_data(soon, evaluate_by=(today + timedelta(days=2)).isoformat(),
                            stafettholder=stafettholder)
    far = measure_data(pid(), evaluate_by=(today + timedelta(days=30)).isoformat())
    evaluated = measure_data(pid(), evaluate_by=(today - timedelta(days=2)).isoformat())
    tomorrow = datetime.combine(today + timedelta(days=1), time(10, 0), tzinfo=OSLO)
    meeting = {"meeting_id": pid(), "starts_at": tomorrow.isoformat(), "ends_at": None,
               "invited_person_ids": [invited], "stafettholder_person_id": stafettholder}
    for data in (overdue, due_soon, far, evaluated):
        client.publish("logs", "log.measure_added", data, log_id=log_id, child_id=child_id,
                       actor_ref=f"person:{stafettholder}")
    client.publish("logs", "log.measure_evaluated",
                   {**evaluated, "evaluation_id": pid(), "outcome": "green"}, log_id=log_id,
                   child_id=child_id, actor_ref=f"person:{stafettholder}")
    client.publish("logs", "log.meeting_scheduled", meeting, log_id=log_id,
                   child_id=child_id, actor_ref=f"person:{stafettholder}")

    def projected():
        with Session(client.engine) as session:
            measures = session.scalar(select(func.count()).select_from(MeasureFact))
            evaluated_ok = session.scalar(select(func.count()).select_from(MeasureFact).where(
                MeasureFact.evaluated_for.is_not(None)))
            meetings = session.scalar(select(func.count()).select_from(MeetingFact))
        return measures == 4 and evaluated_ok == 1 and meetings == 1
    wait_for(projected, timeout=15, message="the projection")

    # two replicas run the check at the same moment
    results = []

    def run(replica):
        with entrypoint_hook(replica, "run_reminders",
                             context_data={"actor": SYSTEM_ACTOR.to_context()}) as hook:
            results.append(hook())
    threads = [eventlet.spawn(run, replica) for replica in replicas]
    for thread in threads:
        thread.wait()
    total = {}
    for result in results:
        for kind, count in result.items():
            total[kind] = total.get(kind, 0) + count
    assert total == {"evaluation_overdue": 1, "evaluation_due": 1, "meeting_tomorrow": 1}

    with Session(client.engine) as session:
        assert session.scalar(select(func.count()).select_from(ReminderSent)) == 3
        inbox = {(d.person_id, d.kind) for d in session.scalars(select(Delivery).where(
            Delivery.channel == "inbox", Delivery.event_type.like("reminder.%")))}
    assert inbox == {(late, "evaluation_overdue"), (stafettholder, "evaluation_overdue"),
                     (soon, "evaluation_due"), (invited, "meeting_tomorrow")}

    # a restart: a new process finds nothing left to send
    for replica in replicas:
        replica.stop()
    restarted = container_factory(NotificationsService, settings())
    restarted.start()
    with entrypoint_hook(restarted, "run_reminders",
                         context_data={"actor": SYSTEM_ACTOR.to_context()}) as hook:
        assert hook() == {}
    with Session(client.engine) as session:
        assert session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.event_type.like("reminder.%"), Delivery.channel == "inbox")) == 4


# -- consent ended: what was queued for the agency about the child is dropped ---------------------

def test_a_consent_ended_event_drops_what_was_queued_for_the_agency_about_the_child(
        container_factory, settings, client, receiver, sink):
    # a failed webhook waits ten minutes for its retry: it is still queued when consent ends
    container = container_factory(NotificationsService,
                                  settings(DELIVERY_RETRY_BASE_SECONDS=600))
    container.start()
    child, other_child = pid(), pid()
    teacher, adviser = pid(), pid()
    for person, address in ((teacher, "laerer@example.org"), (adviser, "ppt@example.org")):
        _set_preferences(client, person, email=address, digest={"daily": True, "hour": 7})
    school_hook = client.webhook(SCHOOL, receiver.url("/skole"))
    receiver.endpoint("/skole", statuses=[503], secret=school_hook["secret"])
    ppt_hook = client.webhook(PPT, receiver.url("/ppt"))
    receiver.endpoint("/ppt", statuses=[503], secret=ppt_hook["secret"])

    for_school = client.publish("logs", "log.measure_added",
                                measure_data(teacher, agency=SCHOOL), log_id=pid(),
                                child_id=child)
    for_ppt = client.publish("logs", "log.measure_added", measure_data(adviser, agency=PPT),
                             log_id=pid(), child_id=child)
    other = client.publish("logs", "log.measure_added", measure_data(teacher, agency=SCHOOL),
                           log_id=pid(), child_id=other_child)

    def waiting(event):
        found = by_channel(client.deliveries(event.event_id))
        webhooks = found.get("webhook", [])
        return found if webhooks and webhooks[0]["status"] == "failed-temporary" else None
    for event in (for_school, for_ppt, other):
        wait_for(lambda: waiting(event), timeout=15, message="a webhook waiting for its retry")
    assert len(client.inbox(teacher)) == 2

    def handled(worker_ctx, result, exc_info):
        return worker_ctx.args[0]["type"] == "consent.withdrawn"
    with entrypoint_waiter(container, "on_consent_event", callback=handled, timeout=15):
        client.publish("consent", "consent.withdrawn", {
            "consent_id": pid(), "status": "withdrawn", "method": "digital",
            "scope_agencies": [SCHOOL], "scope_agency_types": ["ppt"],
            "valid_from": "2026-01-01", "valid_until": "2026-12-31",
            "notify_person_ids": [pid()],
            "no_longer_covers": [SCHOOL]}, child_id=child)   # PPT: still covered by another

    dropped = by_channel(client.deliveries(for_school.event_id))
    assert [(d["status"], d["drop_reason"]) for d in dropped["webhook"] + dropped["email"]] == [
        ("dropped", "consent_ended"), ("dropped", "consent_ended")]
    for event in (for_ppt, other):  # another agency, another child: as they were
        kept = by_channel(client.deliveries(event.event_id))
        assert kept["webhook"][0]["status"] == "failed-temporary"
        assert kept["email"][0]["status"] == "queued"
    # the school's own view of its webhook says so
    with client.rpc(Actor(kind="system", agency=SCHOOL, scopes=("stafett:webhooks",))) as rpc:
        listed = rpc.notifications.webhook_deliveries(school_hook["id"])["items"]
    assert sorted((d["status"], d["drop_reason"]) for d in listed) == [
        ("dropped", "consent_ended"), ("failed-temporary", None)]
    # the teacher's inbox keeps only the other child's item
    assert [i["log_id"] for i in client.inbox(teacher)] == [other.log_id]
    # nothing is sent later: the retry time comes for all; the other child's goes again,
    # the dropped one does not
    [dropped_hook] = dropped["webhook"]
    [kept_hook] = by_channel(client.deliveries(other.event_id))["webhook"]
    with Session(client.engine) as session:
        session.execute(update(Delivery).where(Delivery.channel == "webhook").values(
            next_attempt_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        session.commit()

    def sent_to_school(delivery_id):
        return [c for c in receiver.at("/skole")
                if c.headers["Stafett-Delivery-Id"] == delivery_id]
    wait_for(lambda: len(sent_to_school(kept_hook["id"])) == 2, timeout=15,
             message="the other child's webhook tried again")
    assert len(sent_to_school(dropped_hook["id"])) == 1  # its one attempt before the drop
    assert by_channel(client.deliveries(for_school.event_id))["webhook"][0]["status"] == \
        "dropped"
