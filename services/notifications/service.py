"""Notifications service entrypoints and wiring only: events in; inbox, e-mail and webhooks
out.

The recipient rules and the objects' behaviour (inbox items, deliveries, preferences,
webhooks) are in ``domain.py``; the steps behind the event handlers and reminders in
``workflow.py``; the projection and planning in ``store.py``, read queries in
``queries.py``; the channels in ``channels.py``, sending and retries in ``delivery.py``.
"""
from __future__ import annotations


from nameko.rpc import rpc
from nameko.timer import timer

from services.notifications import domain, queries, rendering, store, workflow
from services.notifications.channels import neutral_error
from services.notifications.delivery import Courier
from services.notifications.gauges import refresh_gauges
from services.notifications.models import Delivery, Notification, PreferenceRow, Webhook
from services.notifications.protection import WebhookSecrets, new_secret
from services.notifications.schemas import (DeliveryOpsView, DeliveryView, NotificationView,
                                            PreferencesIn, WebhookIn, WebhookView,
                                            preferences_view)
from services.notifications.targets import TargetPolicy
from stafett import etags
from stafett.audit import audited_work
from stafett.config import flag
from stafett.contracts import load
from stafett.errors import EXPECTED, NotFound, StafettError
from stafett.events import Envelope, reliable_event_handler, utcnow
from stafett.gauges import ScrapeGauges
from stafett.ids import new_id
from stafett.request_keys import once
from stafett.rpc import TimeoutRpcProxy
from stafett.service import DomainService

#: how often the reminder timer looks for due evaluations and tomorrow's meetings
REMINDER_INTERVAL_SECONDS = 600


class NotificationsService(DomainService):
    name = "notifications"

    courier = Courier()
    secrets = WebhookSecrets()
    gauges = ScrapeGauges(refresh_gauges)
    # who may see a child's access log (stafett/access_review.py) and what an inbox text
    # may name (asked as the recipient) are the logs service's rules
    logs = TimeoutRpcProxy("logs")

    # -- events: one queue per producer, bound with a wildcard (see events.py) -------------------

    @reliable_event_handler("logs", "log.*")
    def on_log_event(self, payload: dict) -> None:
        self._deliver(Envelope.from_dict(payload), "on_log_event")

    @reliable_event_handler("consent", "consent.*")
    def on_consent_event(self, payload: dict) -> None:
        self._deliver(Envelope.from_dict(payload), "on_consent_event")

    @reliable_event_handler("handover", "handover.*")
    def on_handover_event(self, payload: dict) -> None:
        self._deliver(Envelope.from_dict(payload), "on_handover_event")

    def on_measure_added(self, payload: dict) -> None:
        """The former per-type handler, kept for callers that deliver one event directly."""
        self._deliver(Envelope.from_dict(payload), "on_log_event")

    def _deliver(self, event: Envelope, consumer: str) -> None:
        if workflow.deliver(self.db, self.name, event, consumer):
            self.courier.wake()

    # -- the access log (stafett/access_review.py) ------------------------------------------

    def _access_scope(self, child_id: str) -> dict:
        return self.logs.access_log_scope(child_id)  # the logs service's rule

    # -- the inbox -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def inbox(self, limit: int = 50, cursor: str | None = None,
              unread_only: bool = False) -> list[dict]:
        return self.inbox_page(limit, cursor, unread_only)["items"]

    @rpc(expected_exceptions=EXPECTED)
    def inbox_page(self, limit: int = 50, cursor: str | None = None,
                   unread_only: bool = False) -> dict:
        """Newest first; ``next_cursor`` continues after the last item (opaque)."""
        if self.actor is None or not self.actor.person_id:
            return {"items": [], "next_cursor": None, "unread": 0}
        page, unread = queries.inbox_page(self.db, self.actor.person_id, limit, cursor,
                                          unread_only)
        store.record_reads(self.db, self.actor, page["items"])  # the children's access logs
        self.db.commit()  # the read is done: no transaction held while the logs service answers
        items = NotificationView(many=True).dump(page["items"])
        details = self._details(items)
        return {"items": [rendering.told(item, details) for item in items],
                "next_cursor": page["next_cursor"], "unread": unread}

    def _details(self, items: list[dict]) -> dict:
        """What the logs service lets this recipient be told about the logs the items name
        (asked once per page, as the recipient); nothing when it cannot answer."""
        refs = [r for r in (domain.subject_of(i.get("link")) for i in items) if r]
        try:
            return self.logs.notice_details(refs) if refs else {}
        except StafettError:
            return {}

    @rpc(expected_exceptions=EXPECTED)
    @once
    def open_notification(self, ref: str) -> dict:
        """Opening an item (by its id, or by its event's from an e-mail) marks it read."""
        item = domain.require_shown(queries.inbox_item(self.db, self.actor, ref), self.actor)
        item.mark(True, utcnow())
        self.db.commit()
        return NotificationView().dump(item)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def mark_read(self, notification_id: str) -> dict:
        return self._mark(notification_id, read=True)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def mark_unread(self, notification_id: str) -> dict:
        return self._mark(notification_id, read=False)

    def _mark(self, notification_id: str, read: bool) -> dict:
        item = domain.require_shown(self.db.get(Notification, notification_id), self.actor)
        item.mark(read, utcnow())
        self.db.commit()
        return NotificationView().dump(item)

    # -- preferences ------------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def get_preferences(self) -> dict:
        return preferences_view(self.db.get(PreferenceRow, domain.require_person(self.actor)))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def update_preferences(self, payload: dict, if_match: str | None = None) -> dict:
        """Replace the actor's preferences; ``if_match`` is the ETag (version) last read."""
        person = domain.require_person(self.actor)
        tag = etags.if_match(if_match, "send If-Match with the ETag from GET /me/preferences")
        values, now = domain.preference_values(load(PreferencesIn(), payload)), utcnow()
        with audited_work(self.db, self.actor, "update", "preferences", object_id=person,
                          subject_id=person):
            row = self.db.get(PreferenceRow, person)
            domain.check_preferences_tag(tag, row)
            if row is None:
                row = PreferenceRow.first(person, values, now)
                store.save_preferences(self.db, row, new=True)
            else:
                row.replace(values, now)
                store.save_preferences(self.db, row, new=False)
        return preferences_view(row)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def seed_contacts(self, contacts: list[dict]) -> int:
        """The platform sets contact e-mail addresses (demo seed, registry integrations)."""
        domain.require_platform(self.actor)
        for contact in contacts:
            row = self.db.get(PreferenceRow, contact["person_id"])
            if row is None:
                self.db.add(PreferenceRow.first(contact["person_id"],
                                                {"email": contact.get("email")}, utcnow()))
            else:
                row.set_email(contact.get("email"), utcnow())
        self.db.commit()
        return len(contacts)

    # -- webhooks -----------------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once(keep_answer=False)  # the secret is shown once, never stored
    def create_webhook(self, payload: dict) -> dict:
        agency = domain.require_webhook_agency(self.actor)
        data, hook_id, secret = load(WebhookIn(), payload), new_id(), new_secret()
        hook = Webhook.register(
            id=hook_id, actor=self.actor, agency=agency, data=data,
            sealed_secret=self.secrets.seal(secret, hook_id),
            allow_http=flag(self.config.get("WEBHOOK_ALLOW_HTTP"), False, "WEBHOOK_ALLOW_HTTP"),
            refusal=TargetPolicy.from_config(self.config).registration_refusal,
            active=queries.active_webhook_count(self.db, agency),
            limit=int(self.config.get("WEBHOOKS_PER_AGENCY", 10)), now=utcnow())
        with audited_work(self.db, self.actor, "create", "webhook", object_id=hook_id):
            self.db.add(hook)
        return {**WebhookView().dump(hook), "secret": secret}  # the only time it is shown

    @rpc(expected_exceptions=EXPECTED)
    def list_webhooks(self) -> list[dict]:
        agency = domain.require_webhook_agency(self.actor)
        return WebhookView(many=True).dump(queries.active_webhooks(self.db, agency))

    def _own_webhook(self, webhook_id: str) -> Webhook:
        return domain.require_own_webhook(self.db.get(Webhook, webhook_id),
                                          domain.require_webhook_agency(self.actor))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def delete_webhook(self, webhook_id: str) -> None:
        with audited_work(self.db, self.actor, "delete", "webhook", object_id=webhook_id):
            self._own_webhook(webhook_id).delete(utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def webhook_deliveries(self, webhook_id: str, limit: int = 50,
                           cursor: str | None = None) -> dict:
        """The agency's view of a webhook's deliveries (status, attempts, the error's
        category only), newest first, one page at a time."""
        page = queries.webhook_deliveries(self.db, self._own_webhook(webhook_id).id, limit,
                                          cursor)
        items = [{**item, "last_error": neutral_error(item["last_error"])}
                 for item in DeliveryView(many=True).dump(page["items"])]
        return {**page, "items": items}

    # -- operations ------------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_deliveries(self, status: str | None = None, event_id: str | None = None,
                        channel: str | None = None, limit: int = 100) -> list[dict]:
        """Operations: deliveries by status (``failed-permanent``: the dead ones), event or
        channel, newest first."""
        domain.require_platform(self.actor)
        return DeliveryOpsView(many=True).dump(
            queries.deliveries(self.db, status, event_id, channel, limit))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def requeue_delivery(self, delivery_id: str) -> dict:
        """Operations: send a dead (or cancelled) delivery again, with fresh attempts."""
        domain.require_platform(self.actor)
        row = self.db.get(Delivery, delivery_id)
        if row is None:
            raise NotFound("no such delivery", code="delivery.not_found")
        row.requeue(utcnow())
        self.db.commit()
        self.courier.wake()
        return DeliveryOpsView().dump(row)

    # -- reminders --------------------------------------------------------------------------------

    @timer(interval=REMINDER_INTERVAL_SECONDS)
    def reminder_tick(self) -> dict:
        return self._reminders(None)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def run_reminders(self, today: str | None = None) -> dict:
        """Operations and tests: run the reminder check now (``today`` as YYYY-MM-DD)."""
        domain.require_platform(self.actor)
        return self._reminders(today)

    def _reminders(self, today: str | None) -> dict:
        counts = workflow.run_reminders(self.db, self.config, today)
        if counts:
            self.courier.wake()
        return counts
