"""Consent binds notifications: when consent for an agency ends, what was queued for it
about the child is dropped and its staff's inbox items about the child are withdrawn; the
requester and those who consent hear that a handover lost its consent, the receiver not.

Rules on plain objects, then the service under nameko's worker_factory with a real SQLite
session (no broker: tests/integration/test_notifications.py has the event path)."""
from __future__ import annotations

from unittest.mock import Mock

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory
from prometheus_client import REGISTRY
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.notifications import domain
from services.notifications.channels import Outcome
from services.notifications.delivery import Courier, Due, Settings
from services.notifications.models import Delivery, Notification, PreferenceRow
from services.notifications.protection import SecretBox
from services.notifications.service import NotificationsService
from stafett.actor import Actor
from stafett.errors import NotFound
from stafett.events import Envelope
from tests.support.notifications import FAKE_DNS, FAKE_DNS_PATH

SCHOOL, PPT, NURSE = "974760673", "974760681", "974760703"
CHILD, OTHER_CHILD = "c-1", "c-2"
TEACHER, PPT_ADVISER, GUARDIAN = "p-teacher", "p-ppt", "p-guardian"

#: the logs service answers nothing for the inbox texts (they name nothing then)
LOGS_TELLS_NOTHING = Mock(**{"notice_details.return_value": {}})


# -- the rules --------------------------------------------------------------------------------

def ended(type_="consent.withdrawn", child_id=CHILD, **data) -> Envelope:
    return Envelope(type=type_, source="consent", child_id=child_id, actor_ref="person:g",
                    data={"consent_id": "k-1", "status": type_.split(".")[1], **data})


@pytest.mark.parametrize("type_", ["consent.withdrawn", "consent.expired", "consent.superseded"])
def test_an_ending_consent_drops_for_the_agencies_it_no_longer_covers(type_):
    drop = domain.drop_for(ended(type_, no_longer_covers=[SCHOOL, PPT]))
    assert drop == domain.Drop(CHILD, tuple(sorted([SCHOOL, PPT])), "consent_ended")


@pytest.mark.parametrize("event", [
    ended(no_longer_covers=[]),                 # narrowed, but everyone still covered
    ended(),                                    # an old event without the field
    ended("consent.granted", no_longer_covers=[SCHOOL]),
    ended("consent.expiring", no_longer_covers=[SCHOOL]),
    ended(child_id=None, no_longer_covers=[SCHOOL]),
], ids=["still-covered", "no-field", "granted", "expiring", "no-child"])
def test_nothing_else_drops_anything(event):
    assert domain.drop_for(event) is None


def handover_event(type_, **data) -> Envelope:
    base = {"handover_id": "h-1", "transition": "other", "from_agency": PPT,
            "to_agency": SCHOOL, "to_person_id": TEACHER, "requested_by_person_id": PPT_ADVISER,
            "consent_person_ids": [GUARDIAN], "requester_covered": True,
            "previous_status": "awaiting_acceptance"}
    return Envelope(type=type_, source="handover", log_id="log-1", child_id=CHILD,
                    actor_ref="handover", data={**base, **data})


def who(notices) -> dict:
    return {n.kind: (set(n.person_ids), set(n.agencies)) for n in notices}


def test_a_handover_waiting_for_consent_again_is_told_to_requester_and_guardians():
    notices = domain.notices_for(handover_event("handover.consent_ended"))
    assert who(notices) == {"handover_consent_needed": ({GUARDIAN}, set()),
                            "handover_consent_ended": ({PPT_ADVISER}, {PPT})}
    # never to the receiver, whose agency consent no longer covers
    assert all(TEACHER not in n.person_ids and SCHOOL not in n.agencies for n in notices)
    assert domain.link_path("handover_consent_ended", notices[1].context) == "/overganger/h-1"


def test_the_requester_is_not_told_when_consent_no_longer_covers_them_either():
    notices = domain.notices_for(handover_event("handover.consent_ended",
                                                requester_covered=False))
    assert who(notices) == {"handover_consent_needed": ({GUARDIAN}, set())}


def test_a_handover_cancelled_because_consent_ended_is_told_the_same_way():
    notices = domain.notices_for(handover_event("handover.cancelled",
                                                reason="consent_withdrawn",
                                                previous_status="accepted"))
    assert [(n.kind, set(n.person_ids), set(n.agencies)) for n in notices] == [
        ("handover_cancelled", {GUARDIAN}, set()),
        ("handover_cancelled", {PPT_ADVISER}, {PPT})]


@pytest.mark.parametrize("reason", ["requester_cancelled", "log_closed", "expired",
                                    "application_refused"])
def test_other_cancellations_are_not_told_here(reason):
    assert domain.notices_for(handover_event("handover.cancelled", reason=reason)) == []


def test_a_notice_knows_the_agency_of_the_staff_it_names():
    notices = domain.notices_for(handover_event("handover.consent_granted"))
    assert notices[0].person_agencies == {TEACHER: SCHOOL}
    # only of those it names, and only what is known
    made = domain.notice("log_closed", ["a", "b"], [], {}, person_agencies={
        "a": SCHOOL, "b": None, "c": PPT})
    assert made.person_agencies == {"a": SCHOOL}


# -- the service: what a delivery knows, and what is dropped -----------------------------------

@pytest.fixture(autouse=True)
def dns():
    """The agencies' webhook hosts resolve to public addresses (no real DNS in unit tests)."""
    with FAKE_DNS.answering({f"{agency}.example": ["93.184.215.14"]
                             for agency in (SCHOOL, PPT, NURSE)}) as dns:
        yield dns


def call(engine, name, *args, actor=None):
    session = Session(engine, expire_on_commit=False)
    worker = worker_factory(NotificationsService, db=session, actor=actor,
                            config={"WEBHOOK_ALLOW_HTTP": "false", "TIME_ZONE": "Europe/Oslo",
                                    "WEBHOOK_RESOLVER": FAKE_DNS_PATH},
                            secrets=SecretBox(b"k" * 32), logs=LOGS_TELLS_NOTHING)
    try:
        return getattr(worker, name)(*args)
    finally:
        session.close()


def deliver(engine, event):
    call(engine, "_deliver", event, f"on_{event.source}_event")


def measure_added(child_id=CHILD, person=TEACHER, agency=SCHOOL, log_id="log-1") -> Envelope:
    return Envelope(type="log.measure_added", source="logs", log_id=log_id, child_id=child_id,
                    actor_ref="person:p-other",
                    data={"measure_id": "m-1", "responsible_person_id": person,
                          "responsible_agency": agency, "evaluate_by": "2026-12-14"})


def rows(engine, model):
    with Session(engine) as session:
        return list(session.scalars(select(model)))


def hook(engine, agency):
    system = Actor(kind="system", agency=agency, scopes=("stafett:webhooks",))
    return call(engine, "create_webhook", {"url": f"https://{agency}.example/hooks"},
                actor=system)["id"]


def with_email(engine, *people):
    with Session(engine) as session:
        for person in people:
            session.add(PreferenceRow(person_id=person, email=f"{person}@havvik.example",
                                      version=1, updated_at=datetime.now(timezone.utc)))
        session.commit()


def test_every_delivery_and_inbox_item_knows_its_child_and_the_recipients_agency(engine):
    with_email(engine, TEACHER)
    school_hook = hook(engine, SCHOOL)
    deliver(engine, measure_added())
    found = {(d.channel, d.recipient): (d.child_id, d.agency) for d in rows(engine, Delivery)}
    assert found == {("inbox", TEACHER): (CHILD, SCHOOL), ("email", TEACHER): (CHILD, SCHOOL),
                     ("webhook", school_hook): (CHILD, SCHOOL)}
    [item] = rows(engine, Notification)
    assert (item.child_id, item.agency) == (CHILD, SCHOOL)


def test_a_citizen_has_no_agency_and_a_participant_is_found_in_the_projection(engine):
    deliver(engine, Envelope(type="log.participant_added", source="logs", log_id="log-1",
                             child_id=CHILD, data={"person_id": PPT_ADVISER, "agency": PPT,
                                                   "kind": "staff"}))
    deliver(engine, Envelope(type="log.meeting_scheduled", source="logs", log_id="log-1",
                             child_id=CHILD, actor_ref="person:p-other",
                             data={"meeting_id": "mt-1", "starts_at": "2026-12-01T09:00:00+01:00",
                                   "invited_person_ids": [PPT_ADVISER, GUARDIAN]}))
    agencies = {n.person_id: n.agency for n in rows(engine, Notification)}
    assert agencies == {PPT_ADVISER: PPT, GUARDIAN: None}


def test_consent_ended_drops_the_agencys_queued_deliveries_and_inbox_items_about_the_child(
        engine):
    with_email(engine, TEACHER, PPT_ADVISER)
    school_hook, ppt_hook = hook(engine, SCHOOL), hook(engine, PPT)
    deliver(engine, measure_added())                                   # the school, child 1
    deliver(engine, measure_added(person=PPT_ADVISER, agency=PPT))     # PPT, child 1
    deliver(engine, measure_added(child_id=OTHER_CHILD, log_id="log-2"))  # school, child 2
    teacher = Actor(kind="staff", person_id=TEACHER, agency=SCHOOL)
    before = call(engine, "inbox_page", 50, None, False, actor=teacher)
    assert before["unread"] == 2
    counted = {channel: dropped_count(channel) for channel in ("email", "webhook", "inbox")}

    deliver(engine, ended(no_longer_covers=[SCHOOL]))
    assert {channel: dropped_count(channel) - n for channel, n in counted.items()} == {
        "email": 1, "webhook": 1, "inbox": 1}

    state = {(d.channel, d.recipient, d.child_id): (d.status, d.drop_reason)
             for d in rows(engine, Delivery)}
    assert state[("email", TEACHER, CHILD)] == ("dropped", "consent_ended")
    assert state[("webhook", school_hook, CHILD)] == ("dropped", "consent_ended")
    # the inbox delivery happened; its item is withdrawn instead (below)
    assert state[("inbox", TEACHER, CHILD)] == ("delivered", None)
    # another agency, another child: untouched
    assert state[("email", PPT_ADVISER, CHILD)] == ("queued", None)
    assert state[("webhook", ppt_hook, CHILD)] == ("queued", None)
    assert state[("email", TEACHER, OTHER_CHILD)] == ("queued", None)
    assert state[("webhook", school_hook, OTHER_CHILD)] == ("queued", None)

    after = call(engine, "inbox_page", 50, None, False, actor=teacher)
    assert [i["log_id"] for i in after["items"]] == ["log-2"] and after["unread"] == 1
    withdrawn = next(n for n in rows(engine, Notification) if n.child_id == CHILD
                     and n.person_id == TEACHER)
    assert withdrawn.drop_reason == "consent_ended"
    with pytest.raises(NotFound):
        call(engine, "mark_read", withdrawn.id, actor=teacher)
    # operations see the dropped ones, with the reason
    ops = call(engine, "list_deliveries", "dropped", actor=Actor(kind="service"))
    assert {(d["channel"], d["drop_reason"]) for d in ops} == {("email", "consent_ended"),
                                                               ("webhook", "consent_ended")}
    # the agency sees it in its webhook's delivery list
    admin = Actor(kind="system", agency=SCHOOL, scopes=("stafett:webhooks",))
    listed = call(engine, "webhook_deliveries", school_hook, actor=admin)["items"]
    assert sorted((d["status"], d["drop_reason"]) for d in listed) == [
        ("dropped", "consent_ended"), ("queued", None)]


def dropped_count(channel: str) -> float:
    return REGISTRY.get_sample_value("stafett_notifications_dropped_total", {
        "service": "notifications", "channel": channel, "reason": "consent_ended"}) or 0.0


def test_what_was_sent_already_is_not_touched(engine):
    school_hook = hook(engine, SCHOOL)
    deliver(engine, measure_added())
    with Session(engine) as session, session.begin():
        session.execute(update(Delivery).where(Delivery.channel == "webhook").values(
            status="delivered"))
    deliver(engine, ended(no_longer_covers=[SCHOOL]))
    assert {d.status for d in rows(engine, Delivery) if d.recipient == school_hook} == {
        "delivered"}


def courier(engine) -> Courier:
    courier = Courier()
    courier.database = SimpleNamespace(engine=engine)
    courier.settings = Settings()
    courier.container = SimpleNamespace(service_name="notifications")
    return courier


def test_a_send_under_way_when_consent_ended_is_dropped_instead_of_retried(engine):
    hook(engine, SCHOOL)
    deliver(engine, measure_added())
    now = datetime.now(timezone.utc)
    with Session(engine) as session, session.begin():
        session.execute(update(Delivery).where(Delivery.channel == "webhook").values(
            status="sent", claim="claim-1", attempts=1, claimed_until=now + timedelta(minutes=2)))
    deliver(engine, ended(no_longer_covers=[SCHOOL]))
    [row] = [d for d in rows(engine, Delivery) if d.channel == "webhook"]
    assert (row.status, row.drop_reason) == ("sent", "consent_ended")  # its attempt goes on
    due = Due(row.id, "claim-1", row.event_id, row.event_type, row.kind, row.channel, {}, "",
              None, row.webhook_id, row.agency)
    courier(engine).record([due], Outcome(domain.FAILED_TEMPORARY, "HTTP 503"))
    [row] = [d for d in rows(engine, Delivery) if d.channel == "webhook"]
    assert (row.status, row.next_attempt_at) == ("dropped", None)


def test_a_send_under_way_that_succeeded_stays_delivered(engine):
    hook(engine, SCHOOL)
    deliver(engine, measure_added())
    with Session(engine) as session, session.begin():
        session.execute(update(Delivery).where(Delivery.channel == "webhook").values(
            status="sent", claim="claim-1", attempts=1))
    deliver(engine, ended(no_longer_covers=[SCHOOL]))
    [row] = [d for d in rows(engine, Delivery) if d.channel == "webhook"]
    due = Due(row.id, "claim-1", row.event_id, row.event_type, row.kind, row.channel, {}, "",
              None, row.webhook_id, row.agency)
    courier(engine).record([due], Outcome(domain.DELIVERED))
    [row] = [d for d in rows(engine, Delivery) if d.channel == "webhook"]
    assert row.status == "delivered"  # it did reach them: the record says so
