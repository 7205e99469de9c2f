"""The whole platform in one test process: five nameko containers over a real broker."""
from __future__ import annotations

import random
import socket
import time
from contextlib import contextmanager

import requests
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.utils.concurrency import SpawningProxy

from stafett.actor import SYSTEM_ACTOR
from stafett.config import component_config
from stafett.dev.issuer import dev_issuer_url, mint
from stafett.run import service_class
from tests.shards import port_range

COMPONENTS = ("consent", "logs", "handover", "notifications", "gateway")


def free_port() -> int:
    """A port nothing listens on; under `make test`'s shards, one from this shard's own
    range (tests.shards.port_range), so shards side by side never pick the same one."""
    ports = port_range()
    if ports is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    global _next_port
    for _ in range(len(ports)):
        # in turn through the range, never twice in a run: two calls of one test (five
        # components' ports) must not draw the same port either
        if _next_port is None or _next_port not in ports:
            _next_port = random.choice(ports)
        port, _next_port = _next_port, _next_port + 1
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use (or lingering): the next one
            return port
    raise RuntimeError(f"no free port in {ports}")


_next_port: int | None = None


class ApiClient:
    """A persona talking to the gateway over real HTTP."""

    def __init__(self, base_url: str, token: str | None):
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=30, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.post(self.base_url + path, json=json, timeout=30, **kwargs)

    def patch(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.patch(self.base_url + path, json=json, timeout=30, **kwargs)

    def if_match(self, path: str) -> dict:
        """``{"If-Match": <ETag>}`` of the resource as this persona reads it now."""
        response = self.get(path)
        assert response.status_code == 200 and "ETag" in response.headers, response.text
        return {"If-Match": response.headers["ETag"]}

    def request_delete(self, path: str, **kwargs) -> requests.Response:
        return self.session.delete(self.base_url + path, timeout=30, **kwargs)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = ""):
    """Poll until ``predicate()`` is truthy or the deadline passes (never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
        time.sleep(interval)


def entrypoint_calls(service: str, entrypoint: str) -> float:
    """How often ``service`` has run ``entrypoint`` in this process (its RED counter)."""
    from stafett import metrics

    for family in metrics.REQUESTS.collect():
        for sample in family.samples:
            if (sample.name == "stafett_requests_total" and sample.labels["service"] == service
                    and sample.labels["entrypoint"] == entrypoint):
                return sample.value
    return 0.0


class Platform:
    """``amqp_uri`` is the test vhost's guest URI: ``rpc()`` (the operator's and seed's
    proxy) uses it, and so does every component when ``component_users=False``; by default
    each component connects as its own user (``amqp_uri.component_uris``, made by
    tests/support/servers.py from config/broker-access.yaml), as in production."""

    def __init__(self, container_factory, amqp_uri, database_urls, tmp_path,
                 component_users: bool = True, **overrides):
        self.container_factory = container_factory
        self.amqp_uri = amqp_uri
        self.component_uris = (dict(getattr(amqp_uri, "component_uris", {}))
                               if component_users else {})
        self.database_urls = database_urls
        self.var_dir = tmp_path / "var"
        self.overrides = overrides
        self.ports = {component: free_port() for component in COMPONENTS}
        self.containers = {}

    def config(self, component: str) -> dict:
        overrides = {
            "AMQP_URI": self.component_uris.get(component, str(self.amqp_uri)),
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.ports[component]}",
            "SECRETS_DIR": str(self.var_dir / "secrets"),
            # the access log's sequencer: quick checkpoints, a witness of the test's own
            "AUDIT_WITNESS_DIR": str(self.var_dir / "audit-witness"),
            "AUDIT_CHECKPOINT_SECONDS": 0.2,
            "DEV_ISSUER": "true", "DEV_ISSUER_DIR": str(self.var_dir),
            "RPC_TIMEOUT": 5, "OUTBOX_POLL_SECONDS": 0.5, "EVENT_RETRY_BASE_SECONDS": 0.1,
            "EVENT_MAX_ATTEMPTS": 3,
            # classic queues in tests: a vhost per test is created and deleted, and quorum
            # queues make that slow on one node (tests/integration/test_events.py covers quorum)
            "QUORUM_QUEUES": "false",
        }
        if component in self.database_urls:
            overrides["DATABASE_URL"] = self.database_urls[component]
        elif component == "gateway":  # the web client's sessions, never the shared var/
            overrides["DATABASE_URL"] = f"sqlite:///{self.var_dir}/gateway.db"
        overrides.update(self.overrides)
        return component_config(component, **overrides)

    def start(self, components=COMPONENTS) -> None:
        """Started side by side, as nameko's ServiceRunner does (most of a start is waiting
        for the broker); the first failure stops the others and is raised."""
        starting = []
        for component in components:
            container = self.container_factory(service_class(component), self.config(component))
            self.containers[component] = container
            starting.append(container)
        SpawningProxy(starting, abort_on_error=True).start()

    def stop(self, component: str) -> None:
        self.containers.pop(component).stop()

    def close(self) -> None:
        SpawningProxy(list(self.containers.values())).kill()  # side by side, as ServiceRunner

    def url(self, component: str = "gateway") -> str:
        return f"http://127.0.0.1:{self.ports[component]}"

    def token(self, persona: str, ttl_seconds: int = 3600, **extra) -> str:
        from stafett.dev.demo import PERSONAS

        claims = {k: v for k, v in PERSONAS[persona].items() if k != "description"}
        kind = claims.pop("issuer_kind")
        claims.update(extra)
        return mint(self.var_dir, claims, ttl_seconds=ttl_seconds, issuer=dev_issuer_url(kind))

    def client(self, persona: str | None = None, **claims) -> ApiClient:
        return ApiClient(self.url(), self.token(persona, **claims) if persona else None)

    @contextmanager
    def rpc(self, actor=SYSTEM_ACTOR, timeout: float = 10):
        context = {"actor": actor.to_context()} if actor else {}
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, context_data=context,
                             timeout=timeout) as proxy:
            yield proxy

    def seed_stories(self) -> dict:
        """The demo's logs in all three colours (after ``seed``)."""
        from stafett.dev.demo import seed_stories

        return seed_stories(lambda actor: self.rpc(actor or SYSTEM_ACTOR), dev_issuer_url)

    def seed(self) -> dict:
        from stafett.dev.demo import seed

        with self.rpc() as proxy:
            return seed(proxy, dev_issuer_url)

    def open_emma_log(self, scope: dict) -> dict:
        """Emma's log, opened (level 1) by the teacher through the gateway once her mother
        has consented to ``scope``, on the seeded demo."""
        from stafett.dev.demo import EMMA

        self.seed()
        guardian, teacher = self.client("guardian"), self.client("teacher")
        emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                    if c["name"] == EMMA["name"])
        consent = guardian.post(f"/api/v1/children/{emma}/consents",
                                json={"scope": scope, "purpose": "Samarbeid"})
        assert consent.status_code == 201, consent.text
        log = teacher.post("/api/v1/logs", json={"child_id": emma, "level": 1})
        assert log.status_code == 201, log.text
        return log.json()
