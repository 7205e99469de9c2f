"""``make run``: the whole platform on this machine, with a synthetic demo.

Starts RabbitMQ if needed, gives each component its own RabbitMQ user (passwords generated
once into ``var/broker/``, grants from ``config/broker-access.yaml``, through the
management API), runs the four services and the gateway as separate processes on SQLite
files under ``var/`` (a service on PostgreSQL, ``<SERVICE>_DATABASE_URL``, runs
``STAFETT_PROCESSES`` processes, 2 unless set: ``processes_per_component``), seeds the
demo (as the administrator in ``AMQP_URI``), prints where to
go, and on Ctrl-C stops every process cleanly. A component that dies (its process exits)
is started again after a short wait (``Supervisor``), as Kubernetes would.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from stafett import broker
from stafett.config import ROOT, component_config
from stafett.dev.issuer import dev_issuer_url, ensure_dev_keys

COMPONENTS = ("consent", "logs", "handover", "notifications", "gateway")
SERVICES = COMPONENTS[:-1]
VAR = ROOT / "var"
#: how many processes each service runs (``STAFETT_PROCESSES``) where its database allows it
DEFAULT_PROCESSES = 2
#: a further process of a service listens on its first one's port plus this times its index
PORT_STEP = 10


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def ensure_broker(amqp_uri: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(amqp_uri)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5672
    if _port_open(host, port):
        return
    if host in ("127.0.0.1", "localhost") and shutil.which("rabbitmq-server"):
        print("Starter RabbitMQ (rabbitmq-server -detached) ...")
        subprocess.run(["rabbitmq-server", "-detached"], check=False)
    elif shutil.which("docker"):
        print("Starter RabbitMQ i en container ...")
        subprocess.run(["docker", "run", "-d", "--rm", "--name", "stafett-rabbitmq",
                        "-p", f"127.0.0.1:{port}:5672", "-p", "127.0.0.1:15672:15672",
                        "rabbitmq:3.13-management"], check=False)
    deadline = time.monotonic() + 90
    while not _port_open(host, port):
        if time.monotonic() > deadline:
            sys.exit(f"RabbitMQ svarer ikke på {host}:{port}. Sett AMQP_URI eller start den.")
        time.sleep(0.5)


def management_api(amqp_uri: str) -> broker.ManagementApi:
    """The management API (the component users are made through it), enabled if missing."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(amqp_uri)
    url = os.environ.get("RABBITMQ_MANAGEMENT_URL") or broker.management_url_for(amqp_uri)
    api = broker.ManagementApi(url, (unquote(parts.username or "guest"),
                                     unquote(parts.password or "guest")))
    if not api.available() and (parts.hostname or "127.0.0.1") in ("127.0.0.1", "localhost") \
            and shutil.which("rabbitmq-plugins"):
        print("Slår på RabbitMQs management-tillegg ...")
        subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_management"], check=False,
                       capture_output=True)
    deadline = time.monotonic() + 60
    while not api.available():
        if time.monotonic() > deadline:
            sys.exit(f"RabbitMQs management-API svarer ikke på {url} (trengs for å lage "
                     "brukerne). Sett RABBITMQ_MANAGEMENT_URL eller slå det på.")
        time.sleep(0.5)
    return api


def provision_broker(amqp_uri: str) -> dict[str, str]:
    """One RabbitMQ user per component (``stafett-<component>``) with the grant in
    config/broker-access.yaml; returns each component's AMQP URI. Passwords are generated
    on the first run and kept in var/broker/ (mode 0600)."""
    from urllib.parse import unquote, urlsplit

    api = management_api(amqp_uri)
    vhost = unquote(urlsplit(amqp_uri).path[1:]) or "/"
    folder = VAR / "broker"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    passwords = {}
    for component in COMPONENTS:
        path = folder / f"{component}.password"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(broker.new_password(), encoding="utf-8")
        passwords[component] = path.read_text(encoding="utf-8").strip()
    users = broker.provision(api, vhost, passwords, administrator=api.auth[0])
    retire_old_retry_queues(api, vhost)
    return {component: broker.with_credentials(amqp_uri, users[component], passwords[component])
            for component in COMPONENTS}


def retire_old_retry_queues(api: broker.ManagementApi, vhost: str) -> None:
    """Retry queues made before the components had their own users dead-lettered through
    the default exchange; they are declared anew (development only: what waited in them
    for a retry is dropped)."""
    for queue in api.queues(vhost):
        if queue["name"].endswith(".retry") and \
                queue.get("arguments", {}).get("x-dead-letter-exchange") == "":
            api.delete_queue(vhost, queue["name"])


def stop_processes(processes, grace: float = 10, resume: bool = False) -> None:
    """SIGTERM to each that still runs, then a shared ``grace`` period before SIGKILL.
    ``resume``: first SIGCONT to each one's process group (it may have been paused: the
    fault drills' SIGSTOP), else it would not act on the SIGTERM."""
    processes = [p for p in processes if p is not None]
    for process in processes:
        if process.poll() is None:
            try:
                if resume:
                    os.killpg(process.pid, signal.SIGCONT)
                process.terminate()
            except ProcessLookupError:  # it ended meanwhile
                pass
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_ready(url: str, process: subprocess.Popen, name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} stoppet (se var/log/{name}.log)")
        try:
            if requests.get(url + "/readyz", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    sys.exit(f"{name} ble ikke klar innen {timeout:.0f} s (se var/log/{name}.log)")


def start_mail_sink(env: dict) -> subprocess.Popen | None:
    """A local SMTP server that writes every e-mail to var/mail/ (the notifications
    service sends to SMTP_HOST:SMTP_PORT, 127.0.0.1:1025 by default)."""
    config = component_config("notifications", environ=env)
    host, port = str(config["SMTP_HOST"]), int(config["SMTP_PORT"])
    if host not in ("127.0.0.1", "localhost") or _port_open(host, port):
        return None
    try:
        import aiosmtpd  # noqa: F401  (installed with the test extra, as `make run` does)
    except ImportError:
        print("aiosmtpd mangler: e-post fra Stafett blir ikke levert lokalt.")
        return None
    log_file = open(VAR / "log" / "smtp-sink.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "services.notifications.devsmtp",
                             "--host", host, "--port", str(port), "--dir", str(VAR / "mail")],
                            env=env, stdout=log_file, stderr=subprocess.STDOUT,
                            start_new_session=True)


def seed(amqp_uri: str, ssl_options: dict | None = None) -> None:
    from nameko.standalone.rpc import ClusterRpcProxy

    from stafett.actor import SYSTEM_ACTOR
    from stafett.dev.demo import seed as seed_demo

    from contextlib import contextmanager

    from stafett.dev.demo import seed_stories

    @contextmanager
    def rpc_as(actor):
        context = {"actor": (actor or SYSTEM_ACTOR).to_context()}
        with ClusterRpcProxy({"AMQP_URI": amqp_uri, "AMQP_SSL": ssl_options}, timeout=30,
                             context_data=context) as proxy:
            yield proxy

    with rpc_as(None) as proxy:
        seed_demo(proxy, dev_issuer_url)
    seed_stories(rpc_as, dev_issuer_url)


def banner(gateway_url: str) -> None:
    from stafett.dev.demo import PERSONAS

    python = os.path.relpath(sys.executable, Path.cwd())
    print(f"""
Stafett kjører på {gateway_url}
  API-beskrivelse: {gateway_url}/openapi.json
  Helse: {gateway_url}/healthz   Metrikker: {gateway_url}/metrics
  Logger: var/log/<tjeneste>.log (JSON)

Demo-personer (syntetiske data):""")
    for name, persona in PERSONAS.items():
        print(f"  {name:15} {persona.get('description', '')}")
    print(f"""
Hent et token og prøv API-et:
  TOKEN=$({python} -m stafett.dev.issuer guardian)
  curl -H "Authorization: Bearer $TOKEN" {gateway_url}/api/v1/children

Ctrl-C stopper alt.""")


def processes_per_component(env: dict) -> dict[str, int]:
    """``STAFETT_PROCESSES`` (default 2) processes of each service whose database is
    PostgreSQL; one of a service on SQLite (a file has one writer, and SQLite's busy wait
    blocks every green thread of the process that waits) and one gateway (it owns the
    public port). Several processes of a service share its RPC and event queues as
    competing consumers, and its outbox (``FOR UPDATE SKIP LOCKED``)."""
    wanted = int(env.get("STAFETT_PROCESSES") or DEFAULT_PROCESSES)
    if wanted < 1:
        raise ValueError("STAFETT_PROCESSES must be 1 or more")
    return {name: wanted if name in SERVICES and component_config(
        name, environ=env)["DATABASE_URL"].startswith("postgresql") else 1
        for name in COMPONENTS}


def process_names(counts: dict[str, int]) -> dict[str, tuple[str, int]]:
    """Each process's name (its log file: ``var/log/<name>.log``) → (component, index):
    ``logs``, then ``logs-2``, ``logs-3`` ..."""
    return {(name if index == 1 else f"{name}-{index}"): (name, index)
            for name, count in counts.items() for index in range(1, count + 1)}


def process_env(env: dict, component: str, index: int) -> dict:
    """The environment of a service's ``index``-th process: its own HTTP port (health,
    readiness, metrics) ``PORT_STEP`` × (index - 1) above the first one's, and no
    separate metrics port (the first keeps it)."""
    if index == 1:
        return env
    host, port = component_config(component, environ=env)["WEB_SERVER_ADDRESS"].rsplit(":", 1)
    return dict(env, METRICS_HTTP="", **{
        f"{component.upper()}_HTTP": f"{host}:{int(port) + PORT_STEP * (index - 1)}"})


class Supervisor:
    """Keeps components running: one whose process exited is started again, after
    ``base`` seconds doubling with each quick death (at most ``cap``); a run that lasted
    ``settled`` seconds starts the count afresh."""

    def __init__(self, start, names, base: float = 1.0, cap: float = 30.0,
                 settled: float = 60.0, clock=time.monotonic, say=print):
        self.start, self.base, self.cap, self.settled = start, base, cap, settled
        self.clock, self.say = clock, say
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.deaths: dict[str, int] = {}
        self.due: dict[str, float] = {}
        for name in names:
            self._start(name)

    def _start(self, name: str) -> None:
        self.processes[name] = self.start(name)
        self.started_at[name] = self.clock()

    def check(self) -> list[str]:
        """Start again what died and is due; returns the names started now."""
        restarted, now = [], self.clock()
        for name, process in list(self.processes.items()):
            code = process.poll()
            if code is None:
                continue
            if name not in self.due:
                if now - self.started_at[name] >= self.settled:
                    self.deaths[name] = 0
                wait = min(self.cap, self.base * 2 ** self.deaths.get(name, 0))
                self.deaths[name] = self.deaths.get(name, 0) + 1
                self.due[name] = now + wait
                self.say(f"{name} stoppet (kode {code}); starter på nytt om {wait:g} s "
                         "(se var/log/)", file=sys.stderr)
            elif now >= self.due[name]:
                del self.due[name]
                self._start(name)
                restarted.append(name)
        return restarted


def main() -> int:
    os.chdir(ROOT)
    (VAR / "log").mkdir(parents=True, exist_ok=True)
    ensure_dev_keys(VAR)
    env = dict(os.environ, DEV_ISSUER="true", DEV_ISSUER_DIR=str(VAR), PYTHONUNBUFFERED="1")
    admin = component_config("gateway", environ=env)
    amqp_uri = admin["AMQP_URI"]
    ensure_broker(amqp_uri)
    component_uris = provision_broker(amqp_uri)

    processes: dict[str, subprocess.Popen] = {}

    def stop_all(*_):
        stop_processes(processes.values(), grace=15)

    # Ctrl-C and SIGTERM both end in KeyboardInterrupt; SIGINT is set explicitly because a
    # shell that starts us in the background leaves it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sink = start_mail_sink(env)
        if sink is not None:
            processes["smtp-sink"] = sink
        names = process_names(processes_per_component(env))

        def start(name):
            component, index = names[name]
            with open(VAR / "log" / f"{name}.log", "ab") as log_file:
                return subprocess.Popen(
                    [sys.executable, "-m", "stafett.run", component],
                    env=dict(process_env(env, component, index),
                             AMQP_URI=component_uris[component]), stdout=log_file,
                    stderr=subprocess.STDOUT, start_new_session=True)

        def ready(name):
            component, index = names[name]
            address = component_config(component, environ=process_env(
                env, component, index))["WEB_SERVER_ADDRESS"]
            wait_ready(f"http://{address}", processes[name], name)

        # the first process of each component alone (it migrates its database), then the rest
        supervisor = Supervisor(start, [n for n, (_, index) in names.items() if index == 1])
        processes.update(supervisor.processes)
        for name in supervisor.processes:
            ready(name)
        for name in [n for n, (_, index) in names.items() if index > 1]:
            supervisor._start(name)
            processes[name] = supervisor.processes[name]
            ready(name)
        most = max(index for _, index in names.values())
        if most > 1:
            print(f"Hver tjeneste på PostgreSQL kjører i {most} prosesser (STAFETT_PROCESSES).")
        seed(amqp_uri, admin.get("AMQP_SSL"))
        banner(component_config("gateway", environ=env)["PUBLIC_URL"])
        if sink is not None:
            print(f"E-post fra Stafett havner i {VAR / 'mail'}/*.eml (lokal SMTP-server).")
        while True:  # until Ctrl-C: a component that dies is started again
            for name in supervisor.check():
                processes[name] = supervisor.processes[name]
                print(f"{name} startet på nytt.", file=sys.stderr)
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopper ...")
        return 0
    finally:
        stop_all()
        print("Alt er stoppet.")


if __name__ == "__main__":
    sys.exit(main())
