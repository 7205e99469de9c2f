"""The handover choreography over a real broker, with the real logs and consent services.

The logs service goes down between acceptance and application, the log is closed while a
handover is open (and between acceptance and application), consent arrives by event, a
request expires. The helpers here (an upper secondary school and its staff) are shared
with ``tests/e2e/test_handover.py``.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import create_engine, select, text, update

from services.consent.identity_numbers import generate_org_number
from services.handover.models import Handover
from stafett.dev.demo import AGENCIES, EMMA, MUNICIPALITY
from stafett.dev.issuer import dev_issuer_url, mint
from stafett.events import Outbox, utcnow
from tests.support.platform import ApiClient, Platform, wait_for

SCHOOL, PPT = AGENCIES["school"]["org_number"], AGENCIES["ppt"]["org_number"]
# a synthetic upper secondary school (type "school") in the demo municipality
UPPER = {"org_number": generate_org_number(random.Random("stafett-handover-upper")),
         "name": "Havvik videregående skole", "type": "school", "municipality": MUNICIPALITY}
UPPER_ORG = UPPER["org_number"]
UPPER_STAFF = {
    "upper-leader": {"sub": "staff-ragnhild", "name": "Ragnhild Strand",
                     "title": "Avdelingsleder"},
    "upper-teacher": {"sub": "staff-jon", "name": "Jon Eide", "title": "Kontaktlærer"},
}
TRANSITION = "lower_secondary_to_upper_secondary"


def seed_upper_secondary(platform) -> dict[str, str]:
    """Register the school and provision its staff; returns persona → person id."""
    with platform.rpc() as rpc:
        rpc.consent.register_agency(UPPER)
        return {name: rpc.consent.provision_staff({
            "issuer": dev_issuer_url("staff"), "subject": person["sub"], "name": person["name"],
            "agency": UPPER_ORG, "title": person["title"]})["id"]
            for name, person in UPPER_STAFF.items()}


def upper_client(platform, name: str) -> ApiClient:
    person = UPPER_STAFF[name]
    token = mint(platform.var_dir, {"sub": person["sub"], "name": person["name"],
                                    "agency": UPPER_ORG, "roles": ["staff"],
                                    "acr": "idporten-loa-high"},
                 issuer=dev_issuer_url("staff"))
    return ApiClient(platform.url(), token)


def scope(cover_upper: bool) -> dict:
    return {"agencies": [SCHOOL] + ([UPPER_ORG] if cover_upper else []),
            "agency_types": ["ppt"]}


def a_log_to_hand_over(platform, cover_upper: bool) -> SimpleNamespace:
    """Seeded platform, the upper secondary school, Emma's consent and her open log."""
    platform.seed()
    staff = seed_upper_secondary(platform)
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    consent = guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": scope(cover_upper), "purpose": "Samarbeid om skolehverdagen"})
    assert consent.status_code == 201, consent.text
    log = teacher.post("/api/v1/logs", json={"child_id": emma, "level": 2})
    assert log.status_code == 201, log.text
    return SimpleNamespace(emma=emma, consent=consent.json(), log=log.json(), staff=staff,
                           guardian=guardian, teacher=teacher,
                           leader=upper_client(platform, "upper-leader"),
                           upper_teacher=upper_client(platform, "upper-teacher"))


def request_handover(thread, **extra):
    response = thread.teacher.post("/api/v1/handovers", json={
        "log_id": thread.log["id"], "to_agency": UPPER_ORG, "transition": TRANSITION, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def row(platform, handover_id) -> Handover:
    engine = create_engine(platform.database_urls["handover"])
    try:
        with engine.connect() as connection:
            return connection.execute(select(Handover.__table__).where(
                Handover.__table__.c.id == handover_id)).one()
    finally:
        engine.dispose()


def count(url: str, query: str, **params) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(query), params).scalar()
    finally:
        engine.dispose()


def status_of(client, handover_id) -> str:
    return client.get(f"/api/v1/handovers/{handover_id}").json().get("status")


def close_log(client, log_id):
    current = client.get(f"/api/v1/logs/{log_id}")
    closed = client.post(f"/api/v1/logs/{log_id}/close", json={"reason": "Barnet har flyttet"},
                         headers={"If-Match": current.headers["ETag"]})
    assert closed.status_code == 200, closed.text


def relay(platform, component="handover") -> Outbox:
    return next(d for d in platform.containers[component].dependencies
                if isinstance(d, Outbox))


# -- the baton is never dropped ---------------------------------------------------------------

def test_logs_down_between_acceptance_and_application_completes_once_it_is_back(
        container_factory, amqp_uri, database_urls, tmp_path):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path, RPC_TIMEOUT=3,
                        HANDOVER_TIMER_SECONDS=1)
    platform.start()
    thread = a_log_to_hand_over(platform, cover_upper=True)
    handover = request_handover(thread)
    assert handover["status"] == "awaiting_acceptance"
    jon = thread.staff["upper-teacher"]

    platform.stop("logs")
    url = f"/api/v1/handovers/{handover['id']}"
    accepted = thread.leader.post(f"{url}/accept", json={"new_stafettholder_person_id": jon},
                                  headers=thread.leader.if_match(url))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    # the application was tried and failed: the sender still holds the baton
    wait_for(lambda: row(platform, handover["id"]).apply_attempts >= 1, timeout=30,
             message="a failed application attempt")
    assert row(platform, handover["id"]).status == "accepted"
    assert "ServiceUnavailable" in row(platform, handover["id"]).last_apply_error

    platform.start(["logs"])
    wait_for(lambda: status_of(thread.leader, handover["id"]) == "completed", timeout=40,
             message="the handover to complete after the logs service came back")

    # applied exactly once: one stafettholder, nobody twice, the sender read-only
    log = thread.upper_teacher.get(f"/api/v1/logs/{thread.log['id']}")
    assert log.status_code == 200, log.text
    assert log.json()["viewer_role"] == "stafettholder"
    participants = log.json()["participants"]
    assert [p["person_id"] for p in participants if p["role"] == "stafettholder"] == [jon]
    staff_ids = [p["person_id"] for p in participants if p["kind"] == "staff"]
    assert len(staff_ids) == len(set(staff_ids))
    sender = next(p for p in participants if p["agency"] == SCHOOL)
    assert sender["role"] == "former"
    assert sender["read_only_until"] == (date.today() + timedelta(days=30)).isoformat()
    as_sender = thread.teacher.get(f"/api/v1/logs/{thread.log['id']}")
    assert as_sender.status_code == 200 and as_sender.json()["viewer_role"] == "former"
    assert count(platform.database_urls["logs"],
                 "SELECT count(*) FROM applied_handovers WHERE handover_id = :id",
                 id=handover["id"]) == 1
    assert count(platform.database_urls["handover"],
                 "SELECT count(*) FROM outbox WHERE type = 'handover.completed'") == 1
    assert row(platform, handover["id"]).open_for_log is None
    platform.close()


def test_closing_the_log_cancels_the_open_handover(platform):
    thread = a_log_to_hand_over(platform, cover_upper=True)
    handover = request_handover(thread)
    with entrypoint_waiter(platform.containers["handover"], "on_log_closed", timeout=15):
        close_log(thread.teacher, thread.log["id"])
    cancelled = thread.teacher.get(f"/api/v1/handovers/{handover['id']}").json()
    assert (cancelled["status"], cancelled["reason_code"], cancelled["reason"]) == (
        "cancelled", "log_closed", "Loggen ble lukket")
    # the receiver no longer sees the summary
    as_receiver = thread.leader.get(f"/api/v1/handovers/{handover['id']}").json()
    assert as_receiver["status"] == "cancelled" and as_receiver["summary"] is None
    # and a closed log cannot be handed over
    again = thread.teacher.post("/api/v1/handovers", json={
        "log_id": thread.log["id"], "to_agency": UPPER_ORG, "transition": TRANSITION})
    assert again.status_code == 409, again.text
    assert again.headers["Content-Type"] == "application/problem+json"
    assert len(thread.teacher.get("/api/v1/handovers?direction=outgoing").json()["items"]) == 1


@pytest.fixture
def held_acceptance(container_factory, amqp_uri, database_urls, tmp_path):
    """A handover the receiver accepted while the handover service's relay was stopped:
    ``handover.accepted`` stays in the outbox, accepted but not applied (and the timer,
    hourly here, does not apply it either) until ``held.start()``. Yields the platform,
    the thread, the handover, the held relay and the handover's URL."""
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        HANDOVER_TIMER_SECONDS=3600)
    platform.start()
    thread = a_log_to_hand_over(platform, cover_upper=True)
    handover = request_handover(thread)
    held = relay(platform)
    held.stop()  # handover.accepted stays in the outbox
    url = f"/api/v1/handovers/{handover['id']}"
    accepted = thread.leader.post(f"{url}/accept", json={
        "new_stafettholder_person_id": thread.staff["upper-teacher"]},
        headers=thread.leader.if_match(url))
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    yield platform, thread, handover, held, url
    platform.close()


def test_a_log_closed_between_acceptance_and_application_cancels_the_handover(held_acceptance):
    platform, thread, handover, held, _ = held_acceptance
    with entrypoint_waiter(platform.containers["handover"], "on_log_closed", timeout=15):
        close_log(thread.teacher, thread.log["id"])
    assert row(platform, handover["id"]).status == "accepted"  # left to the application

    with entrypoint_waiter(platform.containers["handover"], "on_accepted", timeout=15):
        held.start()
    ended = thread.teacher.get(f"/api/v1/handovers/{handover['id']}").json()
    assert (ended["status"], ended["reason_code"]) == ("cancelled", "log_closed")
    # nothing moved: the receiver never entered the log
    assert thread.upper_teacher.get(f"/api/v1/logs/{thread.log['id']}").status_code == 404
    assert thread.teacher.get(f"/api/v1/logs/{thread.log['id']}").json()["viewer_role"] == \
        "stafettholder"


# -- consent and expiry -----------------------------------------------------------------------

def test_consent_granted_by_event_offers_the_handover_to_the_receiver(platform):
    thread = a_log_to_hand_over(platform, cover_upper=False)
    handover = request_handover(thread)
    assert handover["status"] == "consent_pending"
    assert thread.leader.get("/api/v1/handovers?direction=incoming").json()["items"] == []

    def covers_upper(worker_ctx, result, exc_info):
        return UPPER_ORG in worker_ctx.args[0]["data"]["scope_agencies"]

    with entrypoint_waiter(platform.containers["handover"], "on_consent_granted",
                           callback=covers_upper, timeout=15):
        granted = thread.guardian.post(f"/api/v1/children/{thread.emma}/consents", json={
            "scope": scope(True), "purpose": "Overgang til videregående",
            "supersedes": thread.consent["id"]})
        assert granted.status_code == 201, granted.text
    # by the event, not by a re-check on read: look in the handover service's own table
    offered = row(platform, handover["id"])
    assert offered.status == "awaiting_acceptance" and offered.offered_at is not None
    incoming = thread.leader.get("/api/v1/handovers?direction=incoming").json()["items"]
    assert [h["id"] for h in incoming] == [handover["id"]]
    assert count(platform.database_urls["handover"],
                 "SELECT count(*) FROM outbox WHERE type = 'handover.consent_granted'") == 1


def test_an_expired_request_frees_the_log(platform):
    thread = a_log_to_hand_over(platform, cover_upper=True)
    handover = request_handover(thread)
    engine = create_engine(platform.database_urls["handover"])
    with engine.begin() as connection:
        connection.execute(update(Handover.__table__).where(
            Handover.__table__.c.id == handover["id"]).values(
            expires_at=utcnow() - timedelta(minutes=1)))
    engine.dispose()
    with entrypoint_hook(platform.containers["handover"], "housekeeping") as housekeeping:
        assert housekeeping()["expired"] == 1
        assert housekeeping()["expired"] == 0
    assert status_of(thread.teacher, handover["id"]) == "expired"
    url = f"/api/v1/handovers/{handover['id']}"
    refused = thread.leader.post(f"{url}/accept", json={
        "new_stafettholder_person_id": thread.staff["upper-teacher"]},
        headers=thread.leader.if_match(url))
    assert refused.status_code == 409 and "expired" in refused.json()["detail"]
    assert request_handover(thread)["status"] == "awaiting_acceptance"
    assert count(platform.database_urls["handover"],
                 "SELECT count(*) FROM outbox WHERE type = 'handover.cancelled'") == 1


# -- consent binds the handover ------------------------------------------------------------------

def set_digest(client, email):
    """The person's e-mail waits for a daily digest: it stays queued while the test runs."""
    current = client.get("/api/v1/me/preferences")
    updated = client.session.put(client.base_url + "/api/v1/me/preferences", json={
        "email": email, "digest": {"daily": True, "hour": 7}},
        headers={"If-Match": current.headers["ETag"]}, timeout=30)
    assert updated.status_code == 200, updated.text


def consent_event(event_type):
    def matches(worker_ctx, result, exc_info):
        return worker_ctx.args[0]["type"] == event_type
    return matches


def test_a_withdrawal_takes_the_offer_back_and_drops_what_was_queued_for_the_receiver(platform):
    thread = a_log_to_hand_over(platform, cover_upper=True)
    leader = thread.staff["upper-leader"]
    set_digest(thread.leader, "ragnhild@havvik-vgs.example")
    handover = request_handover(thread, to_person_id=leader)
    url = f"/api/v1/handovers/{handover['id']}"
    assert handover["status"] == "awaiting_acceptance"
    offered = thread.leader.get(url)
    assert offered.status_code == 200 and offered.json()["summary"] is not None
    wait_for(lambda: thread.leader.get("/api/v1/notifications").json()["items"], timeout=15,
             message="the receiver's inbox item about the handover")

    # the withdrawal event reaches the handover and the notifications services
    with entrypoint_waiter(platform.containers["handover"], "on_consent_withdrawn",
                           timeout=20), \
            entrypoint_waiter(platform.containers["notifications"], "on_consent_event",
                              callback=consent_event("consent.withdrawn"), timeout=20):
        withdrawn = thread.guardian.post(f"/api/v1/consents/{thread.consent['id']}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text

    # by the event: back to waiting for consent, in the handover service's own table
    back = row(platform, handover["id"])
    assert (back.status, back.offered_at, back.open_for_log) == (
        "consent_pending", None, thread.log["id"])
    assert count(platform.database_urls["handover"],
                 "SELECT count(*) FROM outbox WHERE type = 'handover.consent_ended'") == 1
    # the receiver: exactly as for a handover that never was; those who consent still see it
    gone = thread.leader.get(url)
    nowhere = thread.leader.get("/api/v1/handovers/00000000-0000-4000-8000-000000000000")
    assert (gone.status_code, gone.content) == (404, nowhere.content.replace(
        b"00000000-0000-4000-8000-000000000000", handover["id"].encode()))
    assert thread.leader.get("/api/v1/handovers").json()["items"] == []
    assert thread.guardian.get(url).json()["status"] == "consent_pending"
    # the e-mail waiting for the receiver's digest is dropped, the inbox item withdrawn
    with platform.rpc() as rpc:
        dropped = rpc.notifications.list_deliveries(status="dropped")
    assert [(d["channel"], d["person_id"], d["drop_reason"]) for d in dropped] == [
        ("email", leader, "consent_ended")]
    assert thread.leader.get("/api/v1/notifications").json()["items"] == []
    # and the guardians are told it waits for their consent again
    wait_for(lambda: any(i["kind"] == "handover_consent_needed" and handover["id"] in i["link"]
                         for i in thread.guardian.get("/api/v1/notifications").json()["items"]),
             timeout=15, message="the guardian told the handover waits for consent again")


def test_consent_narrowed_after_acceptance_cancels_the_handover_and_nothing_moves(
        held_acceptance):
    platform, thread, handover, held, url = held_acceptance

    # a superseding consent that no longer covers the upper secondary school
    with entrypoint_waiter(platform.containers["handover"], "on_consent_superseded",
                           timeout=20):
        narrowed = thread.guardian.post(f"/api/v1/children/{thread.emma}/consents", json={
            "scope": scope(False), "purpose": "Bare skolen og PPT",
            "supersedes": thread.consent["id"]})
        assert narrowed.status_code == 201, narrowed.text
    ended = row(platform, handover["id"])
    assert (ended.status, ended.reason_code, ended.open_for_log) == (
        "cancelled", "consent_withdrawn", None)
    # the logs service refused it: nothing moved, the sender keeps the baton
    assert count(platform.database_urls["logs"],
                 "SELECT count(*) FROM applied_handovers WHERE handover_id = :id",
                 id=handover["id"]) == 0
    assert thread.upper_teacher.get(f"/api/v1/logs/{thread.log['id']}").status_code == 404
    assert thread.teacher.get(f"/api/v1/logs/{thread.log['id']}").json()["viewer_role"] == \
        "stafettholder"
    # the requester (still covered) sees why; the receiver sees nothing
    seen = thread.teacher.get(url).json()
    assert (seen["status"], seen["reason_code"]) == ("cancelled", "consent_withdrawn")
    assert thread.leader.get(url).status_code == 404
    # the held acceptance arrives late and changes nothing
    with entrypoint_waiter(platform.containers["handover"], "on_accepted", timeout=15):
        held.start()
    assert row(platform, handover["id"]).status == "cancelled"
    assert count(platform.database_urls["handover"],
                 "SELECT count(*) FROM outbox WHERE type = 'handover.cancelled'") == 1
