"""Prometheus metrics, one naming scheme for every component, label ``service``.

RED per entrypoint: ``stafett_requests_total``, ``stafett_request_errors_total``,
``stafett_request_duration_seconds``. Metrics are module-level so several containers in
one process (tests) share one registry without duplicate registration.
"""
from __future__ import annotations

import time
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter("stafett_requests_total", "Entrypoint calls handled",
                   ["service", "entrypoint", "kind"])
ERRORS = Counter("stafett_request_errors_total", "Entrypoint calls that raised",
                 ["service", "entrypoint", "kind", "error"])
DURATION = Histogram("stafett_request_duration_seconds", "Entrypoint call duration",
                     ["service", "entrypoint", "kind"],
                     buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
EVENTS_PUBLISHED = Counter("stafett_events_published_total", "Outbox events published",
                           ["service", "type"])
EVENTS_UNROUTED = Counter("stafett_events_unrouted_total",
                          "Outbox events published with no queue bound", ["service", "type"])
OUTBOX_PENDING = Gauge("stafett_outbox_pending", "Outbox rows not yet published", ["service"])
EVENT_RETRIES = Counter("stafett_event_retries_total", "Event handler failures sent to retry",
                        ["service", "handler"])
AUTH_REJECTIONS = Counter("stafett_auth_rejections_total",
                          "Bearer tokens the gateway refused (401), by reason", ["reason"])
DEAD_LETTERS = Counter("stafett_dead_letters_total", "Events parked in a dead-letter queue",
                       ["service", "handler"])

_KINDS = {"Rpc": "rpc", "HttpRequestHandler": "http", "ApiEntrypoint": "http",
          "EventHandler": "event", "ReliableEventHandler": "event", "Timer": "timer"}


def entrypoint_labels(worker_ctx) -> dict:
    entrypoint = worker_ctx.entrypoint
    kind = _KINDS.get(type(entrypoint).__name__, type(entrypoint).__name__.lower())
    return {"service": worker_ctx.container.service_name,
            "entrypoint": entrypoint.method_name, "kind": kind}


class RedMetrics(DependencyProvider):
    """Counts and times every worker of the service it is declared on."""

    def __init__(self):
        self._started: WeakKeyDictionary = WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        labels = entrypoint_labels(worker_ctx)
        REQUESTS.labels(**labels).inc()
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            DURATION.labels(**labels).observe(time.perf_counter() - started)
        if exc_info is not None:
            ERRORS.labels(error=exc_info[0].__name__, **labels).inc()


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
