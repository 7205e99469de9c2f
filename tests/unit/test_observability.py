"""Operations as code (deploy/observability): the alert rules pass promtool's checks and unit
tests with a test for every alert, the PrometheusRule and dashboards are what their sources
generate, every alert links its runbook, and every dashboard and rule query names only
metrics something really exports: the code (the prometheus-client registry after importing
every component), the rules' own recordings, Prometheus itself, and RabbitMQ's and
CloudNativePG's exporters (lists vendored from their documentation with their sources)."""
from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY

from stafett.run import COMPONENTS, service_class

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
RULES = OBSERVABILITY / "rules" / "stafett.rules.yml"
RULE_TESTS = OBSERVABILITY / "rules" / "tests" / "stafett.test.yml"
RUNBOOKS = ROOT / "docs" / "runbooks"
RUNBOOK_SECTIONS = ("## What it means", "## How to check", "## What to do")
#: Grafana's interval variables, which are no PromQL: a duration stands in for them
GRAFANA_INTERVALS = re.compile(r"\$\{?(__rate_interval|__interval|__range)\b\}?")
LABEL_VALUES = re.compile(r"^\s*label_values\((?P<selector>.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$")


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool missing: scripts/ensure-services.sh installs Debian's prometheus"
    return path


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]]


def alert_names() -> set[str]:
    return {rule["alert"] for rule in rules() if "alert" in rule}


# -- exported names ------------------------------------------------------------------------

def exported_by_code() -> set[str]:
    """Every sample name the components can export, samples or not yet."""
    for component in COMPONENTS:  # importing a component registers its metrics
        service_class(component)
    names = set()
    for family in REGISTRY.collect():
        base = family.name
        if family.type == "counter":
            names |= {base + "_total", base + "_created"}
        elif family.type == "histogram":
            names |= {base + "_bucket", base + "_count", base + "_sum", base + "_created"}
        elif family.type == "summary":
            names |= {base, base + "_count", base + "_sum", base + "_created"}
        elif family.type == "info":
            names.add(base + "_info")
        else:
            names.add(base)
        names |= {sample.name for sample in family.samples}
    return names


def vendored(name: str) -> set[str]:
    lines = (OBSERVABILITY / "exporters" / name).read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def recorded() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


@functools.cache
def known_names() -> set[str]:
    return (exported_by_code() | recorded() | vendored("prometheus.txt")
            | vendored("rabbitmq.txt") | vendored("cloudnative-pg.txt"))


def metric_names(query: str) -> set[str]:
    """The metric names a PromQL query selects (parsed, not pattern-matched)."""
    expr = promql_parser.parse(GRAFANA_INTERVALS.sub("5m", query))
    names: set[str] = set()

    def walk(node):
        kind = type(node).__name__
        if kind == "VectorSelector":
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    names.add(matcher.value)
            assert node.name or names, f"a selector with no metric name in {query!r}"
        elif kind == "MatrixSelector":
            walk(node.vector_selector)
        elif kind == "BinaryExpr":
            walk(node.lhs)
            walk(node.rhs)
        elif kind == "Call":
            for arg in node.args:
                walk(arg)
        elif kind in ("AggregateExpr", "ParenExpr", "UnaryExpr", "SubqueryExpr"):
            walk(node.expr)
            if kind == "AggregateExpr" and node.param is not None:
                walk(node.param)
        elif kind not in ("NumberLiteral", "StringLiteral"):
            raise AssertionError(f"unexpected {kind} in {query!r}")

    walk(expr)
    return names


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard, where, PromQL) for every panel target and query variable."""
    found = []
    for path in sorted((OBSERVABILITY / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())

        def panels(items):
            for panel in items:
                yield panel
                yield from panels(panel.get("panels", []))

        for panel in panels(board["panels"]):
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                query = variable["query"]["query"]
                match = LABEL_VALUES.match(query)
                found.append((path.name, f"variable {variable['name']}",
                              match.group("selector") if match else query))
    return found


def test_metric_names_are_parsed_from_queries():
    assert metric_names('sum by (le) (rate(a_bucket{x="1"}[$__rate_interval])) / on() b') == \
        {"a_bucket", "b"}
    assert metric_names('max_over_time(c[5m:1m]) > bool 1 unless {__name__="d"}') \
        == {"c", "d"}
    with pytest.raises(Exception):
        metric_names("sum(rate(x[5m])")


def test_every_dashboard_query_names_only_exported_metrics():
    known = known_names()
    queries = dashboard_queries()
    assert {board for board, _, _ in queries} == {
        "stafett-overview.json", "stafett-agency.json", "stafett-messaging.json",
        "stafett-data.json", "stafett-domain.json"}
    unknown = [(board, where, name) for board, where, query in queries
               for name in metric_names(query) if name not in known]
    assert unknown == []


def test_every_rule_names_only_exported_metrics():
    known = known_names()
    unknown = [(rule.get("alert") or rule["record"], name) for rule in rules()
               for name in metric_names(rule["expr"]) if name not in known]
    assert unknown == []


def test_the_check_knows_a_name_nobody_exports():
    assert "stafett_http_requests_total" in known_names()
    assert "stafett_http_request_total" not in known_names()


def test_generated_files_are_current():
    result = subprocess.run([sys.executable, str(OBSERVABILITY / "generate.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_prometheus_rule_holds_exactly_the_rules_file():
    resource = yaml.safe_load((OBSERVABILITY / "prometheusrule.yaml").read_text())
    assert resource["kind"] == "PrometheusRule"
    assert resource["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_dashboards_are_provisioned_through_the_grafana_sidecar_label():
    kustomization = yaml.safe_load((OBSERVABILITY / "kustomization.yaml").read_text())
    generated = {entry["name"]: entry for entry in kustomization["configMapGenerator"]}
    boards = {path.name for path in (OBSERVABILITY / "dashboards").glob("*.json")}
    provisioned = set()
    for entry in generated.values():
        assert entry["options"]["labels"] == {"grafana_dashboard": "1"}
        provisioned |= {Path(f).name for f in entry["files"]}
    assert provisioned == boards


def test_promtool_checks_the_rules():
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass_with_a_firing_case_for_every_alert():
    tested = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for expectation in case.get("alert_rule_test", []):
            if expectation.get("exp_alerts"):
                tested.add(expectation["alertname"])
    assert tested == alert_names()
    result = subprocess.run([promtool(), "test", "rules", str(RULE_TESTS)],
                            capture_output=True, text=True, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_links_a_runbook_that_says_what_to_do():
    for rule in rules():
        if "alert" not in rule:
            continue
        assert rule["annotations"]["runbook_url"] == f"docs/runbooks/{rule['alert']}.md"
        assert rule["labels"]["severity"] in ("page", "ticket")
        text = (ROOT / rule["annotations"]["runbook_url"]).read_text()
        assert text.startswith(f"# {rule['alert']}\n"), rule["alert"]
        for section in RUNBOOK_SECTIONS:
            assert section in text, (rule["alert"], section)
    assert {p.stem for p in RUNBOOKS.glob("Stafett*.md")} == alert_names()


def test_every_component_the_broker_and_the_database_are_monitored():
    documents = list(yaml.safe_load_all((OBSERVABILITY / "monitors.yaml").read_text()))
    monitors = {d["metadata"]["name"]: d for d in documents}
    for component in COMPONENTS:
        spec = monitors[f"stafett-{component}"]["spec"]
        assert monitors[f"stafett-{component}"]["kind"] == "ServiceMonitor"
        assert spec["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": "stafett", "app.kubernetes.io/component": component,
            "stafett.no/metrics": "true"}
        (endpoint,) = spec["endpoints"]
        assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
        labels = {r["targetLabel"]: r.get("replacement") for r in endpoint["relabelings"]}
        assert labels["job"] == "stafett" and labels["component"] == component
    rabbitmq = monitors["stafett-rabbitmq"]["spec"]["endpoints"]
    assert {e["path"] for e in rabbitmq} == {"/metrics", "/metrics/detailed"}
    detailed = next(e for e in rabbitmq if e["path"] == "/metrics/detailed")
    assert detailed["params"]["family"] == ["queue_coarse_metrics", "queue_consumer_count"]
    assert monitors["stafett-postgres"]["kind"] == "PodMonitor"
    assert monitors["stafett-postgres"]["spec"]["selector"]["matchLabels"][
        "cnpg.io/cluster"] == "stafett-postgres"
    assert monitors["stafett-pooler"]["kind"] == "PodMonitor"
    for overlay in ("dev", "production"):
        kustomization = yaml.safe_load(
            (ROOT / "deploy" / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text())
        assert "../../../observability" in kustomization["components"]
