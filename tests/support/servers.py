"""Real servers for tests: testcontainers when Docker is reachable, local ones otherwise."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import requests

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


@dataclass
class Broker:
    amqp_uri: str               # root vhost URI, e.g. pyamqp://guest:guest@host:5672/
    management_url: str | None
    container: object = None

    def close(self) -> None:
        if self.container is not None:
            self.container.stop()

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

    @contextlib.contextmanager
    def vhost(self):
        """A fresh vhost for one test, deleted afterwards."""
        name = f"stafett-test-{os.getpid()}-{uuid.uuid4().hex[:10]}"
        user, _ = self._auth()
        if self._management_ok():
            api = f"{self.management_url}/api"
            requests.put(f"{api}/vhosts/{name}", auth=self._auth(), timeout=60).raise_for_status()
            requests.put(f"{api}/permissions/{name}/{user}", auth=self._auth(), timeout=60,
                         json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
            try:
                yield self._with_vhost(name)
            finally:
                requests.delete(f"{api}/vhosts/{name}", auth=self._auth(), timeout=120)
        else:
            rabbitmqctl = shutil.which("rabbitmqctl")
            if rabbitmqctl is None:
                raise RuntimeError("need the RabbitMQ management plugin or rabbitmqctl")
            subprocess.run([rabbitmqctl, "add_vhost", name], check=True, capture_output=True)
            subprocess.run([rabbitmqctl, "set_permissions", "-p", name, user, ".*", ".*", ".*"],
                           check=True, capture_output=True)
            try:
                yield self._with_vhost(name)
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
