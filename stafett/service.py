"""What every Stafett component has: probes, metrics, call-id logging, the actor.

A service class inherits ``ServiceBase`` and declares its own ``name``; a domain service
(consent, logs, handover, notifications) inherits ``DomainService``, which adds its
database and its access log's endpoints, and declares its own gauges and outbox. nameko
discovers inherited entrypoints and dependencies, so /healthz, /readyz and /metrics are
written once here.

Readiness is read from what the process already holds, so a probe costs the broker and
the database nothing: the connections of the container's own queue consumers (RPC,
events, RPC replies), and a connection from the database pool. ``/metrics`` is served on a
listener of its own when ``METRICS_ADDRESS`` is set (in Kubernetes: a port the public
Service and Ingress do not expose); the component's own port then answers 404 for it.
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import eventlet
from eventlet import wsgi
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.web.server import parse_address
from werkzeug.wrappers import Request, Response

from stafett import broker, errors, metrics, resilience  # noqa: F401  (installs)
from stafett.access_review import AccessLogEndpoints
from stafett.actor import CurrentActor
from stafett.background import Background
from stafett.db import Database
from stafett.events import Outbox
from stafett.logging import CallIdLogging
from stafett.request_keys import RequestKey
from stafett.transparency import AuditEndpoints
from stafett.web import SECURITY_HEADERS, http, problem_response

#: seconds a readiness check may wait for a pooled database connection
PROBE_TIMEOUT = 2


def _follow_connection(consumer: QueueConsumer) -> None:
    """Remember the live connection of a nameko queue consumer while it consumes.

    kombu's ConsumerMixin enters ``extra_context(connection, channel)`` around each
    consuming session, after (re)connecting, and leaves it when the connection is lost;
    wrapping it gives the probe the consumer's own connection without opening another.
    Why the connection was lost or refused is kept for the probe to say.
    """
    if getattr(consumer, "_stafett_followed", False):
        return
    original, on_error, consume = (consumer.extra_context, consumer.on_connection_error,
                                   consumer.consume)

    @contextmanager
    def extra_context(connection, channel):
        consumer._stafett_connection, consumer._stafett_error = connection, None
        try:
            with original(connection, channel):
                yield
        finally:
            consumer._stafett_connection = None

    def on_connection_error(exc, interval):  # a (re)connection kombu will retry
        consumer._stafett_error = exc
        return on_error(exc, interval)

    def consuming(*args, **kwargs):  # a lost connection, or one the broker refused
        try:
            yield from consume(*args, **kwargs)
        except Exception as exc:
            consumer._stafett_error = exc
            raise

    consumer._stafett_connection = consumer._stafett_error = None
    consumer.extra_context = extra_context
    consumer.on_connection_error = on_connection_error
    consumer.consume = consuming
    consumer._stafett_followed = True


def consumer_state(consumer: QueueConsumer) -> str:
    """"ok" while the consumer's thread runs on a connected connection; else what is wrong
    (and why the last attempt to connect failed, if one did)."""
    thread = consumer._gt
    if thread is None or thread.dead:
        return "consumer not running"
    connection = getattr(consumer, "_stafett_connection", None)
    if connection is None or not connection.connected:
        error = getattr(consumer, "_stafett_error", None)
        refused = broker.tls_refusal(error)
        if refused is not None:  # not a fault that waiting repairs: say what to check
            return f"unreachable: TLS certificate refused ({refused.verify_message})"
        return f"disconnected: {type(error).__name__}" if error is not None else "disconnected"
    return "ok"


def refresh_gauges(container) -> None:
    """Gauges read at scrape time (the outbox's backlog)."""
    for dependency in container.dependencies:
        if isinstance(dependency, Outbox):
            try:
                pending = dependency.pending_count()
            except Exception:  # database down: /readyz says so; keep the last value
                continue
            metrics.OUTBOX_PENDING.labels(service=container.service_name).set(pending)


class Probes(DependencyProvider):
    """Checks the container's own dependencies: its database and the broker."""

    def setup(self):
        self.consumers = [extension for extension in self.container.extensions
                          if isinstance(extension, QueueConsumer)]
        for consumer in self.consumers:
            _follow_connection(consumer)

    def get_dependency(self, worker_ctx):
        return self

    def broker(self) -> str:
        states = {consumer_state(consumer) for consumer in self.consumers} - {"ok"}
        return ", ".join(sorted(states)) if states else "ok"

    def check(self) -> dict:
        checks = {"broker": self.broker()}
        for dependency in self.container.dependencies:
            if isinstance(dependency, Database):
                try:
                    with eventlet.Timeout(PROBE_TIMEOUT):
                        dependency.ping()
                    checks["database"] = "ok"
                except eventlet.Timeout:
                    checks["database"] = "unreachable: timeout"
                except Exception as exc:  # the probe reports, it does not raise
                    checks["database"] = f"unreachable: {type(exc).__name__}"
        return checks

    def refresh_gauges(self) -> None:
        refresh_gauges(self.container)


class MetricsServer(Background):
    """``/metrics`` on its own listener, ``METRICS_ADDRESS`` (``host:port``), if set."""

    def setup(self):
        address = str(self.container.config.get("METRICS_ADDRESS") or "").strip()
        self.address = parse_address(address) if address else None
        self._socket = None

    def start(self):
        if self.address is None:
            return
        self._socket = eventlet.listen(tuple(self.address))
        self.start_background(self._serve, "metrics server")

    def stop(self):
        super().stop()
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @property
    def port(self) -> int | None:
        return self._socket.getsockname()[1] if self._socket is not None else None

    def get_dependency(self, worker_ctx):
        return self

    def _serve(self):
        wsgi.server(self._socket, self._application, log_output=False, socket_timeout=10)

    def _application(self, environ, start_response):
        request = Request(environ, shallow=True)
        if request.path != "/metrics":
            response = problem_response(errors.NotFound("no such resource"))
        elif request.method not in ("GET", "HEAD"):
            response = problem_response(
                errors.MethodNotAllowed("this resource does not take that method"),
                {"Allow": "GET, HEAD"})
        else:
            refresh_gauges(self.container)
            body, content_type = metrics.exposition()
            response = Response(body, content_type=content_type)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response(environ, start_response)


def json_response(payload, status: int = 200, headers: dict | None = None,
                  content_type: str = "application/json") -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status,
                    headers=headers, content_type=content_type)


class ServiceBase:
    config = Config()
    metrics = metrics.RedMetrics()
    call_id_logging = CallIdLogging()
    actor = CurrentActor()
    probes = Probes()
    rpc_exchange_check = broker.RpcExchange()
    metrics_server = MetricsServer()
    request_key = RequestKey()  # stafett.request_keys: @once entrypoints

    @http("GET", "/healthz")
    def healthz(self, request):
        return json_response({"status": "ok", "service": self.name})

    @http("GET", "/readyz")
    def readyz(self, request):
        checks = self.probes.check()
        ready = all(v == "ok" for k, v in checks.items() if k in ("broker", "database"))
        return json_response({"status": "ready" if ready else "not ready", "checks": checks},
                             status=200 if ready else 503)

    @http("GET", "/metrics")
    def prometheus(self, request):
        if self.metrics_server.address is not None:
            # served on the metrics port only: here it answers like any unknown path
            return problem_response(errors.NotFound("no such resource"))
        self.probes.refresh_gauges()
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)


class DomainService(AccessLogEndpoints, AuditEndpoints, ServiceBase):
    """A service that owns a database (``db``: its migrations beside the service's module)
    and keeps an access log, served as a transparency log (``AuditEndpoints``) and reviewed
    by the family and the agency auditor (``AccessLogEndpoints``, docs/audit.md)."""

    db = Database()
