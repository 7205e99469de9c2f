"""The handover service's business gauge (stafett.gauges.ScrapeGauges): handovers waiting,
by the state they wait in (for consent, for the receiver's answer, for the log to be
moved). Counts only; no id, no agency."""
from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select

from services.handover import domain
from services.handover.models import Handover

WAITING = Gauge("stafett_handovers_waiting", "Open handovers by the state they wait in",
                ["service", "state"])


def refresh_gauges(session, service: str) -> None:
    counts = dict.fromkeys(sorted(domain.OPEN_STATES), 0)
    for state, count in session.execute(select(Handover.status, func.count())
                                        .where(Handover.status.in_(domain.OPEN_STATES))
                                        .group_by(Handover.status)):
        counts[state] = count
    for state, count in counts.items():
        WAITING.labels(service=service, state=state).set(count)
