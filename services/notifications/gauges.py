"""The notifications service's business gauges (stafett.gauges.ScrapeGauges): how many
deliveries are in each state, per channel. Counts only; no id, no person."""
from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select

from services.notifications import domain
from services.notifications.models import Delivery

DELIVERIES_IN_STATE = Gauge("stafett_notifications_deliveries_in_state",
                            "Deliveries now in each state, per channel",
                            ["service", "channel", "state"])


def refresh_gauges(session, service: str) -> None:
    counts = {(channel, state): 0 for channel in (domain.EMAIL, domain.WEBHOOK)
              for state in domain.STATUSES}
    for channel, state, count in session.execute(
            select(Delivery.channel, Delivery.status, func.count())
            .group_by(Delivery.channel, Delivery.status)):
        counts[(channel, state)] = count
    for (channel, state), count in counts.items():
        DELIVERIES_IN_STATE.labels(service=service, channel=channel, state=state).set(count)
