"""``make cluster``: the platform as it runs in production, on this machine's loopback.

- a three-node RabbitMQ cluster (``rabbit-c1@localhost`` … ``rabbit-c3@localhost``), each
  node with its own ports, its own data under ``var/cluster/<node>/``, its own
  ``RABBITMQ_CONF_ENV_FILE`` and its own Erlang cookie (``HOME=var/cluster``): nothing here
  can reach the main node on 5672, whose cookie it does not have;
- HAProxy (Debian's ``haproxy``) in front of the brokers (AMQP, ``BROKER_PORT``) and of the
  gateways (HTTP, ``HTTP_PORT``), as a Kubernetes Service would be;
- fresh PostgreSQL databases ``stafett_cluster_<component>`` on 127.0.0.1:5432;
- two replicas of every service and two gateways (``python -m stafett.run <component>``,
  configured through the environment, ``max_workers`` low), kept running by ``make run``'s
  ``Supervisor``; the demo seeded.

Ctrl-C (or SIGTERM) stops every process it started: the components, HAProxy, and each
broker node with a SIGTERM (a clean stop, as ``rabbitmqctl stop``). ``make faults`` (``stafett/dev/faults.py``)
uses the same classes. Quorum queues are on (``QUORUM_QUEUES=true``).
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402

from stafett import broker  # noqa: E402
from stafett.config import ROOT  # noqa: E402
from stafett.dev.stack import Supervisor, stop_processes  # noqa: E402

CLUSTER_DIR = ROOT / "var" / "cluster"
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
SERVICES = ("consent", "logs", "handover", "notifications")
POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate, timeout: float, what: str, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:g} s")


# -- RabbitMQ ---------------------------------------------------------------------------------

@dataclass
class RabbitNode:
    name: str           # rabbit-c1
    amqp_port: int
    dist_port: int
    management_port: int
    home: Path          # the cluster's HOME: its Erlang cookie
    process: subprocess.Popen | None = None

    @property
    def node(self) -> str:
        return f"{self.name}@localhost"

    @property
    def dir(self) -> Path:
        return self.home / self.name

    def env(self) -> dict:
        d = self.dir
        return dict(
            os.environ, HOME=str(self.home), RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.amqp_port),
            RABBITMQ_DIST_PORT=str(self.dist_port), RABBITMQ_CONF_ENV_FILE=str(d / "env.conf"),
            RABBITMQ_CONFIG_FILE=str(d / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(d / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(d / "mnesia"), RABBITMQ_LOG_BASE=str(d / "log"),
            RABBITMQ_PID_FILE=str(d / "pid"), ERL_EPMD_ADDRESS="127.0.0.1",
            # one scheduler: the machine is small and shared
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=(
                "-kernel inet_dist_use_interface {127,0,0,1} +S 1:1 +SDio 1"),
            RABBITMQ_USE_LONGNAME="false")

    def write_config(self) -> None:
        d = self.dir
        (d / "log").mkdir(parents=True, exist_ok=True)
        (d / "mnesia").mkdir(parents=True, exist_ok=True)
        (d / "env.conf").write_text("# the cluster's own: nothing from /etc/rabbitmq\n")
        (d / "advanced.config").write_text("[].\n")
        (d / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (d / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n"
            "loopback_users = none\nlog.file.level = warning\n"
            "vm_memory_high_watermark.absolute = 512MiB\n")

    def ctl(self, *args, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
                              env=self.env(), capture_output=True, text=True, timeout=timeout,
                              check=check)

    def start(self) -> None:
        self.write_config()
        log = open(self.dir / "log" / "server.out", "ab")
        self.process = subprocess.Popen([str(RABBIT_BIN / "rabbitmq-server")], env=self.env(),
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def await_startup(self, timeout: float = 180) -> None:
        """Its AMQP port first (polled cheaply: each ``rabbitmqctl`` boots an Erlang VM, some
        seconds on a busy machine), then ``rabbitmqctl await_startup``."""
        def up(ask):
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.node} exited (see {self.dir}/log)")
            return ask()
        deadline = time.monotonic() + timeout
        wait_until(lambda: up(lambda: port_open(self.amqp_port)), timeout,
                   f"{self.node} to listen", interval=0.2)

        def started() -> bool:
            try:
                return self.ctl("await_startup", "--timeout", "5", timeout=60,
                                check=False).returncode == 0
            except subprocess.TimeoutExpired:  # a busy machine: the CLI itself was slow
                return False
        wait_until(lambda: up(started), max(1.0, deadline - time.monotonic()),
                   f"{self.node} to start", interval=1)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM, which ``rabbitmq-server`` turns into a clean stop of the node (as
        ``rabbitmqctl stop``, without booting a CLI VM first); killed if it outlives
        ``timeout``."""
        if not self.running():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


class RabbitCluster:
    def __init__(self, home: Path = CLUSTER_DIR, base_port: int = 5681, size: int = 3):
        self.home = home
        self.nodes = [RabbitNode(f"rabbit-c{i + 1}", base_port + i, 25681 + i,
                                 15681 + i, home) for i in range(size)]

    @property
    def ports(self) -> list[int]:
        return [node.amqp_port for node in self.nodes]

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(20).upper())
        cookie.chmod(0o400)
        for node in self.nodes:
            if port_open(node.amqp_port):
                raise RuntimeError(f"port {node.amqp_port} is taken: is a cluster running?")
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.await_startup()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("reset")
            node.ctl("join_cluster", first.node)
            node.ctl("start_app")
        for node in self.nodes:
            node.await_startup()

    def node(self, name: str) -> RabbitNode:
        return next(n for n in self.nodes if n.name == name or n.node == name)

    def management(self) -> broker.ManagementApi:
        for node in self.nodes:
            api = broker.ManagementApi(f"http://127.0.0.1:{node.management_port}",
                                       ("guest", "guest"))
            if node.running() and api.available():
                return api
        raise RuntimeError("no node's management API answers")

    def leader_of(self, queue: str) -> str | None:
        """The node leading a quorum queue (its ``rabbit-cN``), or None."""
        api = self.management()
        info = api._call("GET", f"/queues/%2F/{queue}").json()
        leader = info.get("leader") or info.get("node")
        return leader.split("@")[0] if leader else None

    def stop(self) -> None:
        for node in reversed(self.nodes):
            try:
                node.stop()
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {node.node}: {exc}", file=sys.stderr)


# -- HAProxy ----------------------------------------------------------------------------------

class Haproxy:
    """HTTP to the gateways, TCP to the broker nodes; health-checked, loopback only."""

    def __init__(self, folder: Path, http_port: int, gateway_ports, broker_port: int | None,
                 broker_ports=()):
        self.folder, self.http_port, self.broker_port = folder, http_port, broker_port
        self.gateway_ports, self.broker_ports = list(gateway_ports), list(broker_ports)
        self.process: subprocess.Popen | None = None

    def config(self) -> str:
        lines = ["global", "  maxconn 512",
                 f"  stats socket {self.folder / 'haproxy.sock'} mode 600 level admin",
                 "defaults", "  timeout connect 2s",
                 "  timeout client 120s", "  timeout server 120s", "  retries 2",
                 "  option redispatch",
                 "frontend gateways", f"  bind 127.0.0.1:{self.http_port}", "  mode http",
                 "  default_backend gateways",
                 "backend gateways", "  mode http", "  balance roundrobin",
                 "  option httpchk GET /healthz",
                 # a request that reached a gateway is never sent again to the other one
                 "  retry-on conn-failure"]
        lines += [f"  server gw{i + 1} 127.0.0.1:{port} check inter 1s fall 2 rise 1"
                  for i, port in enumerate(self.gateway_ports)]
        if self.broker_port:
            lines += ["frontend amqp", f"  bind 127.0.0.1:{self.broker_port}", "  mode tcp",
                      "  timeout client 3h", "  default_backend brokers",
                      "backend brokers", "  mode tcp", "  balance leastconn",
                      "  timeout server 3h", "  option tcp-check"]
            lines += [f"  server rabbit{i + 1} 127.0.0.1:{port} check inter 1s fall 2 rise 2 "
                      "on-marked-down shutdown-sessions"
                      for i, port in enumerate(self.broker_ports)]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        if not shutil.which("haproxy"):
            raise RuntimeError("haproxy is missing: scripts/ensure-services.sh installs it")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "haproxy.cfg"
        path.write_text(self.config())
        log = open(self.folder / "haproxy.log", "ab")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(path)], stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: port_open(self.http_port), 20, "HAProxy to listen")

    def command(self, line: str) -> str:
        """A command on HAProxy's admin socket (``shutdown sessions server b/s``, ...)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.folder / "haproxy.sock"))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(4096):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stop(self) -> None:
        stop_processes([self.process])


# -- PostgreSQL -------------------------------------------------------------------------------

def fresh_databases(prefix: str, components, server: str = POSTGRES) -> dict[str, str]:
    """Drop and create ``<prefix>_<component>`` for each component; their URLs."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server + "postgres", isolation_level="AUTOCOMMIT")
    urls = {}
    try:
        with engine.connect() as connection:
            for component in components:
                name = f"{prefix}_{component}"
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
                urls[component] = server + name
    finally:
        engine.dispose()
    return urls


def drop_databases(urls: dict[str, str], server: str = POSTGRES) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(server + "postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for url in urls.values():
                name = url.rsplit("/", 1)[1]
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# -- the components ---------------------------------------------------------------------------

ENV_PORT = {"gateway": "GATEWAY_HTTP", "consent": "CONSENT_HTTP", "logs": "LOGS_HTTP",
            "handover": "HANDOVER_HTTP", "notifications": "NOTIFICATIONS_HTTP"}
ENV_DATABASE = {"gateway": "GATEWAY_DATABASE_URL", "consent": "CONSENT_DATABASE_URL",
                "logs": "LOGS_DATABASE_URL", "handover": "HANDOVER_DATABASE_URL",
                "notifications": "NOTIFICATIONS_DATABASE_URL"}


@dataclass
class Replica:
    name: str           # logs-1
    component: str      # logs
    port: int


@dataclass
class Components:
    """``replicas`` of every service and of the gateway, each its own process, each
    configured through the environment; a ``Supervisor`` starts again what dies."""
    folder: Path
    amqp_uris: dict[str, str]          # component -> AMQP URI (its own user)
    database_urls: dict[str, str]      # component -> URL
    base_port: int
    replicas: int = 2
    extra_env: dict = field(default_factory=dict)
    module: str = "stafett.run"        # what runs a component (tests swap it)
    smtp_port: int = 0
    supervisor: Supervisor | None = None

    #: picks each replica's port (tests: their shard's free ports); else base_port upwards
    pick_port: object = None

    def __post_init__(self):
        self.list = []
        port = self.base_port
        for component in (*SERVICES, "gateway"):
            for i in range(self.replicas):
                chosen = self.pick_port() if self.pick_port else port
                self.list.append(Replica(f"{component}-{i + 1}", component, chosen))
                port += 1

    def replica(self, name: str) -> Replica:
        return next(r for r in self.list if r.name == name)

    def gateway_ports(self) -> list[int]:
        return [r.port for r in self.list if r.component == "gateway"]

    def env(self, replica: Replica) -> dict:
        component = replica.component
        env = dict(os.environ, PYTHONUNBUFFERED="1", DEV_ISSUER="true",
                   DEV_ISSUER_DIR=str(self.folder), SECRETS_DIR=str(self.folder / "secrets"),
                   AMQP_URI=self.amqp_uris[component], QUORUM_QUEUES="true",
                   MAX_WORKERS="4", GATEWAY_MAX_WORKERS="16", RPC_TIMEOUT="5",
                   OUTBOX_POLL_SECONDS="0.5", METRICS_HTTP="", LOG_LEVEL="WARNING",
                   SMTP_PORT=str(self.smtp_port or self.base_port - 1),
                   PUBLIC_URL=f"http://127.0.0.1:{replica.port}")
        env[ENV_PORT[component]] = f"127.0.0.1:{replica.port}"
        env[ENV_DATABASE[component]] = self.database_urls[component]
        env.update(self.extra_env)
        return env

    def _start(self, name: str) -> subprocess.Popen:
        replica = self.replica(name)
        (self.folder / "log").mkdir(parents=True, exist_ok=True)
        with open(self.folder / "log" / f"{name}.log", "ab") as log_file:
            return subprocess.Popen([sys.executable, "-m", *self.module.split(),
                                     replica.component], cwd=str(ROOT),
                                    env=self.env(replica), stdout=log_file,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout: float = 180) -> None:
        """The first replica of each component alone (it migrates its database and makes
        the secrets), then the others."""
        first = [r.name for r in self.list if r.name.endswith("-1")]
        self.supervisor = Supervisor(self._start, first, base=0.5, cap=5,
                                     say=lambda *a, **k: None)
        for name in first:
            self.wait_ready(name, timeout)
        for replica in self.list:
            if replica.name not in self.supervisor.processes:
                self.supervisor._start(replica.name)
        for replica in self.list:
            self.wait_ready(replica.name, timeout)

    def ready(self, name: str) -> bool:
        try:
            port = self.replica(name).port
            return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok
        except requests.RequestException:
            return False

    def wait_ready(self, name: str, timeout: float = 120) -> None:
        def up():
            self.check()
            return self.ready(name)
        wait_until(up, timeout, f"{name} to be ready (see {self.folder}/log/{name}.log)",
                   interval=0.5)

    def check(self) -> list[str]:
        return self.supervisor.check() if self.supervisor else []

    def process(self, name: str) -> subprocess.Popen:
        return self.supervisor.processes[name]

    def stop(self) -> None:
        if not self.supervisor:
            return
        stop_processes(self.supervisor.processes.values(), grace=20, resume=True)


def start_mail_sink(folder: Path, port: int) -> subprocess.Popen | None:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        return None
    log = open(folder / "smtp-sink.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "services.notifications.devsmtp", "--host",
                             "127.0.0.1", "--port", str(port), "--dir", str(folder / "mail")],
                            cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def provision(api: broker.ManagementApi, amqp_uri: str, folder: Path) -> dict[str, str]:
    """One user per component in the cluster's vhost /; each component's AMQP URI."""
    passwords = {c: broker.new_password() for c in (*SERVICES, "gateway")}
    users = broker.provision(api, "/", passwords, administrator="guest")
    return {c: broker.with_credentials(amqp_uri, users[c], passwords[c]) for c in passwords}


def seed(amqp_uri: str, stories: bool = True) -> None:
    """The demo: its persons and agencies, and (``stories``) its consents and logs."""
    if stories:
        from stafett.dev.stack import seed as seed_demo

        seed_demo(amqp_uri)
        return
    from nameko.standalone.rpc import ClusterRpcProxy

    from stafett.actor import SYSTEM_ACTOR
    from stafett.dev.demo import seed as seed_people
    from stafett.dev.issuer import dev_issuer_url

    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30, context_data={
            "actor": SYSTEM_ACTOR.to_context()}) as proxy:
        seed_people(proxy, dev_issuer_url)


class Platform:
    """Everything ``make cluster`` starts, stopped in reverse by ``stop``."""

    HTTP_PORT = 8180     # HAProxy -> the gateways
    BROKER_PORT = 5680   # HAProxy -> the broker nodes
    COMPONENT_PORT = 8191

    def __init__(self, folder: Path = CLUSTER_DIR, replicas: int = 2,
                 extra_env: dict | None = None, stories: bool = True):
        self.folder, self.stories = folder, stories
        self.replicas = replicas
        self.extra_env = dict(extra_env or {})
        self.rabbit = RabbitCluster(folder)
        self.haproxy: Haproxy | None = None
        self.components: Components | None = None
        self.sink = None
        self.database_urls: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.HTTP_PORT}"

    @property
    def admin_uri(self) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.BROKER_PORT}/"

    def start(self, say=print) -> None:
        if self.folder.exists():  # a fresh cluster each time: nothing of a former run
            for node in self.rabbit.nodes:
                if port_open(node.amqp_port):
                    raise RuntimeError(f"{node.node} still runs (port {node.amqp_port})")
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        say("Starter tre RabbitMQ-noder (rabbit-c1..c3@localhost) ...")
        self.rabbit.start()
        self.haproxy = Haproxy(self.folder, self.HTTP_PORT,
                               range(self.COMPONENT_PORT + 4 * self.replicas,
                                     self.COMPONENT_PORT + 5 * self.replicas),
                               self.BROKER_PORT, self.rabbit.ports)
        self.haproxy.start()
        wait_until(lambda: port_open(self.BROKER_PORT), 20, "HAProxy's AMQP port")
        say("Lager brukere og databaser ...")
        uris = provision(self.rabbit.management(), self.admin_uri, self.folder)
        self.database_urls = fresh_databases("stafett_cluster", (*SERVICES, "gateway"))
        from stafett.dev.issuer import ensure_dev_keys
        ensure_dev_keys(self.folder)
        self.sink = start_mail_sink(self.folder, self.COMPONENT_PORT - 1)
        self.components = Components(self.folder, uris, self.database_urls,
                                     self.COMPONENT_PORT, self.replicas,
                                     extra_env=self.extra_env)
        say(f"Starter {self.replicas} kopier av hver tjeneste og gateway ...")
        self.components.start()
        wait_until(lambda: _ok(self.url + "/healthz"), 30, "HAProxy to reach a gateway")
        say("Fyller inn demoen ...")
        seed(self.admin_uri, self.stories)

    def stop(self) -> None:
        if self.components:
            self.components.stop()
        stop_processes([self.sink])
        if self.haproxy:
            self.haproxy.stop()
        self.rabbit.stop()


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def main() -> int:
    os.chdir(ROOT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    platform = Platform()
    try:
        platform.start()
        print(f"""
Klyngen kjører: {platform.url} (HAProxy foran to gatewayer)
  RabbitMQ: rabbit-c1..c3@localhost, AMQP via HAProxy på {platform.BROKER_PORT}
    (nodene: {', '.join(str(p) for p in platform.rabbit.ports)}; management {
        ', '.join(str(n.management_port) for n in platform.rabbit.nodes)})
  PostgreSQL: databasene stafett_cluster_* på 127.0.0.1:5432
  Logger: var/cluster/log/<komponent>-<n>.log
Ctrl-C stopper alt.""")
        while True:
            platform.components.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopper ...")
        return 0
    finally:
        platform.stop()
        print("Alt er stoppet.")


if __name__ == "__main__":
    sys.exit(main())
