"""Notifications service entrypoints: events in, inbox out."""
from __future__ import annotations

import uuid
from pathlib import Path

from nameko.rpc import rpc
from sqlalchemy import select

from services.notifications import domain
from services.notifications.models import Notification
from services.notifications.schemas import NotificationView
from stafett.db import Database
from stafett.errors import EXPECTED, NotFound
from stafett.events import Envelope, first_delivery, reliable_event_handler, utcnow
from stafett.service import ServiceBase

MIGRATIONS = Path(__file__).parent / "migrations"


class NotificationsService(ServiceBase):
    name = "notifications"

    db = Database(MIGRATIONS)

    @reliable_event_handler("logs", "log.measure_added")
    def on_measure_added(self, payload: dict) -> None:
        self._deliver(Envelope.from_dict(payload), "on_measure_added")

    @reliable_event_handler("consent", "consent.expiring")
    def on_consent_expiring(self, payload: dict) -> None:
        self._deliver(Envelope.from_dict(payload), "on_consent_expiring")

    @reliable_event_handler("consent", "consent.expired")
    def on_consent_expired(self, payload: dict) -> None:
        self._deliver(Envelope.from_dict(payload), "on_consent_expired")

    def _deliver(self, event: Envelope, consumer: str) -> None:
        if not first_delivery(self.db, f"notifications.{consumer}", event.event_id):
            return
        for message in domain.recipients_for(event):
            self.db.add(Notification(id=str(uuid.uuid4()), event_id=event.event_id,
                                     person_id=message.person_id, channel="inbox",
                                     kind=message.kind, title=message.title,
                                     body=message.body, link=message.link,
                                     log_id=event.log_id, created_at=utcnow()))
        self.db.commit()

    @rpc(expected_exceptions=EXPECTED)
    def inbox(self, limit: int = 50) -> list[dict]:
        if self.actor is None or not self.actor.person_id:
            return []
        rows = self.db.scalars(select(Notification).where(
            Notification.person_id == self.actor.person_id, Notification.channel == "inbox")
            .order_by(Notification.created_at.desc()).limit(max(1, min(limit, 200)))).all()
        return NotificationView(many=True).dump(rows)

    @rpc(expected_exceptions=EXPECTED)
    def mark_read(self, notification_id: str) -> dict:
        row = self.db.get(Notification, notification_id)
        if row is None or self.actor is None or row.person_id != self.actor.person_id:
            raise NotFound("no such notification")
        row.read_at = row.read_at or utcnow()
        self.db.commit()
        return NotificationView().dump(row)
