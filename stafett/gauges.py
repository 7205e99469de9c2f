"""A service's business gauges, computed from its database when ``/metrics`` is scraped."""
from __future__ import annotations

import time

from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from stafett import metrics
from stafett.db import sole_database


class ScrapeGauges(DependencyProvider):
    """``gauges = ScrapeGauges(refresh)``: ``refresh(session, service)`` sets the service's
    own (de-identified) gauges from its database when ``/metrics`` is scraped, at most
    every ``METRICS_REFRESH_SECONDS`` (30 by default), in a read-only session of its own."""

    def __init__(self, refresh):
        self._refresh = refresh
        self._last = float("-inf")
        self._database = None

    def setup(self):
        self._database = sole_database(self.container, "ScrapeGauges")
        self.min_interval = float(self.container.config.get("METRICS_REFRESH_SECONDS", 30))

    def start(self):
        metrics.register_refresher(self, costly=True)

    def stop(self):
        metrics.unregister_refresher(self)

    kill = stop

    def refresh(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now - self._last < self.min_interval:
            return
        self._last = now  # also when it fails: a sick database is not asked every scrape
        service = self.container.service_name
        try:
            with Session(self._database.engine) as session:
                self._refresh(session, service)
        except Exception:
            metrics.METRICS_REFRESH_ERRORS.labels(
                service=service, gauges=getattr(self._refresh, "__name__", "")).inc()
            raise
