"""Service methods under nameko's worker_factory: a real SQLite session, no broker.

Preferences decide the channels; webhooks belong to one agency; the inbox pages.
"""
from __future__ import annotations

from unittest.mock import Mock

from datetime import datetime, timezone

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.notifications.models import Delivery, Notification, PreferenceRow
from services.notifications.protection import SecretBox
from services.notifications.service import NotificationsService
from stafett.actor import SERVICE, Actor
from stafett.errors import (BadRequest, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ValidationFailed)
from stafett.events import Envelope
from tests.support.notifications import FAKE_DNS, FAKE_DNS_PATH

PPT = "974760673"
CONFIG = {"WEBHOOK_ALLOW_HTTP": "false", "WEBHOOKS_PER_AGENCY": 2, "TIME_ZONE": "Europe/Oslo",
          "REMINDER_DAYS_AHEAD": 3, "WEBHOOK_RESOLVER": FAKE_DNS_PATH}
ADMIN = Actor(kind="staff", person_id="p-admin", agency=PPT, roles=("staff", "agency_admin"))


@pytest.fixture(autouse=True)
def dns():
    """The agencies' webhook hosts resolve to public addresses (no real DNS in unit tests)."""
    with FAKE_DNS.answering({"ppt.example": ["93.184.215.14"],
                             "nav.example": ["2606:4700::6810:85e5"]}) as dns:
        yield dns


class service:
    """``service(engine, actor).method(...)``: one worker per call, its session closed
    afterwards as nameko's worker teardown does (SQLite has one connection per process)."""

    def __init__(self, engine, actor=None, logs_tell=None):
        self.engine, self.actor = engine, actor
        # the logs service's answer for the inbox texts (nothing: they name nothing)
        self.logs = Mock(**{"notice_details.return_value": logs_tell or {}})

    def __getattr__(self, name):
        def call(*args, **kwargs):
            session = Session(self.engine, expire_on_commit=False)
            worker = worker_factory(NotificationsService, db=session, actor=self.actor,
                                    config=CONFIG, secrets=SecretBox(b"k" * 32),
                                    logs=self.logs)
            try:
                return getattr(worker, name)(*args, **kwargs)
            finally:
                session.close()
        return call


def measure_added(responsible="p-r", agency=PPT) -> Envelope:
    return Envelope(type="log.measure_added", source="logs", log_id="log-1", child_id="c-1",
                    actor_ref="person:p-other",
                    data={"measure_id": "m-1", "responsible_person_id": responsible,
                          "responsible_agency": agency, "evaluate_by": "2026-12-14"})


def deliveries(engine) -> set:
    with Session(engine) as session:
        return {(d.channel, d.recipient, d.status, d.digest)
                for d in session.scalars(select(Delivery))}


def set_preferences(engine, person, **values):
    with Session(engine) as session:
        session.add(PreferenceRow(person_id=person, version=1,
                                  updated_at=datetime.now(timezone.utc), **values))
        session.commit()


# -- preferences decide the channels -----------------------------------------------------------

def test_without_preferences_only_the_inbox(engine):
    service(engine)._deliver(measure_added(), "on_measure_added")
    assert deliveries(engine) == {("inbox", "p-r", "delivered", False)}


def test_an_email_address_adds_an_email_delivery(engine):
    set_preferences(engine, "p-r", email="r@havvik.example")
    service(engine)._deliver(measure_added(), "on_measure_added")
    assert deliveries(engine) == {("inbox", "p-r", "delivered", False),
                                  ("email", "p-r", "queued", False)}


def test_channels_switched_off_are_not_used(engine):
    set_preferences(engine, "p-r", email="r@havvik.example", inbox_enabled=False,
                    email_enabled=False)
    service(engine)._deliver(measure_added(), "on_measure_added")
    assert deliveries(engine) == set()
    with Session(engine) as session:
        assert session.scalars(select(Notification)).all() == []


def test_a_daily_digest_holds_the_email(engine):
    set_preferences(engine, "p-r", email="r@havvik.example", digest_daily=True, digest_hour=7)
    service(engine)._deliver(measure_added(), "on_measure_added")
    assert ("email", "p-r", "queued", True) in deliveries(engine)


def test_a_webhook_of_the_agency_gets_a_delivery_and_others_do_not(engine):
    hook = service(engine, Actor(kind="system", agency=PPT, scopes=("stafett:webhooks",))) \
        .create_webhook({"url": "https://ppt.example/hooks"})
    service(engine, Actor(kind="system", agency="889640782", scopes=("stafett:webhooks",))) \
        .create_webhook({"url": "https://nav.example/hooks"})
    service(engine)._deliver(measure_added(), "on_measure_added")
    assert ("webhook", hook["id"], "queued", False) in deliveries(engine)
    assert len(deliveries(engine)) == 2


# -- preferences: stale writes ----------------------------------------------------------------------

def test_preferences_need_if_match_and_refuse_a_stale_one(engine):
    person = Actor(kind="citizen", person_id="p-g")
    assert service(engine, person).get_preferences()["version"] == 0
    with pytest.raises(PreconditionRequired):
        service(engine, person).update_preferences({"email": "g@example.org"}, None)
    with pytest.raises(PreconditionFailed):
        service(engine, person).update_preferences({"email": "g@example.org"}, '"3"')
    saved = service(engine, person).update_preferences({"email": "g@example.org"}, '"0"')
    assert (saved["version"], saved["email"]) == (1, "g@example.org")
    again = service(engine, person).update_preferences({"email": "h@example.org"}, 'W/"1"')
    assert again["version"] == 2
    with pytest.raises(PreconditionFailed):
        service(engine, person).update_preferences({}, '"1"')
    assert service(engine, person).update_preferences({}, "*")["email"] is None  # PUT: all


@pytest.mark.parametrize("payload, field", [
    ({"email": "not-an-address"}, "email"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"quiet_hours": {"start": "21:00"}}, "quiet_hours"),
    ({"digest": {"daily": True, "hour": 24}}, "digest"),
    ({"colour": "blue"}, "colour")])
def test_invalid_preferences_are_refused_field_by_field(engine, payload, field):
    with pytest.raises(ValidationFailed) as caught:
        service(engine, Actor(kind="citizen", person_id="p-g")).update_preferences(payload,
                                                                                   '"0"')
    assert field in caught.value.errors


def test_only_a_person_has_preferences(engine):
    with pytest.raises(NotFound):
        service(engine, Actor(kind="system", agency=PPT)).get_preferences()


# -- webhooks ---------------------------------------------------------------------------------------

def test_webhooks_need_https_unless_allowed(engine):
    with pytest.raises(ValidationFailed) as caught:
        service(engine, ADMIN).create_webhook({"url": "http://ppt.example/hooks"})
    assert caught.value.errors == {"url": ["use https"]}


@pytest.mark.parametrize("url, detail", [
    ("https://127.0.0.1:8443/hooks", "127.0.0.1 is refused (loopback address)"),
    ("https://10.0.0.5/", "10.0.0.5 is refused (private address)"),
    ("https://[::1]/", "::1 is refused (loopback address)"),
    ("https://169.254.169.254/latest/meta-data/",
     "169.254.169.254 is refused (cloud metadata address)"),
    ("https://metadata.google.internal/", "metadata.google.internal is refused "
                                          "(cloud metadata)")])
def test_webhooks_to_inward_addresses_are_refused_naming_the_url(engine, url, detail):
    with pytest.raises(ValidationFailed) as caught:
        service(engine, ADMIN).create_webhook({"url": url})
    assert caught.value.errors == {
        "url": [f"{detail}; webhooks go to public internet addresses only"]}
    assert service(engine, ADMIN).list_webhooks() == []


def test_a_name_resolving_inward_at_registration_is_refused(engine, dns):
    dns.answers["intern.ppt.example"] = ["93.184.215.14", "192.168.10.20"]
    with pytest.raises(ValidationFailed) as caught:
        service(engine, ADMIN).create_webhook({"url": "https://intern.ppt.example/hooks"})
    [detail] = caught.value.errors["url"]
    assert detail.startswith("the host must resolve to public internet addresses only")
    assert "192.168" not in detail
    assert dns.questions == ["intern.ppt.example"]


@pytest.mark.parametrize("stored, shown", [
    ("HTTP 503", "http_503"), ("HTTP ConnectionError", "refused"), ("HTTP SSLError", "tls"),
    ("HTTP ReadTimeout", "timeout"), ("HTTP ConnectTimeout", "timeout"),
    ("timeout after 10 s", "timeout"), ("error KeyError", "internal_error"),
    ("refused", "refused"), ("http_410", "http_410"), ("webhook deleted", "webhook deleted"),
    (None, None)])
def test_an_agency_sees_categories_also_for_rows_written_before_them(engine, stored, shown):
    """Rows written before the categories would still tell a TLS error from a connection
    error (the port scanner of issue 12): the agency's view shows what they meant."""
    hook = service(engine, ADMIN).create_webhook({"url": "https://ppt.example/hooks"})
    service(engine)._deliver(measure_added(), "on_measure_added")
    with Session(engine) as session:
        session.execute(update(Delivery).where(Delivery.channel == "webhook")
                        .values(last_error=stored, status="failed-permanent"))
        session.commit()
    [item] = service(engine, ADMIN).webhook_deliveries(hook["id"])["items"]
    assert (item["status"], item["last_error"]) == ("failed-permanent", shown)


def test_the_secret_is_shown_once_and_stored_encrypted(engine):
    hook = service(engine, ADMIN).create_webhook({"url": "https://ppt.example/hooks"})
    assert hook["secret"].startswith("whsec_") and hook["agency"] == PPT
    assert "secret" not in service(engine, ADMIN).list_webhooks()[0]
    with Session(engine) as session:
        stored = session.execute(select(Delivery.__table__.metadata.tables["webhooks"]
                                        .c.secret_ciphertext)).scalar_one()
    assert hook["secret"] not in stored
    assert SecretBox(b"k" * 32).open(stored, hook["id"]) == hook["secret"]


def test_an_agency_has_a_bounded_number_of_webhooks(engine):
    for n in range(2):
        service(engine, ADMIN).create_webhook({"url": f"https://ppt.example/{n}"})
    from stafett.errors import Conflict
    with pytest.raises(Conflict):
        service(engine, ADMIN).create_webhook({"url": "https://ppt.example/3"})


@pytest.mark.parametrize("actor", [
    None, Actor(kind="staff", person_id="p", agency=PPT, roles=("staff",)),
    Actor(kind="system", agency=PPT, scopes=("stafett:logs.read",)),
    Actor(kind="citizen", person_id="p-g")])
def test_only_agency_admins_and_scoped_systems_manage_webhooks(engine, actor):
    with pytest.raises(Forbidden):
        service(engine, actor).create_webhook({"url": "https://ppt.example/hooks"})


def test_operations_rpcs_are_for_the_platform_only(engine):
    with pytest.raises(Forbidden):
        service(engine, ADMIN).list_deliveries()
    with pytest.raises(Forbidden):
        service(engine, ADMIN).run_reminders()
    assert service(engine, Actor(kind=SERVICE)).list_deliveries() == []


# -- the inbox pages ----------------------------------------------------------------------------------

def test_the_inbox_pages_with_an_opaque_cursor_and_counts_unread(engine):
    for n in range(5):
        event = measure_added()
        service(engine)._deliver(event, "on_measure_added")
    me = Actor(kind="staff", person_id="p-r")
    first = service(engine, me).inbox_page(limit=2)
    assert len(first["items"]) == 2 and first["unread"] == 5 and first["next_cursor"]
    second = service(engine, me).inbox_page(limit=2, cursor=first["next_cursor"])
    third = service(engine, me).inbox_page(limit=2, cursor=second["next_cursor"])
    ids = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    service(engine, me).mark_read(ids[0])
    assert service(engine, me).inbox_page(unread_only=True)["unread"] == 4
    assert ids[0] not in [i["id"] for i in service(engine, me).inbox_page(
        unread_only=True)["items"]]
    with pytest.raises(BadRequest):
        service(engine, me).inbox_page(cursor="not-a-cursor")
    with pytest.raises(NotFound):
        service(engine, Actor(kind="staff", person_id="p-x")).mark_read(ids[0])



def test_an_item_opened_by_its_id_or_its_events_is_read_and_names_what_logs_tells(engine):
    first, second = measure_added(), measure_added()
    for event in (first, second):
        service(engine)._deliver(event, "on_measure_added")
    me = Actor(kind="staff", person_id="p-r")
    told = {"log-1": {"child": "Emma", "measures": {
        "m-1": {"title": "Fast plass", "evaluate_by": "2026-12-14"}}}}
    page = service(engine, me, logs_tell=told).inbox_page()
    assert {i["title"] for i in page["items"]} == {"Nytt tiltak for Emma: «Fast plass»"}
    assert {i["link"] for i in page["items"]} == {"/logger/log-1#tiltak-m-1"}
    untold = service(engine, me).inbox_page()["items"]
    assert {i["title"] for i in untold} == {"Nytt tiltak der du er ansvarlig"}
    # from the inbox (its id) and from an e-mail (its event's id)
    assert service(engine, me).open_notification(page["items"][0]["id"])["read"] is True
    assert service(engine, me).open_notification(first.event_id)["read"] is True
    assert service(engine, me).inbox_page()["unread"] == 0
    with pytest.raises(NotFound):
        service(engine, Actor(kind="staff", person_id="p-x")).open_notification(
            first.event_id)
