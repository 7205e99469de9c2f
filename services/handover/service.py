"""Handover service entrypoints (thin for now: listing, and cancelling on log close)."""
from __future__ import annotations

from pathlib import Path

from nameko.rpc import rpc
from sqlalchemy import or_, select

from services.handover import domain, events
from services.handover.models import Handover
from services.handover.schemas import HandoverView
from stafett.db import Database
from stafett.errors import EXPECTED
from stafett.events import Envelope, Outbox, first_delivery, reliable_event_handler, utcnow
from stafett.service import ServiceBase

MIGRATIONS = Path(__file__).parent / "migrations"


class HandoverService(ServiceBase):
    name = "handover"

    db = Database(MIGRATIONS)
    events = Outbox()

    @rpc(expected_exceptions=EXPECTED)
    def list_handovers(self) -> list[dict]:
        """Incoming and outgoing handovers of the actor's agency."""
        agency = self.actor.agency if self.actor else None
        if not agency:
            return []
        rows = self.db.scalars(select(Handover).where(or_(
            Handover.from_agency == agency, Handover.to_agency == agency))
            .order_by(Handover.created_at.desc())).all()
        return HandoverView(many=True).dump(rows)

    @reliable_event_handler("logs", "log.closed")
    def on_log_closed(self, payload: dict) -> None:
        """A closed log cannot be handed over: cancel what is open, with the reason."""
        event = Envelope.from_dict(payload)
        if not first_delivery(self.db, "handover.on_log_closed", event.event_id):
            return
        for handover in self.db.scalars(select(Handover).where(
                Handover.log_id == event.log_id,
                Handover.status.in_(domain.CANCELLABLE_STATES))):
            handover.status = domain.transition(handover.status, domain.CANCELLED)
            handover.reason, handover.updated_at = "Loggen ble lukket", utcnow()
            self.events.emit(self.db, events.CANCELLED, log_id=event.log_id,
                             data={"handover_id": handover.id, "reason": "log_closed"})
        self.db.commit()
