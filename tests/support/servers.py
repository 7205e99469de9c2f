"""Real servers for tests: testcontainers when Docker is reachable, local ones otherwise."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from stafett.broker import AccessTable, ManagementApi, new_password, with_credentials

LOCAL_AMQP = "pyamqp://guest:guest@127.0.0.1:5672/"
LOCAL_MANAGEMENT = "http://127.0.0.1:15672"
LOCAL_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def docker_available() -> bool:
    if os.environ.get("STAFETT_NO_DOCKER"):
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


class VhostUri(str):
    """A test vhost's administrator (guest) URI, which also knows each component's own URI:
    ``component_uris[component]`` connects as that component's user (config/broker-access.yaml),
    empty when the broker gave no users (no management API)."""

    component_uris: dict[str, str]

    def __new__(cls, uri: str, component_uris: dict[str, str] | None = None):
        instance = super().__new__(cls, uri)
        instance.component_uris = dict(component_uris or {})
        return instance


@dataclass
class Broker:
    amqp_uri: str               # root vhost URI, e.g. pyamqp://guest:guest@host:5672/
    management_url: str | None
    container: object = None
    # one RabbitMQ user per component for the whole session, named after it; its grant is
    # set on every test vhost (``vhost``)
    session: str = field(
        default_factory=lambda: f"stafett-test-{os.getpid()}-{uuid.uuid4().hex[:10]}")
    users: dict = field(default_factory=dict)  # component -> (user, password)

    def close(self) -> None:
        if self.users and self._management_ok():
            api = self._api()
            for user, _ in self.users.values():
                api.delete_user(user)
        if self.container is not None:
            self.container.stop()

    def _api(self) -> ManagementApi:
        return ManagementApi(self.management_url, self._auth())

    def create_component_users(self) -> None:
        """The session's component users, with random passwords (needs the management API;
        without it the components connect as guest)."""
        if not self._management_ok():
            return
        api = self._api()
        for component in AccessTable.load().components:
            user, password = f"{self.session}-{component}", new_password()
            api.put_user(user, password)
            self.users[component] = (user, password)

    def _auth(self):
        parts = urlsplit(self.amqp_uri)
        return parts.username or "guest", parts.password or "guest"

    def _with_vhost(self, vhost: str) -> str:
        parts = urlsplit(self.amqp_uri)
        return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))

    def sweep_orphans(self) -> None:
        """Delete vhosts left by test processes that no longer run (killed mid-test):
        a broker carrying hundreds of dead vhosts slows to a crawl."""
        if not self._management_ok():
            return
        response = requests.get(f"{self.management_url}/api/vhosts", auth=self._auth(),
                                timeout=30)
        for vhost in response.json():
            parts = vhost["name"].split("-")
            if vhost["name"].startswith("stafett-test-") and len(parts) == 4 \
                    and parts[2].isdigit() and not _pid_alive(int(parts[2])):
                requests.delete(f"{self.management_url}/api/vhosts/{vhost['name']}",
                                auth=self._auth(), timeout=60)
        api = self._api()
        for user in api.user_names():  # stafett-test-<pid>-<hex>-<component>
            parts = user.split("-")
            if user.startswith("stafett-test-") and len(parts) == 5 and parts[2].isdigit() \
                    and not _pid_alive(int(parts[2])):
                api.delete_user(user)

    @contextlib.contextmanager
    def vhost(self):
        """A fresh vhost for one test, deleted afterwards: guest may do anything in it, each
        component user what config/broker-access.yaml grants, and the exchanges exist (one
        definitions import)."""
        name = f"stafett-test-{os.getpid()}-{uuid.uuid4().hex[:10]}"
        user, _ = self._auth()
        if self._management_ok():
            api = self._api()
            definitions = AccessTable.load().definitions(
                name, {component: login for component, (login, _) in self.users.items()})
            definitions["permissions"].append({"user": user, "vhost": name, "configure": ".*",
                                               "write": ".*", "read": ".*"})
            api.import_definitions(definitions)
            uri = self._with_vhost(name)
            try:
                yield VhostUri(uri, {component: with_credentials(uri, login, password)
                                     for component, (login, password) in self.users.items()})
            finally:
                api.delete_vhost(name)
        else:
            rabbitmqctl = shutil.which("rabbitmqctl")
            if rabbitmqctl is None:
                raise RuntimeError("need the RabbitMQ management plugin or rabbitmqctl")
            subprocess.run([rabbitmqctl, "add_vhost", name], check=True, capture_output=True)
            subprocess.run([rabbitmqctl, "set_permissions", "-p", name, user, ".*", ".*", ".*"],
                           check=True, capture_output=True)
            try:
                yield VhostUri(self._with_vhost(name))
            finally:
                subprocess.run([rabbitmqctl, "delete_vhost", name], capture_output=True)

    def _management_ok(self) -> bool:
        if not self.management_url:
            return False
        try:
            return requests.get(f"{self.management_url}/api/overview", auth=self._auth(),
                                timeout=3).ok
        except requests.RequestException:
            return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_broker() -> Broker:
    if "AMQP_URI" not in os.environ and docker_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        container = RabbitMqContainer("rabbitmq:3.13-management").start()
        host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
        management = f"http://{host}:{container.get_exposed_port(15672)}"
        return Broker(f"pyamqp://guest:guest@{host}:{port}/", management, container)
    return Broker(os.environ.get("AMQP_URI", LOCAL_AMQP),
                  os.environ.get("RABBITMQ_MANAGEMENT_URL", LOCAL_MANAGEMENT))


@dataclass
class PostgresServer:
    url: str
    container: object = None

    def close(self) -> None:
        if self.container is not None:
            self.container.stop()


def start_postgres() -> PostgresServer | None:
    if "TEST_POSTGRES_URL" not in os.environ and docker_available():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16", driver="psycopg2").start()
        return PostgresServer(container.get_connection_url(), container)
    url = os.environ.get("TEST_POSTGRES_URL", LOCAL_POSTGRES)
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return None
    return PostgresServer(url)


@contextlib.contextmanager
def make_database_urls(base_url: str, services=("consent", "logs", "handover", "notifications")):
    """Fresh databases, one per service, dropped afterwards."""
    from sqlalchemy import create_engine, text

    suffix = uuid.uuid4().hex[:10]
    names = {service: f"stafett_{service}_{suffix}" for service in services}
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    parts = urlsplit(base_url)
    try:
        yield {service: urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
               for service, name in names.items()}
    finally:
        with admin.connect() as connection:
            for name in names.values():
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
