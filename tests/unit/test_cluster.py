"""make cluster's configuration (stafett/dev/cluster.py): its broker nodes are its own and
can never reach the main node; everything listens on loopback."""
from pathlib import Path

from stafett.dev.cluster import Components, Haproxy, RabbitCluster


def test_the_nodes_have_their_own_names_ports_data_and_cookie(tmp_path):
    cluster = RabbitCluster(tmp_path)
    names = [node.node for node in cluster.nodes]
    assert names == ["rabbit-c1@localhost", "rabbit-c2@localhost", "rabbit-c3@localhost"]
    ports = {p for n in cluster.nodes for p in (n.amqp_port, n.dist_port, n.management_port)}
    assert len(ports) == 9 and not ports & {5672, 15672, 25672, 4369}
    for node in cluster.nodes:
        env = node.env()
        # its own cookie (HOME), so rabbitmqctl from here cannot talk to the main node
        assert env["HOME"] == str(tmp_path) and env["RABBITMQ_NODENAME"] == node.node
        for key in ("RABBITMQ_CONF_ENV_FILE", "RABBITMQ_CONFIG_FILE",
                    "RABBITMQ_ENABLED_PLUGINS_FILE", "RABBITMQ_MNESIA_BASE",
                    "RABBITMQ_LOG_BASE"):
            assert Path(env[key]).is_relative_to(tmp_path / node.name), key
        node.write_config()
        config = (node.dir / "rabbitmq.conf").read_text()
        assert f"listeners.tcp.local = 127.0.0.1:{node.amqp_port}" in config
        assert "management.tcp.ip = 127.0.0.1" in config


def test_haproxy_listens_on_loopback_and_balances_the_replicas(tmp_path):
    proxy = Haproxy(tmp_path, 8180, [8199, 8200], 5680, [5681, 5682, 5683])
    config = proxy.config()
    binds = [line.split()[1] for line in config.splitlines() if line.strip().startswith("bind")]
    assert binds == ["127.0.0.1:8180", "127.0.0.1:5680"]
    assert config.count("server gw") == 2 and config.count("server rabbit") == 3
    # a POST that reached one gateway is not sent again to the other by HAProxy
    assert "retry-on conn-failure\n" in config


def test_two_replicas_of_everything_each_with_its_port_and_database(tmp_path):
    components = Components(tmp_path, {c: f"amqp://{c}" for c in
                                       ("consent", "logs", "handover", "notifications",
                                        "gateway")},
                            {c: f"postgresql://db/{c}" for c in
                             ("consent", "logs", "handover", "notifications", "gateway")},
                            base_port=8191)
    names = [r.name for r in components.list]
    assert len(names) == 10 and "logs-2" in names and "gateway-1" in names
    assert len({r.port for r in components.list}) == 10
    env = components.env(components.replica("logs-2"))
    assert env["LOGS_HTTP"] == f"127.0.0.1:{components.replica('logs-2').port}"
    assert env["LOGS_DATABASE_URL"] == "postgresql://db/logs"
    assert env["AMQP_URI"] == "amqp://logs" and env["QUORUM_QUEUES"] == "true"
    assert components.gateway_ports() == [8199, 8200]


def test_the_fault_workload_is_bounded_and_goes_on_past_the_heal():
    """make faults' workload: ``ops`` operations; more while the fault lasts (at most 20 ×
    ops in all), and a fifth of ``ops`` at least after the heal, to see the recovery."""
    from stafett.dev.faults import Workload

    def taken(workload):
        n = 0
        while workload._take() is not None:
            n += 1
        return n

    healed_early = Workload("http://x", "t", "log", "p", "l", ops=10)
    healed_early.heal()
    assert taken(healed_early) == 10
    long_fault = Workload("http://x", "t", "log", "p", "l", ops=10)
    assert taken(long_fault) == 200  # never healed: the cap
    healed_late = Workload("http://x", "t", "log", "p", "l", ops=10)
    for _ in range(37):
        healed_late._take()
    healed_late.heal()
    assert taken(healed_late) == 2  # a fifth of ops after the heal


def test_recovery_is_counted_from_the_heal_and_the_gap_from_the_injection():
    from stafett.dev.faults import longest_gap

    acks = [1.0, 2.0, 40.0, 41.0, 45.0]
    assert longest_gap(0.0, acks) == 38.0   # injected at 0: the outage included
    assert longest_gap(39.0, acks) == 4.0   # healed at 39: acks came back within 1 s
    assert longest_gap(50.0, acks) == float("inf")  # none after: never recovered
