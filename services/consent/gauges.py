"""The consent service's business gauge (stafett.gauges.ScrapeGauges): active consents
whose last day falls within the next 30 days. A count; no id, no person."""
from __future__ import annotations

from datetime import date, timedelta

from prometheus_client import Gauge
from sqlalchemy import func, select

from services.consent import domain
from services.consent.models import Consent

EXPIRING_DAYS = 30

EXPIRING = Gauge("stafett_consents_expiring_soon",
                 "Consents in force whose last day is within the next 30 days", ["service"])


def refresh_gauges(session, service: str, today: date | None = None) -> None:
    today = today or date.today()
    count = session.scalar(select(func.count()).select_from(Consent).where(
        Consent.status == domain.ACTIVE, Consent.valid_until >= today,
        Consent.valid_until <= today + timedelta(days=EXPIRING_DAYS)))
    EXPIRING.labels(service=service).set(count or 0)
