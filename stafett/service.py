"""What every Stafett component has: probes, metrics, call-id logging, the actor.

A service class inherits ``ServiceBase`` and declares its own ``name``, ``db`` and
``events``. nameko discovers inherited entrypoints and dependencies, so /healthz,
/readyz and /metrics are written once here.
"""
from __future__ import annotations

import json

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from stafett import broker, metrics
from stafett.actor import CurrentActor
from stafett.db import Database
from stafett.events import Outbox
from stafett.logging import CallIdLogging
from stafett.web import http


class Probes(DependencyProvider):
    """Checks the container's own dependencies: its database and the broker."""

    def get_dependency(self, worker_ctx):
        return self

    def check(self) -> dict:
        checks = {}
        try:
            with broker.connection(self.container.config, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:  # the probe reports, it does not raise
            refused = broker.tls_refusal(exc)
            checks["broker"] = (f"unreachable: {type(exc).__name__}" if refused is None else
                                f"unreachable: TLS certificate refused ({refused.verify_message})")
        for dependency in self.container.dependencies:
            if isinstance(dependency, Database):
                try:
                    dependency.ping()
                    checks["database"] = "ok"
                except Exception as exc:
                    checks["database"] = f"unreachable: {type(exc).__name__}"
        return checks

    def refresh_gauges(self) -> None:
        for dependency in self.container.dependencies:
            if isinstance(dependency, Outbox):
                try:
                    pending = dependency.pending_count()
                except Exception:  # database down: /readyz says so; keep the last value
                    continue
                metrics.OUTBOX_PENDING.labels(service=self.container.service_name).set(pending)


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
        self.probes.refresh_gauges()
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)
