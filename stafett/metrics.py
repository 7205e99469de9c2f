"""Prometheus metrics, one naming scheme for every component, label ``service``.

RED per entrypoint: ``stafett_requests_total``, ``stafett_request_errors_total``,
``stafett_request_duration_seconds`` (``kind`` is the entrypoint's: rpc, http, event or
timer; on the errors it is the error's: ``refused`` (the caller may not: 401, 403, 404,
405, 409, 412, 428, 429), ``invalid`` (the caller sent what we do not take: 400, 413,
415, 422) or ``failed`` (ours: anything else, 503 and unexpected exceptions included)).

Every HTTP answer a component gives (probes and /metrics excepted) is counted once in
``stafett_http_requests_total`` with its ``route`` (the URL rule, ``unmatched`` for none),
``method``, ``code`` (the exact status) and ``agency_type`` (school, ppt, … for staff and
agency systems, ``citizen``, ``unknown`` before the caller's agency is known, ``none``
unauthenticated). ``agency`` is a gateway's own ``AGENCY_ORG_NUMBER`` (a per-agency
gateway) and empty elsewhere: no label ever holds a person, a child, a log or a national
identity number, and organisation numbers only where one gateway serves one agency.

Timers and worker loops report their last successful run
(``stafett_timer_last_success_timestamp_seconds``, the process start before the first run)
and their interval; consumers the age of each event they are handed
(``stafett_event_lag_seconds``); databases their query latency and pool. Gauges that cost a
query (the outbox, the business gauges of each service: ``stafett.gauges.ScrapeGauges``) are
computed when ``/metrics`` is scraped, at most every ``METRICS_REFRESH_SECONDS``.

Metrics are module-level so several containers in one process (tests) share one registry
without duplicate registration.
"""
from __future__ import annotations

import logging
import re
import time
import weakref
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from stafett.clock import parse_utc, utcnow

log = logging.getLogger(__name__)

REQUESTS = Counter("stafett_requests_total", "Entrypoint calls handled",
                   ["service", "entrypoint", "kind"])
ERRORS = Counter("stafett_request_errors_total",
                 "Entrypoint calls that raised, by kind of error (refused, invalid, failed)",
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

HTTP_REQUESTS = Counter(
    "stafett_http_requests_total", "HTTP answers by route, method, status and caller's kind",
    ["service", "route", "method", "code", "agency_type", "agency"])
HTTP_DURATION = Histogram(
    "stafett_http_request_duration_seconds", "Time to answer an HTTP request",
    ["service", "agency_type", "agency"],
    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))

TIMER_LAST_SUCCESS = Gauge(
    "stafett_timer_last_success_timestamp_seconds",
    "Unix time of a timer's or worker loop's last successful run (its process's start "
    "before the first)", ["service", "timer"])
TIMER_INTERVAL = Gauge("stafett_timer_interval_seconds",
                       "How often a timer or worker loop is meant to run", ["service", "timer"])
EVENT_LAG = Histogram(
    "stafett_event_lag_seconds", "Age of an event (now - occurred_at) when a consumer gets it",
    ["service", "handler"],
    buckets=(.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))

JWKS_REFRESHES = Counter("stafett_jwks_refreshes_total",
                         "Fetches of an issuer's signing keys (JWKS), by outcome",
                         ["issuer", "outcome"])
JWKS_LAST_SUCCESS = Gauge("stafett_jwks_last_success_timestamp_seconds",
                          "Unix time of the last good fetch of an issuer's JWKS", ["issuer"])

DB_QUERY_DURATION = Histogram(
    "stafett_db_query_duration_seconds", "Time a database statement took", ["service"],
    buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
DB_QUERY_ERRORS = Counter("stafett_db_query_errors_total", "Database statements that raised",
                          ["service"])
DB_POOL_CONNECTIONS = Gauge("stafett_db_pool_connections",
                            "Pooled database connections: checked_out, idle, overflow",
                            ["service", "state"])
DB_POOL_SIZE = Gauge("stafett_db_pool_size", "Configured size of the connection pool",
                     ["service"])
METRICS_REFRESH_ERRORS = Counter("stafett_metrics_refresh_errors_total",
                                 "Scrape-time gauge refreshes that failed", ["service", "gauges"])

_KINDS = {"Rpc": "rpc", "HttpRequestHandler": "http", "ApiEntrypoint": "http",
          "HttpEntrypoint": "http", "EventHandler": "event", "ReliableEventHandler": "event",
          "Timer": "timer", "ConfiguredTimer": "timer"}

#: statuses that are the caller's input refused as such, and those that refuse the caller
INVALID_STATUSES = frozenset({400, 413, 415, 422})
REFUSED_STATUSES = frozenset({401, 403, 404, 405, 409, 412, 428, 429})

#: labels that say who called, never who they are
AGENCY_TYPE_ENVIRON = "stafett.agency_type"
_LABEL_WORD = re.compile(r"[a-z][a-z_]{0,29}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: paths whose answers are not traffic (probes and the scrape itself)
UNCOUNTED_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def entrypoint_labels(worker_ctx) -> dict:
    entrypoint = worker_ctx.entrypoint
    kind = _KINDS.get(type(entrypoint).__name__, type(entrypoint).__name__.lower())
    if isinstance(entrypoint, Timer):
        kind = "timer"
    return {"service": worker_ctx.container.service_name,
            "entrypoint": entrypoint.method_name, "kind": kind}


def error_kind(exc_type) -> str:
    """refused, invalid or failed, from a typed error's status (failed for anything else)."""
    status = getattr(exc_type, "status", None)
    if not isinstance(status, int):
        return "failed"
    if status in INVALID_STATUSES:
        return "invalid"
    if status in REFUSED_STATUSES:
        return "refused"
    return "failed"


def agency_type_label(value) -> str:
    """An agency type as a label: the word itself (school, ppt, child_welfare, …), or
    ``other`` for anything that is no such word (never free text)."""
    text = str(value or "").strip().lower()
    return text if _LABEL_WORD.fullmatch(text) else "other"


def label_request(environ, agency_type) -> None:
    """What the gateway learnt about the caller, for the request's HTTP metrics."""
    environ[AGENCY_TYPE_ENVIRON] = agency_type_label(agency_type)


def observe_http(service: str, route: str | None, method: str, status: int, environ,
                 seconds: float, agency: str = "") -> None:
    if route in UNCOUNTED_ROUTES:
        return
    agency_type = environ.get(AGENCY_TYPE_ENVIRON, "none")
    HTTP_REQUESTS.labels(service=service, route=route or "unmatched",
                         method=method if method in _METHODS else "OTHER",
                         code=str(int(status)), agency_type=agency_type,
                         agency=agency).inc()
    HTTP_DURATION.labels(service=service, agency_type=agency_type,
                         agency=agency).observe(seconds)


def heartbeat(service: str, timer: str, interval: float | None = None,
              at: float | None = None) -> None:
    """Record a successful run of ``timer`` (and how often it is meant to run)."""
    TIMER_LAST_SUCCESS.labels(service=service, timer=timer).set(at or time.time())
    if interval is not None:
        TIMER_INTERVAL.labels(service=service, timer=timer).set(float(interval))


def observe_event_lag(service: str, handler: str, payload) -> None:
    """now − the envelope's ``occurred_at``, as the consumer gets the event."""
    try:
        occurred = parse_utc(payload["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return
    lag = (utcnow() - occurred).total_seconds()
    EVENT_LAG.labels(service=service, handler=handler).observe(max(0.0, lag))


class RedMetrics(DependencyProvider):
    """Counts and times every worker of the service it is declared on; timers' heartbeats."""

    def __init__(self):
        self._started: WeakKeyDictionary = WeakKeyDictionary()

    def start(self):
        service = self.container.service_name
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, Timer):  # its clock starts with the process
                heartbeat(service, entrypoint.method_name, entrypoint.interval)

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        labels = entrypoint_labels(worker_ctx)
        REQUESTS.labels(**labels).inc()
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            DURATION.labels(**labels).observe(time.perf_counter() - started)
        if exc_info is not None:
            ERRORS.labels(service=labels["service"], entrypoint=labels["entrypoint"],
                          kind=error_kind(exc_info[0]), error=exc_info[0].__name__).inc()
        elif labels["kind"] == "timer":
            heartbeat(labels["service"], labels["entrypoint"])


# -- gauges computed at scrape time -------------------------------------------------------

#: the services' business gauges (stafett.gauges.ScrapeGauges): after the cheap ones
_REFRESHERS: "weakref.WeakSet" = weakref.WeakSet()
_PLAIN_REFRESHERS: "weakref.WeakSet" = weakref.WeakSet()


def register_refresher(refresher, costly: bool = False) -> None:
    """``refresher.refresh()`` runs before every exposition; a ``costly`` one (a database
    query, rate-limited by the refresher itself) runs after the cheap ones."""
    (_REFRESHERS if costly else _PLAIN_REFRESHERS).add(refresher)


def unregister_refresher(refresher) -> None:
    _PLAIN_REFRESHERS.discard(refresher)
    _REFRESHERS.discard(refresher)


def refresh_all() -> None:
    for refresher in list(_PLAIN_REFRESHERS) + list(_REFRESHERS):
        try:
            refresher.refresh()
        except Exception:  # a scrape never fails for a gauge; the last value stays
            log.warning("metrics refresh failed", exc_info=True)


def exposition() -> tuple[bytes, str]:
    refresh_all()
    return generate_latest(), CONTENT_TYPE_LATEST
