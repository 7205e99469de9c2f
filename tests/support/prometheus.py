"""A real Prometheus (Debian's package) for tests: its own port and data directory on
loopback, short scrape and evaluation intervals, the platform's rules with short ``for:``."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import requests
import yaml

from stafett.dev.stack import stop_processes
from tests.support.platform import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "observability" / "rules" / "stafett.rules.yml"


def rules_with_short_for(rules_text: str, hold: str = "2s") -> dict:
    """The real rules, unchanged but for every alert's ``for:``, which becomes ``hold``:
    the expressions, labels and annotations under test are the ones that ship."""
    document = yaml.safe_load(rules_text)
    for group in document["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = hold
    return document


class Prometheus:
    # 2 s, not 1 s: the scrape timeout equals the interval, and a loaded CI runner can take
    # over a second to answer a scrape (a target then shows "down" with a timeout error)
    def __init__(self, tmp_path: Path, targets: dict[str, str], interval: str = "2s"):
        binary = shutil.which("prometheus")
        assert binary, "prometheus missing: scripts/ensure-services.sh installs Debian's"
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tmp_path / "prometheus"
        self.dir.mkdir()
        rules = self.dir / "rules.yml"
        rules.write_text(yaml.safe_dump(rules_with_short_for(RULES.read_text())))
        config = {
            "global": {"scrape_interval": interval, "scrape_timeout": interval,
                       "evaluation_interval": interval},
            "rule_files": [str(rules)],
            "scrape_configs": [{
                "job_name": "stafett",
                "static_configs": [{"targets": [address], "labels": {"component": component}}
                                   for component, address in targets.items()],
            }],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.process = None

    def start(self, timeout: float = 30) -> "Prometheus":
        self.log = open(self.dir / "prometheus.log", "wb")
        self.process = subprocess.Popen(
            [self.binary, f"--config.file={self.dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.dir / 'data'}", "--storage.tsdb.retention.time=1h",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._ready, timeout=timeout, interval=0.2, message="Prometheus ready")
        return self

    def _ready(self) -> bool:
        assert self.process.poll() is None, (self.dir / "prometheus.log").read_text()
        try:
            return requests.get(self.url + "/-/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        stop_processes([self.process])
        if getattr(self, "log", None):
            self.log.close()

    def api(self, path: str, **params) -> dict:
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def alerts(self, name: str) -> list[dict]:
        """Pending and firing alerts of that name (inactive ones are not listed)."""
        return [a for a in self.api("alerts")["alerts"] if a["labels"]["alertname"] == name]

    def targets_up(self) -> dict[str, str]:
        return {t["labels"]["component"]: t["health"]
                for t in self.api("targets")["activeTargets"]}

    def target_errors(self) -> dict[str, str]:
        """Each target's health and last scrape error: what a failing wait reports."""
        return {t["labels"]["component"]: f'{t["health"]}: {t.get("lastError") or "-"}'
                for t in self.api("targets")["activeTargets"]}

    def query(self, expr: str) -> list:
        return self.api("query", query=expr, time=str(time.time()))["result"]
