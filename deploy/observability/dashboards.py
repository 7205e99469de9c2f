"""Stafett's Grafana dashboards, as code: each is defined here once and rendered to
``dashboards/<uid>.json`` by generate.py (Grafana's JSON model, schema 39). Provisioned in
Kubernetes as ConfigMaps labelled ``grafana_dashboard: "1"`` (kustomization.yaml), which the
Grafana sidecar loads. Every query names only metrics that the code, RabbitMQ's or
CloudNativePG's exporters or Prometheus export (tests/unit/test_observability.py).

``$__rate_interval`` is Grafana's; ``$datasource`` picks the Prometheus.
"""
from __future__ import annotations

RI = "$__rate_interval"
#: the components' databases (deploy/k8s/base/postgres.yaml)
DBS = 'datname=~"consent|logs|handover|notifications|gateway"'
DS = {"type": "prometheus", "uid": "${datasource}"}


class Board:
    def __init__(self, uid: str, title: str, description: str, variables=()):
        self.uid, self.title, self.description = uid, title, description
        self.variables = list(variables)
        self.panels: list[dict] = []
        self._y = 0
        self._x = 0
        self._row_height = 0

    def row(self, title: str) -> "Board":
        self._newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y}})
        self._y += 1
        return self

    def _newline(self):
        if self._x:
            self._y += self._row_height
            self._x, self._row_height = 0, 0

    def panel(self, kind: str, title: str, targets, unit: str = "short", width: int = 12,
              height: int = 8, description: str = "", **options) -> "Board":
        if self._x + width > 24:
            self._newline()
        targets = [t if isinstance(t, tuple) else (t, "") for t in targets]
        panel = {
            "type": kind, "title": title, "description": description, "datasource": DS,
            "gridPos": {"h": height, "w": width, "x": self._x, "y": self._y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": options or {},
            "targets": [{"refId": chr(ord("A") + i), "datasource": DS, "expr": expr,
                         "legendFormat": legend} for i, (expr, legend) in enumerate(targets)],
        }
        self.panels.append(panel)
        self._x += width
        self._row_height = max(self._row_height, height)
        return self

    def graph(self, title, *targets, **kwargs):
        return self.panel("timeseries", title, targets, **kwargs)

    def stat(self, title, *targets, **kwargs):
        kwargs.setdefault("width", 6)
        kwargs.setdefault("height", 5)
        return self.panel("stat", title, targets, **kwargs)

    def json(self) -> dict:
        for i, panel in enumerate(self.panels, start=1):
            panel["id"] = i
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": ["stafett"], "editable": False, "schemaVersion": 39, "version": 1,
            "timezone": "browser", "refresh": "30s", "graphTooltip": 1,
            "time": {"from": "now-6h", "to": "now"},
            "annotations": {"list": []},
            "links": [{"type": "dashboards", "tags": ["stafett"], "asDropdown": True,
                       "title": "Stafett"}],
            "templating": {"list": [{
                "type": "datasource", "name": "datasource", "label": "Prometheus",
                "query": "prometheus", "current": {}, "hide": 0}] + self.variables},
            "panels": self.panels,
        }


def query_variable(name: str, label: str, query: str, include_all: bool = False) -> dict:
    return {"type": "query", "name": name, "label": label, "datasource": DS,
            "query": {"query": query, "refId": f"{name}-variable"}, "definition": query,
            "refresh": 2, "includeAll": include_all, "multi": False, "current": {},
            "hide": 0, "sort": 1}


def rate(metric: str, selector: str = "") -> str:
    """``rate(metric{selector}[$__rate_interval])``."""
    return f"rate({metric}{{{selector}}}[{RI}])" if selector else f"rate({metric}[{RI}])"


def summed(metric: str, by: str = "", selector: str = "") -> str:
    """The per-second rate, summed (``by`` labels, if any)."""
    return f"sum by ({by}) ({rate(metric, selector)})" if by else f"sum({rate(metric, selector)})"


def quantile(q: float, histogram: str, by: str = "", selector: str = "") -> str:
    """The ``q`` quantile of a histogram's rate (``by`` labels, if any, besides ``le``)."""
    labels = f"{by}, le" if by else "le"
    return (f"histogram_quantile({q}, sum by ({labels}) "
            f"({rate(histogram + '_bucket', selector)}))")


def dashboard(uid: str, title: str, description: str, variables=()):
    """``@dashboard(...)`` over a function that fills the board it is given."""
    def wrap(fill):
        def make() -> Board:
            board = Board(uid, title, description, variables)
            fill(board)
            return board
        make.__name__ = fill.__name__
        return make
    return wrap


GW = 'service="gateway"'


@dashboard("stafett-overview", "Stafett / Platform overview",
           "SLOs, and rate, errors and duration of every component")
def overview(board: Board) -> None:
    board.row("SLOs: 99.5 % of the gateway's answers no 5xx, 99 % within 1 s (30 days)")
    board.stat("Availability, 30 days",
               (f'1 - (sum(increase(stafett_http_requests_total{{{GW},code=~"5.."}}[30d])) '
                f'/ sum(increase(stafett_http_requests_total{{{GW}}}[30d])))', ""),
               unit="percentunit", description="Share of the gateway's answers that were no "
               "server error. Objective 99.5 %.")
    board.stat("Within 1 s, 30 days",
               (f'sum(increase(stafett_http_request_duration_seconds_bucket'
                f'{{{GW},le="1.0"}}[30d])) '
                f'/ sum(increase(stafett_http_request_duration_seconds_count{{{GW}}}[30d]))', ""),
               unit="percentunit", description="Objective 99 %.")
    board.stat("Error budget burn (1h)", ("stafett:gateway_http_errors:ratio_rate1h / 0.005", ""),
               unit="x", description="1 spends the month's budget in exactly 30 days; the page "
               "fires at 14.4 (1h) and 6 (6h).")
    board.stat("Latency budget burn (1h)", ("stafett:gateway_http_slow:ratio_rate1h / 0.01", ""),
               unit="x")
    for budget, record, objective in (("Error", "errors", "0.005"), ("Latency", "slow", "0.01")):
        board.graph(f"{budget} budget burn by window",
                    *[(f"stafett:gateway_http_{record}:ratio_rate{window} / {objective}", window)
                      for window in ("5m", "1h", "6h", "1d")], unit="x")
    board.row("Gateway HTTP")
    board.graph("Answers by status",
                (summed("stafett_http_requests_total", "code", GW), "{{code}}"), unit="reqps")
    board.graph("Answers by caller's agency type",
                (summed("stafett_http_requests_total", "agency_type", GW), "{{agency_type}}"),
                unit="reqps")
    board.graph("Duration percentiles",
                *[(quantile(q, "stafett_http_request_duration_seconds", selector=GW),
                   f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)], unit="s")
    board.graph("Refused tokens by reason",
                (summed("stafett_auth_rejections_total", "reason"), "{{reason}}"), unit="reqps")
    board.row("Every component: rate, errors, duration (RED)")
    board.graph("Calls by component and kind",
                (summed("stafett_requests_total", "service, kind"), "{{service}} {{kind}}"),
                unit="ops")
    board.graph("Errors by component and kind (refused, invalid, failed)",
                (summed("stafett_request_errors_total", "service, kind"),
                 "{{service}} {{kind}}"), unit="ops")
    board.graph("Failed calls by entrypoint",
                (summed("stafett_request_errors_total", "service, entrypoint, error",
                        'kind="failed"'), "{{service}}.{{entrypoint}} {{error}}"), unit="ops")
    board.graph("p95 duration by component",
                (quantile(0.95, "stafett_request_duration_seconds", "service"), "{{service}}"),
                unit="s")
    slowest = quantile(0.95, "stafett_request_duration_seconds", "service, entrypoint")
    board.graph("Slowest entrypoints (p95)", (f"topk(10, {slowest})", "{{service}}.{{entrypoint}}"),
                unit="s")
    board.graph("Targets up by component",
                ('sum by (component) (up{job="stafett"})', "{{component}}"))


AGENCY = 'agency="$agency"'
TYPED = 'agency_type="$agency_type"'


@dashboard("stafett-agency", "Stafett / One agency",
           "One agency's own gateway (AGENCY_ORG_NUMBER), and its agency type on the "
           "shared gateway and in webhook deliveries",
           [query_variable("agency", "Agency gateway (org number)",
                           "label_values(stafett_http_requests_total, agency)"),
            query_variable("agency_type", "Agency type",
                           "label_values(stafett_http_requests_total, agency_type)")])
def agency(board: Board) -> None:
    requests = "stafett_http_requests_total"
    board.row("The agency's own gateway")
    board.graph("Requests by route", (summed(requests, "route", AGENCY), "{{route}}"),
                unit="reqps")
    board.graph("Answers by status", (summed(requests, "code", AGENCY), "{{code}}"),
                unit="reqps")
    errors = summed(requests, selector=AGENCY + ',code=~"5.."')
    board.graph("Error ratio (5xx)", (f"{errors} / {summed(requests, selector=AGENCY)}", "5xx"),
                unit="percentunit")
    board.graph("Rate-limit refusals (429)",
                (summed(requests, selector=AGENCY + ',code="429"'), "429"), unit="reqps")
    board.graph("Duration p95",
                (quantile(0.95, "stafett_http_request_duration_seconds", selector=AGENCY),
                 "p95"), unit="s")
    board.graph("Refusals (401, 403, 404)",
                (summed(requests, "code", AGENCY + ',code=~"401|403|404"'), "{{code}}"),
                unit="reqps")
    board.row("The agency type on the shared gateway, and its webhooks")
    board.graph("Requests by status",
                (summed(requests, "code", f'service="gateway",{TYPED}'), "{{code}}"),
                unit="reqps")
    board.graph("Rate-limit refusals (429)",
                (summed(requests, selector=f'service="gateway",{TYPED},code="429"'), "429"),
                unit="reqps")
    board.graph("Webhook delivery attempts by outcome",
                (summed("stafett_notifications_deliveries_total", "outcome",
                        f'channel="webhook",{TYPED}'), "{{outcome}}"), unit="ops")
    board.graph("Webhook pool full (bulkhead)",
                (summed("stafett_notifications_bulkhead_saturated_total", selector=TYPED),
                 "saturated rounds"), unit="ops")


WORK = 'queue!~".*\\\\.(dlq|retry)"'


@dashboard("stafett-messaging", "Stafett / Messaging",
           "The broker's queues, dead letters, the outboxes, event lag and consumers")
def messaging(board: Board) -> None:
    board.row("Queues (RabbitMQ, per queue)")
    for title, gauge in (("Ready messages by work queue", "messages_ready"),
                         ("Unacknowledged messages by work queue", "messages_unacked")):
        board.graph(title, (f"sum by (queue) (rabbitmq_detailed_queue_{gauge}{{{WORK}}})",
                            "{{queue}}"))
    board.graph("Dead letters waiting",
                ('sum by (queue) '
                 '(rabbitmq_detailed_queue_messages{queue=~".*\\\\.dlq"})', "{{queue}}"),
                description="stafett dlq list | show | replay (docs/operations.md)")
    board.graph("Consumers per work queue",
                (f"sum by (queue) (rabbitmq_detailed_queue_consumers{{{WORK}}})", "{{queue}}"))
    board.row("Events")
    board.graph("Outbox pending", ("max by (service) (stafett_outbox_pending)", "{{service}}"))
    board.graph("Events published and unrouted",
                *[(summed(f"stafett_events_{what}_total", "service"), f"{{{{service}}}} {what}")
                  for what in ("published", "unrouted")], unit="ops")
    board.graph("Event lag p95 by consumer",
                (quantile(0.95, "stafett_event_lag_seconds", "service, handler"),
                 "{{service}}.{{handler}}"), unit="s")
    board.graph("Retries and dead-lettered events",
                (summed("stafett_event_retries_total", "service, handler"),
                 "{{service}}.{{handler}} retried"),
                ("sum by (service, handler) (increase(stafett_dead_letters_total[1h]))",
                 "{{service}}.{{handler}} dead-lettered (1h)"))
    board.row("Timers and worker loops")
    board.graph("Seconds since last successful run",
                ("time() - max by (service, timer) (stafett_timer_last_success_timestamp_seconds)",
                 "{{service}}.{{timer}}"), unit="s")
    board.graph("Interval (the alert fires after three, at least 10 minutes)",
                ("max by (service, timer) (stafett_timer_interval_seconds)",
                 "{{service}}.{{timer}}"), unit="s")
    board.row("Broker")
    board.graph("Connections and channels", ("sum(rabbitmq_connections)", "connections"),
                ("sum(rabbitmq_channels)", "channels"))
    board.graph("Messages received, delivered, returned unroutable",
                *[(summed(f"rabbitmq_global_messages_{counter}_total"), legend)
                  for counter, legend in (("received", "received"), ("delivered", "delivered"),
                                          ("unroutable_returned", "unroutable"))],
                unit="ops")


@dashboard("stafett-data", "Stafett / Data",
           "Each component's database pool and query latency; PostgreSQL (CloudNativePG) "
           "and its PgBouncer pooler")
def data(board: Board) -> None:
    board.row("As the components see it")
    board.graph("Pool connections by state",
                ("sum by (service, state) (stafett_db_pool_connections)", "{{service}} {{state}}"))
    board.graph("Pool in use / size",
                ('sum by (service) (stafett_db_pool_connections{state="checked_out"}) '
                 "/ sum by (service) (stafett_db_pool_size)", "{{service}}"), unit="percentunit")
    for q in (0.95, 0.99):
        board.graph(f"Query p{int(q * 100)}",
                    (quantile(q, "stafett_db_query_duration_seconds", "service"), "{{service}}"),
                    unit="s")
    board.graph("Statements per second",
                (summed("stafett_db_query_duration_seconds_count", "service"), "{{service}}"),
                unit="ops")
    board.graph("Statements that raised",
                (summed("stafett_db_query_errors_total", "service"), "{{service}}"), unit="ops")
    board.row("PostgreSQL (CloudNativePG)")
    board.stat("Instances up", ("sum(cnpg_collector_up)", ""))
    board.stat("Replication lag", ("max(cnpg_pg_replication_lag)", ""), unit="s")
    board.stat("Backends waiting on locks", ("sum(cnpg_backends_waiting_total)", ""))
    board.stat("Deadlocks (1h)", ("sum(increase(cnpg_pg_stat_database_deadlocks[1h]))", ""))
    board.graph("Backends by database and state",
                (f'sum by (datname, state) (cnpg_backends_total{{{DBS}}})',
                 "{{datname}} {{state}}"))
    board.graph("Commits and rollbacks",
                *[(summed(f"cnpg_pg_stat_database_xact_{what}", "datname", DBS),
                   f"{{{{datname}}}} {legend}")
                  for what, legend in (("commit", "commit"), ("rollback", "rollback"))],
                unit="ops")
    board.graph("Database size", (f'max by (datname) (cnpg_pg_database_size_bytes{{{DBS}}})',
                                  "{{datname}}"), unit="bytes")
    board.graph("Longest open transaction",
                (f'max by (datname) (cnpg_backends_max_tx_duration_seconds{{{DBS}}})',
                 "{{datname}}"), unit="s")
    board.row("PgBouncer (the Pooler)")
    board.graph("Clients active and waiting",
                *[(f"sum by (database) (cnpg_pgbouncer_pools_cl_{state})",
                   f"{{{{database}}}} {state}") for state in ("active", "waiting")])
    board.graph("Longest client wait",
                ("max by (database) (cnpg_pgbouncer_pools_maxwait)", "{{database}}"), unit="s")
    board.graph("Server connections active and idle",
                *[(f"sum by (database) (cnpg_pgbouncer_pools_sv_{state})",
                   f"{{{{database}}}} {state}") for state in ("active", "idle")])


@dashboard("stafett-domain", "Stafett / Domain",
           "What the platform is for, counted and de-identified (no id, no name, no "
           "agency): computed by each owning service at scrape time")
def domain(board: Board) -> None:
    board.row("Logs (stafettlogg)")
    board.stat("Open logs", ("sum(max by (level) (stafett_logs_open))", ""))
    board.stat("Measures past evaluate-by", ("max(stafett_measures_past_evaluate_by)", ""))
    board.stat("Consents expiring within 30 days", ("max(stafett_consents_expiring_soon)", ""))
    board.stat("Handovers waiting", ("sum(max by (state) (stafett_handovers_waiting))", ""))
    board.graph("Open logs by BTI level", ("max by (level) (stafett_logs_open)", "level {{level}}"))
    board.graph("Evaluations in the last 30 days by colour",
                ("max by (colour) (stafett_evaluations_recent)", "{{colour}}"))
    board.graph("Measures past evaluate-by", ("max(stafett_measures_past_evaluate_by)", "measures"))
    board.graph("Handovers waiting by state",
                ("max by (state) (stafett_handovers_waiting)", "{{state}}"))
    board.row("Notifications")
    board.graph("Deliveries by state",
                ('max by (channel, state) '
                 '(stafett_notifications_deliveries_in_state{state!="delivered"})',
                 "{{channel}} {{state}}"))
    board.graph("Delivered per hour by channel",
                ('sum by (channel) '
                 '(increase(stafett_notifications_deliveries_total{outcome="delivered"}[1h]))',
                 "{{channel}}"))


BOARDS = (overview, agency, messaging, data, domain)


def rendered() -> dict[str, dict]:
    """``{file name: dashboard JSON}`` for every board."""
    boards = [make() for make in BOARDS]
    return {f"{board.uid}.json": board.json() for board in boards}
