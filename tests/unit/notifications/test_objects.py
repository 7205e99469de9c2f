"""The notifications service's objects with behaviour, on plain objects (the mapped rows
built with their constructors, never in a session): inbox items, deliveries, a person's
preferences and their ETag, agency webhooks."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.notifications import domain
from services.notifications.models import Delivery, Notification, PreferenceRow, Webhook
from stafett import etags
from stafett.actor import CITIZEN, SERVICE, STAFF, SYSTEM, Actor
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ValidationFailed)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
GUARDIAN = Actor(kind=CITIZEN, person_id="p-g")
ADMIN = Actor(kind=STAFF, person_id="s-1", agency="974760673", agency_type="school",
              roles=("agency_admin",))
SYSTEM_HOOKS = Actor(kind=SYSTEM, agency="974760673", scopes=(domain.WEBHOOK_SCOPE,))


# -- the inbox ------------------------------------------------------------------------------

def test_an_inbox_item_is_shown_to_its_recipient_only_until_withdrawn():
    item = Notification(person_id="p-g", dropped_at=None)
    assert domain.require_shown(item, GUARDIAN) is item
    for actor in (None, Actor(kind=CITIZEN, person_id="p-other")):
        with pytest.raises(NotFound) as caught:
            domain.require_shown(item, actor)
        assert caught.value.code == "notification.not_found"
    with pytest.raises(NotFound):
        domain.require_shown(Notification(person_id="p-g", dropped_at=NOW), GUARDIAN)
    with pytest.raises(NotFound):
        domain.require_shown(None, GUARDIAN)


def test_read_keeps_the_first_reading_and_unread_forgets_it():
    item = Notification(person_id="p-g", read_at=None)
    item.mark(True, NOW)
    item.mark(True, NOW + timedelta(hours=1))
    assert item.read_at == NOW
    item.mark(False, NOW + timedelta(hours=2))
    assert item.read_at is None


# -- deliveries -------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [domain.FAILED_PERMANENT, domain.CANCELLED])
def test_a_dead_or_cancelled_delivery_is_requeued_with_fresh_attempts(status):
    row = Delivery(status=status, attempts=8, next_attempt_at=None, last_error="smtp 550",
                   updated_at=NOW - timedelta(days=1))
    row.requeue(NOW)
    assert (row.status, row.attempts, row.next_attempt_at, row.last_error, row.updated_at) \
        == (domain.QUEUED, 0, NOW, None, NOW)


@pytest.mark.parametrize("status", [domain.QUEUED, domain.SENT, domain.DELIVERED,
                                    domain.FAILED_TEMPORARY, domain.DROPPED])
def test_a_delivery_that_is_alive_or_dropped_is_not_requeued(status):
    row = Delivery(status=status, attempts=2)
    with pytest.raises(Conflict) as caught:
        row.requeue(NOW)
    assert caught.value.code == "delivery.not_requeueable" and status in caught.value.detail
    assert (row.status, row.attempts) == (status, 2)


# -- preferences and their ETag ------------------------------------------------------------------

CHOICES = {"email": "g@example.org", "channels": {"inbox": True, "email": False},
           "digest": {"daily": True, "hour": 6}, "quiet_hours": {"start": "22:00",
                                                                 "end": "07:00"},
           "time_zone": "Europe/Oslo"}


def test_a_put_replaces_every_choice_and_moves_the_version():
    row = PreferenceRow.first("p-g", {"email": "old@example.org"}, NOW)
    assert (row.version, row.email) == (1, "old@example.org")
    row.replace(domain.preference_values(CHOICES), NOW + timedelta(minutes=1))
    assert (row.version, row.email, row.email_enabled, row.digest_daily, row.digest_hour,
            row.quiet_start, row.quiet_end) == (2, "g@example.org", False, True, 6,
                                                "22:00", "07:00")
    assert row.updated_at == NOW + timedelta(minutes=1)


def test_the_platforms_contact_address_moves_the_version_only_when_it_changes():
    row = PreferenceRow.first("p-g", {"email": "g@example.org"}, NOW)
    row.set_email("g@example.org", NOW + timedelta(days=1))
    assert (row.version, row.updated_at) == (1, NOW)
    row.set_email("h@example.org", NOW + timedelta(days=1))
    assert (row.version, row.email) == (2, "h@example.org")


@pytest.mark.parametrize("header, version, ok", [
    ('"3"', 3, True), ('W/"3"', 3, True), ("3", 3, True), ('"2"', 3, False),
    ("*", 3, True), ("*", None, False), ('"*"', 3, False), ('"0"', None, True),
    ('"1"', None, False), ("abc", 3, False)])
def test_the_etag_names_the_version_last_read(header, version, ok):
    row = None if version is None else PreferenceRow(version=version)
    tag = etags.if_match(header, "send If-Match")
    if ok:
        domain.check_preferences_tag(tag, row)
    else:
        with pytest.raises(PreconditionFailed):
            domain.check_preferences_tag(tag, row)


@pytest.mark.parametrize("header", [None, ""])
def test_no_etag_is_428_with_the_hint(header):
    with pytest.raises(PreconditionRequired) as caught:
        etags.if_match(header, "send If-Match with the ETag from GET /me/preferences")
    assert "GET /me/preferences" in caught.value.detail


def test_only_a_person_has_preferences():
    assert domain.require_person(GUARDIAN) == "p-g"
    with pytest.raises(NotFound) as caught:
        domain.require_person(SYSTEM_HOOKS)
    assert caught.value.code == "preferences.person_only"


# -- webhooks -----------------------------------------------------------------------------------

def register(url="https://hooks.example.org/x", *, allow_http=False, refusal=None,
             active=0, limit=10):
    return Webhook.register(id="w-1", actor=ADMIN, agency=ADMIN.agency,
                            data={"url": url, "description": None}, sealed_secret="sealed",
                            allow_http=allow_http, refusal=lambda url: refusal,
                            active=active, limit=limit, now=NOW)


def test_a_webhook_is_registered_for_the_agency():
    hook = register()
    assert (hook.agency, hook.agency_type, hook.active, hook.created_by,
            hook.secret_ciphertext) == (ADMIN.agency, "school", True, ADMIN.ref, "sealed")
    assert domain.require_own_webhook(hook, ADMIN.agency) is hook


@pytest.mark.parametrize("kwargs, code", [
    ({"url": "http://hooks.example.org/x"}, "webhook.url_not_https"),
    ({"refusal": "a private address"}, "webhook.url_refused"),
    ({"active": 10, "limit": 10}, "webhook.limit_reached")])
def test_a_webhook_is_refused_with_its_code(kwargs, code):
    with pytest.raises((ValidationFailed, Conflict)) as caught:
        register(**kwargs)
    assert caught.value.code == code


def test_http_only_when_configured():
    assert register("http://hooks.example.org/x", allow_http=True).url.startswith("http:")


def test_a_deleted_or_foreign_webhook_is_not_found():
    hook = register()
    with pytest.raises(NotFound):
        domain.require_own_webhook(hook, "910000011")
    hook.delete(NOW)
    assert (hook.active, hook.deleted_at) == (False, NOW)
    with pytest.raises(NotFound) as caught:
        domain.require_own_webhook(hook, ADMIN.agency)
    assert caught.value.code == "webhook.not_found"


def test_who_manages_webhooks_and_who_runs_operations():
    assert domain.require_webhook_agency(SYSTEM_HOOKS) == ADMIN.agency
    with pytest.raises(Forbidden) as caught:
        domain.require_webhook_agency(GUARDIAN)
    assert caught.value.code == "webhook.not_allowed"
    domain.require_platform(Actor(kind=SERVICE))
    with pytest.raises(Forbidden) as caught:
        domain.require_platform(ADMIN)
    assert caught.value.code == "operations.platform_only"
