"""Notifications service entrypoints: events in; inbox, e-mail and webhooks out.

Thin: the recipient rules are in ``domain.py``, the projection and planning in
``store.py``, the channels in ``channels.py``, sending and retries in ``delivery.py``.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from services.notifications import domain, store
from services.notifications.channels import neutral_error
from services.notifications.delivery import DROPPED, Courier
from services.notifications.events import CONSUMED
from services.notifications.gauges import refresh_gauges
from services.notifications.models import (Delivery, Notification, PreferenceRow,
                                           ReminderSent, Webhook)
from services.notifications.protection import WebhookSecrets, new_secret
from services.notifications.targets import TargetPolicy
from services.notifications.schemas import (DeliveryOpsView, DeliveryView, NotificationView,
                                            PreferencesIn, WebhookIn, WebhookView,
                                            preferences_view)
from stafett.actor import SERVICE
from stafett.audit import audited_work
from stafett.config import flag
from stafett.contracts import load
from stafett.db import Database
from stafett.request_keys import once
from stafett.errors import (EXPECTED, Conflict, Forbidden, NotFound,
                            PreconditionFailed, PreconditionRequired, ValidationFailed)
from stafett.events import Envelope, first_delivery, reliable_event_handler, utcnow
from stafett.ids import new_id
from stafett.gauges import ScrapeGauges
from stafett.paging import bounded, decode_position, newest_first, position_page
from stafett.service import ServiceBase
from stafett.transparency import AuditEndpoints

MIGRATIONS = Path(__file__).parent / "migrations"
#: how often the reminder timer looks for due evaluations and tomorrow's meetings
REMINDER_INTERVAL_SECONDS = 600


class NotificationsService(AuditEndpoints, ServiceBase):
    name = "notifications"

    db = Database(MIGRATIONS)
    courier = Courier()
    secrets = WebhookSecrets()
    gauges = ScrapeGauges(refresh_gauges)

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
        """Once per event: facts → rules → deliveries (inbox written now), one transaction."""
        if event.type not in CONSUMED or not first_delivery(
                self.db, f"notifications.{consumer}", event.event_id):
            self.db.rollback()  # not ours, or a redelivery: let go of the connection
            return
        facts = store.facts_for(self.db, event)
        store.apply(self.db, event)
        dropping = domain.drop_for(event)
        dropped = store.drop(self.db, dropping, utcnow()) if dropping else {}
        notices = domain.notices_for(event, facts)
        counts = store.plan(self.db, event_id=event.event_id, event_type=event.type,
                            occurred_at=event.occurred_at, notices=notices, now=utcnow())
        self.db.commit()
        for channel, count in dropped.items():
            DROPPED.labels(service=self.name, channel=channel, reason=dropping.reason).inc(count)
        if counts[domain.EMAIL] or counts[domain.WEBHOOK]:
            self.courier.wake()

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
        limit = bounded(limit)
        mine = and_(Notification.person_id == self.actor.person_id,
                    Notification.channel == domain.INBOX, Notification.dropped_at.is_(None))
        query = select(Notification).where(mine)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        query = newest_first(query, Notification.created_at, Notification.id,
                             decode_position(cursor))
        result = position_page(self.db.scalars(query.limit(limit + 1)).all(), limit,
                               lambda row: (row.created_at, row.id))
        unread = self.db.scalar(select(func.count()).select_from(Notification).where(
            mine, Notification.read_at.is_(None)))
        return {"items": NotificationView(many=True).dump(result["items"]),
                "next_cursor": result["next_cursor"], "unread": unread}

    @rpc(expected_exceptions=EXPECTED)
    @once
    def mark_read(self, notification_id: str) -> dict:
        return self._mark(notification_id, read=True)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def mark_unread(self, notification_id: str) -> dict:
        return self._mark(notification_id, read=False)

    def _mark(self, notification_id: str, read: bool) -> dict:
        row = self.db.get(Notification, notification_id)
        if (row is None or self.actor is None or row.person_id != self.actor.person_id
                or row.dropped_at is not None):  # withdrawn: as if it never was
            raise NotFound("no such notification", code="notification.not_found")
        row.read_at = (row.read_at or utcnow()) if read else None
        self.db.commit()
        return NotificationView().dump(row)

    # -- preferences ------------------------------------------------------------------------------

    def _person(self) -> str:
        if self.actor is None or not self.actor.person_id:
            raise NotFound("only a person has notification preferences",
                           code="preferences.person_only")
        return self.actor.person_id

    @rpc(expected_exceptions=EXPECTED)
    def get_preferences(self) -> dict:
        return preferences_view(self.db.get(PreferenceRow, self._person()))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def update_preferences(self, payload: dict, if_match: str | None = None) -> dict:
        """Replace the actor's preferences; ``if_match`` is the ETag (version) last read."""
        person = self._person()
        if not if_match:
            raise PreconditionRequired(
                "send If-Match with the ETag from GET /me/preferences")
        data = load(PreferencesIn(), payload)
        quiet = data["quiet_hours"] or {}
        values = {"email": data["email"], "inbox_enabled": data["channels"]["inbox"],
                  "email_enabled": data["channels"]["email"],
                  "digest_daily": data["digest"]["daily"], "digest_hour": data["digest"]["hour"],
                  "quiet_start": quiet.get("start"), "quiet_end": quiet.get("end"),
                  "time_zone": data["time_zone"], "updated_at": utcnow()}
        with audited_work(self.db, self.actor, "update", "preferences", object_id=person,
                          subject_id=person):
            row = self.db.get(PreferenceRow, person)
            current = row.version if row is not None else 0
            tag = if_match.strip()
            if tag != "*" or row is None:
                if tag.removeprefix("W/").strip('"') != str(current):
                    raise PreconditionFailed("the preferences changed since you read them; "
                                             "GET them again")
            if row is None:
                self.db.add(PreferenceRow(person_id=person, version=1, **values))
                try:
                    self.db.flush()
                except IntegrityError:   # a concurrent first write won
                    raise PreconditionFailed("the preferences changed since you read them")
            else:
                changed = self.db.execute(update(PreferenceRow).where(
                    PreferenceRow.person_id == person, PreferenceRow.version == current)
                    .values(version=current + 1, **values)
                    .execution_options(synchronize_session=False)).rowcount
                if not changed:
                    raise PreconditionFailed("the preferences changed since you read them")
        self.db.expire_all()
        return preferences_view(self.db.get(PreferenceRow, person))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def seed_contacts(self, contacts: list[dict]) -> int:
        """The platform sets contact e-mail addresses (demo seed, registry integrations)."""
        self._require_internal()
        for contact in contacts:
            row = self.db.get(PreferenceRow, contact["person_id"])
            if row is None:
                self.db.add(PreferenceRow(person_id=contact["person_id"],
                                          email=contact.get("email"), version=1,
                                          updated_at=utcnow()))
            elif row.email != contact.get("email"):
                row.email, row.version, row.updated_at = (contact.get("email"),
                                                          row.version + 1, utcnow())
        self.db.commit()
        return len(contacts)

    # -- webhooks -----------------------------------------------------------------------------------

    def _webhook_agency(self) -> str:
        agency = domain.webhook_agency(self.actor)
        if agency is None:
            raise Forbidden("webhooks are managed by an agency administrator or an agency "
                            f"system with the scope {domain.WEBHOOK_SCOPE}",
                            code="webhook.not_allowed")
        return agency

    @rpc(expected_exceptions=EXPECTED)
    @once(keep_answer=False)  # the secret is shown once, never stored
    def create_webhook(self, payload: dict) -> dict:
        agency = self._webhook_agency()
        data = load(WebhookIn(), payload)
        allow_http = flag(self.config.get("WEBHOOK_ALLOW_HTTP"), False, "WEBHOOK_ALLOW_HTTP")
        if data["url"].lower().startswith("http:") and not allow_http:
            raise ValidationFailed("the request has invalid fields",
                                   {"url": ["use https"]}, code="webhook.url_not_https")
        refusal = TargetPolicy.from_config(self.config).registration_refusal(data["url"])
        if refusal is not None:     # checked again, after resolution, at every delivery
            raise ValidationFailed("the request has invalid fields", {"url": [refusal]},
                                   code="webhook.url_refused")
        limit = int(self.config.get("WEBHOOKS_PER_AGENCY", 10))
        active = self.db.scalar(select(func.count()).select_from(Webhook).where(
            Webhook.agency == agency, Webhook.active.is_(True)))
        if active >= limit:
            raise Conflict(f"an agency may have at most {limit} webhooks",
                           code="webhook.limit_reached")
        hook_id, secret = new_id(), new_secret()
        with audited_work(self.db, self.actor, "create", "webhook", object_id=hook_id):
            hook = Webhook(id=hook_id, agency=agency, agency_type=self.actor.agency_type,
                           url=data["url"],
                           description=data["description"],
                           secret_ciphertext=self.secrets.seal(secret, hook_id), active=True,
                           created_by=self.actor.ref, created_at=utcnow())
            self.db.add(hook)
        return {**WebhookView().dump(hook), "secret": secret}  # the only time it is shown

    @rpc(expected_exceptions=EXPECTED)
    def list_webhooks(self) -> list[dict]:
        agency = self._webhook_agency()
        return WebhookView(many=True).dump(self.db.scalars(select(Webhook).where(
            Webhook.agency == agency, Webhook.active.is_(True))
            .order_by(Webhook.created_at)).all())

    def _own_webhook(self, webhook_id: str) -> Webhook:
        agency = self._webhook_agency()
        hook = self.db.get(Webhook, webhook_id)
        if hook is None or hook.agency != agency or not hook.active:
            raise NotFound("no such webhook", code="webhook.not_found")
        return hook

    @rpc(expected_exceptions=EXPECTED)
    @once
    def delete_webhook(self, webhook_id: str) -> None:
        with audited_work(self.db, self.actor, "delete", "webhook", object_id=webhook_id):
            hook = self._own_webhook(webhook_id)
            hook.active, hook.deleted_at = False, utcnow()

    @rpc(expected_exceptions=EXPECTED)
    def webhook_deliveries(self, webhook_id: str, limit: int = 50,
                           cursor: str | None = None) -> dict:
        """The agency's view of a webhook's deliveries (status, attempts, the error's
        category only), newest first, one page at a time."""
        hook = self._own_webhook(webhook_id)
        limit = bounded(limit)
        query = newest_first(select(Delivery).where(Delivery.webhook_id == hook.id),
                             Delivery.created_at, Delivery.id, decode_position(cursor))
        result = position_page(self.db.scalars(query.limit(limit + 1)).all(), limit,
                               lambda row: (row.created_at, row.id))
        items = [{**item, "last_error": neutral_error(item["last_error"])}
                 for item in DeliveryView(many=True).dump(result["items"])]
        return {**result, "items": items}

    # -- operations ------------------------------------------------------------------------------

    def _require_internal(self) -> None:
        if self.actor is None or self.actor.kind != SERVICE:
            raise Forbidden("only the platform may do this", code="operations.platform_only")

    @rpc(expected_exceptions=EXPECTED)
    def list_deliveries(self, status: str | None = None, event_id: str | None = None,
                        channel: str | None = None, limit: int = 100) -> list[dict]:
        """Operations: deliveries by status (``failed-permanent``: the dead ones), event or
        channel, newest first."""
        self._require_internal()
        query = select(Delivery)
        if status:
            query = query.where(Delivery.status == status)
        if event_id:
            query = query.where(Delivery.event_id == event_id)
        if channel:
            query = query.where(Delivery.channel == channel)
        rows = self.db.scalars(query.order_by(Delivery.updated_at.desc())
                               .limit(max(1, min(int(limit), 1000)))).all()
        return DeliveryOpsView(many=True).dump(rows)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def requeue_delivery(self, delivery_id: str) -> dict:
        """Operations: send a dead (or cancelled) delivery again, with fresh attempts."""
        self._require_internal()
        row = self.db.get(Delivery, delivery_id)
        if row is None:
            raise NotFound("no such delivery", code="delivery.not_found")
        if row.status not in (domain.FAILED_PERMANENT, domain.CANCELLED):
            raise Conflict(f"the delivery is {row.status}", code="delivery.not_requeueable")
        row.status, row.attempts, row.next_attempt_at = domain.QUEUED, 0, utcnow()
        row.last_error, row.updated_at = None, utcnow()
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
        self._require_internal()
        return self._reminders(today)

    def _reminders(self, today: str | None) -> dict:
        tz = domain.zone(self.config.get("TIME_ZONE"))
        now = utcnow()
        today = date.fromisoformat(today) if today else now.astimezone(tz).date()
        days_ahead = int(self.config.get("REMINDER_DAYS_AHEAD", 3))
        window_start = datetime.combine(today, time(0), tzinfo=tz)
        measures, meetings = store.reminder_candidates(self.db, today, days_ahead,
                                                       window_start)
        reminders = domain.due_reminders(today, days_ahead, measures, meetings, tz)
        protected = store.protected_children(
            self.db, {r.notice.context.get("child_id") for r in reminders})
        reminders = [replace(r, notice=domain.protect(r.notice))
                     if r.notice.context.get("child_id") in protected else r for r in reminders]
        sent = store.already_sent(self.db, reminders)
        self.db.rollback()
        counts = {}
        for reminder in reminders:
            if (reminder.kind, reminder.object_id, reminder.due) in sent:
                continue
            try:
                # insert first: of two replicas (or a restart) only one gets past here
                self.db.add(ReminderSent(kind=reminder.kind, object_id=reminder.object_id,
                                         due=reminder.due, event_id=reminder.event_id,
                                         sent_at=now))
                self.db.flush()
                store.plan(self.db, event_id=reminder.event_id,
                           event_type=f"reminder.{reminder.kind}",
                           occurred_at=now.isoformat(), notices=[reminder.notice], now=now)
                self.db.commit()
            except IntegrityError:
                self.db.rollback()
                continue
            counts[reminder.kind] = counts.get(reminder.kind, 0) + 1
        if counts:
            self.courier.wake()
        return counts
