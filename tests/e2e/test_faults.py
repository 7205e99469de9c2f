"""The short fault run (issue 14): `make faults`' workload and checker against one replica of
every component, each its own process, HAProxy between them and the broker, under three
faults: kill -9 of logs, logs paused past the RPC timeout, TCP connections to the broker
cut. Nothing acknowledged is lost and nothing is done twice; and with ``@once`` taken off
``add_measure`` the same run finds the duplicates."""
import urllib.parse

import pytest

from stafett.dev.cluster import Components, Haproxy, drop_databases, fresh_databases
from stafett.dev.faults import Faults, run_fault, running, table
from tests.support.platform import free_port

SHORT = ("kill9:logs-1", "sigstop:logs-1", "tcp-reset")
OPS = 24


class SmallPlatform:
    """What ``Faults`` needs of ``stafett.dev.cluster.Platform``, on this test's vhost of the
    shared broker (one node: no broker faults here)."""

    def __init__(self, amqp_uri, folder, module, label):
        parts = urllib.parse.urlsplit(str(amqp_uri))
        self.folder = folder
        self.broker_port, http_port = free_port(), free_port()
        self.database_urls = fresh_databases(f"stafett_faults_{label}",
                                             ("consent", "logs", "handover", "notifications",
                                              "gateway"))
        proxied = urllib.parse.urlunsplit(parts._replace(
            netloc=f"guest:guest@127.0.0.1:{self.broker_port}"))
        uris = {c: proxied for c in self.database_urls}
        self.components = Components(
            folder, uris, self.database_urls, base_port=0, replicas=1, module=module,
            pick_port=free_port, smtp_port=free_port(),
            extra_env={"QUORUM_QUEUES": "false", "LOG_LEVEL": "WARNING",
                       "RATE_LIMIT_PER_MINUTE": "100000", "RATE_LIMIT_BURST": "10000"})
        self.haproxy = Haproxy(folder, http_port, self.components.gateway_ports(),
                               self.broker_port, [parts.port or 5672])
        self.url = f"http://127.0.0.1:{http_port}"
        self.admin_uri = str(amqp_uri)

    def start(self):
        from nameko.standalone.rpc import ClusterRpcProxy

        from stafett.actor import SYSTEM_ACTOR
        from stafett.dev.demo import seed as seed_demo
        from stafett.dev.issuer import dev_issuer_url, ensure_dev_keys

        ensure_dev_keys(self.folder)
        self.haproxy.start()
        self.components.start(timeout=120)
        # the demo's persons and agencies (not its stories)
        with ClusterRpcProxy({"AMQP_URI": self.admin_uri}, timeout=30, context_data={
                "actor": SYSTEM_ACTOR.to_context()}) as proxy:
            seed_demo(proxy, dev_issuer_url)

    def stop(self):
        try:
            self.components.stop()
            self.haproxy.stop()
        finally:
            drop_databases(self.database_urls)


def short_run(amqp_uri, tmp_path, module, label):
    platform = SmallPlatform(amqp_uri, tmp_path, module, label)
    try:
        with running(platform) as target:
            faults = Faults(platform, rpc_timeout=5)
            rows = [run_fault(platform, faults, target, name, OPS, concurrency=3,
                              op_deadline=60, settle=30, say=lambda *_: None)
                    for name in SHORT]
        print(table(rows))
        return rows
    finally:
        processes = list(platform.components.supervisor.processes.values()) \
            if platform.components.supervisor else []
        assert all(p.poll() is not None for p in processes)  # nothing left running


@pytest.mark.timeout(300)
def test_three_faults_lose_nothing_and_do_nothing_twice(amqp_uri, tmp_path):
    rows = short_run(amqp_uri, tmp_path, "stafett.run", "on")
    for row in rows:
        check = row.check
        assert check.acked >= OPS and check.never_acked == 0, (row.fault, row.cells())
        assert (check.lost, check.dup_effects, check.dup_notifications) == (0, 0, 0), \
            (row.fault, row.cells())
        assert check.stuck() == [], (row.fault, row.cells())
    # the faults did hit: kill -9 and the pause made clients retry
    assert rows[1].errors["503"] > 0, rows[1].cells()


@pytest.mark.timeout(300)
def test_without_once_the_fault_run_finds_duplicates(amqp_uri, tmp_path):
    rows = short_run(amqp_uri, tmp_path, "tests.support.without_once", "off")
    assert sum(row.check.dup_effects for row in rows) > 0, [row.cells() for row in rows]
    assert all(row.check.lost == 0 for row in rows), [row.cells() for row in rows]
