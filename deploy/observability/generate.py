"""Render what deploy/observability derives from its sources (one source each):

- ``prometheusrule.yaml``: the PrometheusRule (Prometheus Operator) holding exactly the groups
  of ``rules/stafett.rules.yml``, the plain rules file that promtool checks and tests;
- ``dashboards/<uid>.json``: the Grafana dashboards defined in ``dashboards.py``.

    python deploy/observability/generate.py          # write
    python deploy/observability/generate.py --check  # exit 1 if the file is out of date

tests/unit/test_observability.py runs the check.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dashboards  # noqa: E402

RULES = HERE / "rules" / "stafett.rules.yml"
PROMETHEUS_RULE = HERE / "prometheusrule.yaml"
DASHBOARDS = HERE / "dashboards"

HEADER = """\
# GENERATED from rules/stafett.rules.yml by deploy/observability/generate.py: edit the rules
# file and run the script (a test keeps the two equal). The Prometheus Operator loads this
# PrometheusRule when its ruleSelector matches these labels (docs/operations.md).
"""


class _Dumper(yaml.SafeDumper):
    pass


def _string(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def prometheus_rule(rules_text: str) -> str:
    groups = yaml.safe_load(rules_text)["groups"]
    document = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "stafett", "labels": {"app.kubernetes.io/name": "stafett",
                                                   "app.kubernetes.io/component": "alerts",
                                                   "role": "alert-rules"}},
        "spec": {"groups": groups},
    }
    return HEADER + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=100,
                              allow_unicode=True)


def outputs() -> dict[Path, str]:
    """Every generated file and its content."""
    files = {PROMETHEUS_RULE: prometheus_rule(RULES.read_text(encoding="utf-8"))}
    for name, board in dashboards.rendered().items():
        files[DASHBOARDS / name] = json.dumps(board, indent=2, ensure_ascii=False) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = outputs()
    if "--check" in argv:
        stale = [path for path, text in files.items()
                 if not path.exists() or path.read_text(encoding="utf-8") != text]
        stale += [path for path in DASHBOARDS.glob("*.json") if path not in files]
        for path in stale:
            print(f"{path} is out of date: run {Path(__file__).name}", file=sys.stderr)
        return 1 if stale else 0
    DASHBOARDS.mkdir(exist_ok=True)
    for path in DASHBOARDS.glob("*.json"):
        if path not in files:
            path.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
