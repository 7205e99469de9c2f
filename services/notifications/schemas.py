"""Contracts of the notifications service: the inbox, preferences, webhooks, deliveries."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from services.notifications import domain
from stafett.errors import coded
from stafett.fields import Email, Text, Url, UtcDateTime


HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="use HH:MM (24-hour clock)")


class NotificationView(Schema):
    id = Text()
    kind = Text()
    title = Text()
    body = Text()
    link = Text()
    log_id = Text(allow_none=True)
    created_at = UtcDateTime()
    read = fields.Method("_read")

    def _read(self, notification):
        return notification.read_at is not None


class InboxPage(Schema):
    items = fields.List(fields.Nested(NotificationView))
    next_cursor = Text(allow_none=True)
    unread = fields.Integer(metadata={"description": "unread notifications in the inbox"})


# -- preferences ---------------------------------------------------------------------------

class ChannelSwitches(Schema):
    inbox = fields.Boolean(load_default=True)
    email = fields.Boolean(load_default=True)


class DigestChoice(Schema):
    daily = fields.Boolean(load_default=False, metadata={
        "description": "one e-mail a day instead of one per notification"})
    hour = fields.Integer(load_default=7, validate=validate.Range(0, 23),
                          metadata={"description": "local hour of the daily e-mail"})


class QuietHours(Schema):
    start = Text(required=True, validate=HHMM)
    end = Text(required=True, validate=HHMM)


class PreferencesIn(Schema):
    """A full replacement (PUT): fields left out take their defaults."""

    email = Email(allow_none=True, load_default=None,
                         validate=validate.Length(max=254))
    channels = fields.Nested(ChannelSwitches,
                             load_default=lambda: {"inbox": True, "email": True})
    digest = fields.Nested(DigestChoice, load_default=lambda: {"daily": False, "hour": 7})
    quiet_hours = fields.Nested(QuietHours, allow_none=True, load_default=None, metadata={
        "description": "local times between which no e-mail is sent (may cross midnight)"})
    time_zone = Text(load_default=domain.DEFAULT_TIME_ZONE,
                              validate=lambda name: _known_zone(name))


def _known_zone(name: str) -> bool:
    if not domain.valid_time_zone(name):
        raise ValidationError(coded("preferences.time_zone_unknown",
                                    "unknown IANA time zone, e.g. Europe/Oslo"))
    return True


class PreferencesView(Schema):
    email = Text(allow_none=True)
    channels = fields.Nested(ChannelSwitches)
    digest = fields.Nested(DigestChoice)
    quiet_hours = fields.Nested(QuietHours, allow_none=True)
    time_zone = Text()
    version = fields.Integer()


def preferences_view(row) -> dict:
    """A row (or None: the defaults, version 0) as the API shows it."""
    if row is None:
        prefs, version = domain.Preferences(), 0
    else:
        prefs, version = row, row.version
    quiet = ({"start": prefs.quiet_start, "end": prefs.quiet_end}
             if prefs.quiet_start and prefs.quiet_end else None)
    return PreferencesView().dump({
        "email": prefs.email,
        "channels": {"inbox": prefs.inbox_enabled, "email": prefs.email_enabled},
        "digest": {"daily": prefs.digest_daily, "hour": prefs.digest_hour},
        "quiet_hours": quiet, "time_zone": prefs.time_zone, "version": version})


# -- webhooks ---------------------------------------------------------------------------------

class WebhookIn(Schema):
    url = Url(required=True, schemes={"https", "http"}, require_tld=False,
                     validate=validate.Length(max=2000))
    description = Text(load_default=None, allow_none=True,
                                validate=validate.Length(max=200))


class WebhookView(Schema):
    id = Text()
    agency = Text()
    url = Text()
    description = Text(allow_none=True)
    active = fields.Boolean()
    created_at = UtcDateTime()


class WebhookCreated(WebhookView):
    secret = Text(metadata={
        "description": "the signing secret; shown once, at creation, never again"})


# -- deliveries -------------------------------------------------------------------------------

class DeliveryView(Schema):
    id = Text()
    event_id = Text()
    event_type = Text()
    kind = Text()
    channel = Text()
    status = Text(metadata={"enum": list(domain.STATUSES)})
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    last_error = Text(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    delivered_at = UtcDateTime(allow_none=True)
    agency = Text(allow_none=True)
    webhook_id = Text(allow_none=True)
    drop_reason = Text(allow_none=True, metadata={
        "description": "why a delivery was dropped before it was sent: consent_ended "
                       "(consent no longer covers the agency for the child it was about)"})


class DeliveryOpsView(DeliveryView):
    """For operations: also whom (a pseudonymous person id) it was for."""

    person_id = Text(allow_none=True)
