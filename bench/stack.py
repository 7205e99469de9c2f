"""A PostgreSQL-backed Stafett stack for the benchmarks, started and stopped by them.

Each component runs as its own process (``python -m stafett.run <component>``, as in
``make run`` and the image), so the gateway and the services get the cores the machine has,
like production; each has its own fresh PostgreSQL database and connects to a fresh
RabbitMQ vhost as its own user (config/broker-access.yaml), made the way the tests make
them (tests/support/servers.py). The demo is seeded; everything is removed at the end
(vhost, databases, processes). Loopback only.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stafett.config import component_config  # noqa: E402
from stafett.dev.issuer import dev_issuer_url, ensure_dev_keys, mint  # noqa: E402
from tests.support.platform import free_port  # noqa: E402
from tests.support.servers import (LOCAL_POSTGRES, make_database_urls,  # noqa: E402
                                   start_broker)

COMPONENTS = ("consent", "logs", "handover", "notifications", "gateway")
SERVICES = COMPONENTS[:-1]
ENV_PREFIX = {"consent": "CONSENT", "logs": "LOGS", "handover": "HANDOVER",
              "notifications": "NOTIFICATIONS", "gateway": "GATEWAY"}
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", LOCAL_POSTGRES)


class Stack:
    """``with Stack() as stack:`` the whole platform, seeded; ``stack.url``,
    ``stack.token(persona)``, ``stack.database_urls``, ``stack.rpc()``."""

    def __init__(self, **settings):
        self.settings = {
            # the bench drives one agency far past any per-agency limit
            "RATE_LIMIT_BURST": "1000000", "RATE_LIMIT_PER_MINUTE": "60000000",
            "QUORUM_QUEUES": "false", "OUTBOX_POLL_SECONDS": "0.5",
            "LOG_MAX_MEASURES": "1000000", "LOG_LEVEL": "WARNING",
            "SMTP_PORT": str(free_port()),  # nobody listens: e-mail fails fast, quietly
            **{k: str(v) for k, v in settings.items()}}
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self._exit = ExitStack()

    def __enter__(self) -> "Stack":
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        self.var = Path(tempfile.mkdtemp(prefix="stafett-bench-"))
        self._exit.callback(shutil.rmtree, self.var, ignore_errors=True)
        broker = start_broker()
        self._exit.callback(broker.close)
        broker.create_component_users()
        self.amqp_uri = self._exit.enter_context(broker.vhost())
        component_uris = dict(getattr(self.amqp_uri, "component_uris", {}))
        self.database_urls = self._exit.enter_context(
            make_database_urls(POSTGRES, COMPONENTS))
        ensure_dev_keys(self.var)
        self.ports.update({name: free_port() for name in COMPONENTS})
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
                   DEV_ISSUER="true", DEV_ISSUER_DIR=str(self.var),
                   SECRETS_DIR=str(self.var / "secrets"), **self.settings)
        for name in COMPONENTS:
            prefix = ENV_PREFIX[name]
            env[f"{prefix}_DATABASE_URL"] = self.database_urls[name]
            env[f"{prefix}_HTTP"] = f"127.0.0.1:{self.ports[name]}"
        env["PUBLIC_URL"] = f"http://127.0.0.1:{self.ports['gateway']}"
        self.env = env
        (self.var / "log").mkdir()
        self._exit.callback(self._stop_processes)
        self.component_uris = component_uris
        for name in COMPONENTS:
            self._spawn(name, name, env)
        for name in COMPONENTS:
            self._wait_ready(name)
        self.url = f"http://127.0.0.1:{self.ports['gateway']}"
        from stafett.dev.demo import seed, seed_stories

        with self.rpc() as proxy:
            seed(proxy, dev_issuer_url)
        self.stories = seed_stories(lambda actor: self.rpc(actor), dev_issuer_url)

    def _spawn(self, name: str, component: str, env: dict) -> None:
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "stafett.run", component],
            env=dict(env, AMQP_URI=self.component_uris.get(component, str(self.amqp_uri))),
            stdout=open(self.var / "log" / f"{name}.log", "ab"),
            stderr=subprocess.STDOUT, cwd=self.var, start_new_session=True)

    def set_processes(self, count: int) -> None:
        """Run ``count`` processes of each service (the gateway stays one), as
        ``STAFETT_PROCESSES`` does in ``make run``: further ones are started, each with its
        own HTTP port, and waited for; those beyond ``count`` are stopped."""
        for component in SERVICES:
            index = 2
            while f"{component}-{index}" in self.processes or index <= count:
                name = f"{component}-{index}"
                if index > count:
                    process = self.processes.pop(name)
                    process.send_signal(signal.SIGTERM)
                    process.wait(30)
                elif name not in self.processes:
                    self.ports[name] = free_port()
                    self._spawn(name, component, dict(self.env, METRICS_HTTP="", **{
                        f"{ENV_PREFIX[component]}_HTTP": f"127.0.0.1:{self.ports[name]}"}))
                index += 1
        for name in list(self.processes):
            self._wait_ready(name)

    def _wait_ready(self, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.ports[name]}/readyz"
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} stopped: see {self.var}/log/{name}.log")
            try:
                if requests.get(url, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} was not ready within {timeout:.0f} s")

    def _stop_processes(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def __exit__(self, *exc) -> None:
        self._exit.close()

    def rpc(self, actor=None, timeout: float = 30):
        from nameko.standalone.rpc import ClusterRpcProxy

        from stafett.actor import SYSTEM_ACTOR

        context = {"actor": (actor or SYSTEM_ACTOR).to_context()}
        return ClusterRpcProxy({"AMQP_URI": str(self.amqp_uri)}, context_data=context,
                               timeout=timeout)

    def token(self, persona: str, ttl_seconds: int = 3600) -> str:
        from stafett.dev.demo import PERSONAS

        claims = {k: v for k, v in PERSONAS[persona].items() if k != "description"}
        kind = claims.pop("issuer_kind")
        return mint(self.var, claims, ttl_seconds=ttl_seconds, issuer=dev_issuer_url(kind))

    def settle(self, timeout: float = 60) -> None:
        """Wait until every service's outbox is published and the event queues are empty,
        so one benchmark's backlog does not land in the next one's figures."""
        from kombu import Connection
        from sqlalchemy import create_engine, text

        deadline = time.monotonic() + timeout
        engines = [create_engine(self.database_urls[name])
                   for name in ("consent", "logs", "handover")]
        try:
            while time.monotonic() < deadline:
                pending = 0
                for engine in engines:
                    with engine.connect() as connection:
                        pending += connection.execute(text(
                            "SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar()
                with Connection(str(self.amqp_uri)) as connection:
                    for queue in ("evt-logs-log.*--notifications.on_log_event",):
                        pending += connection.default_channel.queue_declare(
                            queue, passive=True).message_count
                if pending == 0:
                    return
                time.sleep(0.5)
        finally:
            for engine in engines:
                engine.dispose()

    def config(self, component: str) -> dict:
        return component_config(component, environ=self.env)
