"""Test fixtures: real RabbitMQ and (optionally) real PostgreSQL, never stubs.

eventlet patches the standard library before anything else imports sockets.
A Docker engine, where one is reachable, gives throwaway servers through testcontainers;
otherwise the local servers are used (``AMQP_URI``, ``TEST_POSTGRES_URL``), with a fresh
RabbitMQ vhost and fresh databases per test so no test depends on another.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import contextlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests import shards  # noqa: E402
from tests.support.servers import (Broker, make_database_urls,  # noqa: E402
                                   start_broker, start_postgres)


TESTS = Path(__file__).resolve().parent
#: every folder under tests/ is a lane, marked with its name (pyproject.toml registers them)
LANES = ("unit", "integration", "e2e", "deploy", "browser")


def pytest_collection_modifyitems(config, items):
    for item in items:
        try:
            lane = Path(str(item.path)).resolve().relative_to(TESTS).parts[0]
        except (ValueError, IndexError):
            continue
        if lane in LANES:
            item.add_marker(lane)
    shards.select(config, items)  # `make test` runs the suite as shards side by side


def pytest_addoption(parser):
    parser.addoption("--database", choices=["sqlite", "postgres"],
                     default=os.environ.get("STAFETT_TEST_DATABASE", "sqlite"),
                     help="database backend for service tests (default sqlite)")


@pytest.fixture(scope="session")
def broker() -> Broker:
    broker = start_broker()
    broker.sweep_orphans()
    broker.create_component_users()
    yield broker
    broker.close()


@pytest.fixture
def amqp_uri(broker):
    with broker.vhost() as uri:
        yield uri


@pytest.fixture(scope="session")
def postgres_url():
    server = start_postgres()
    if server is None:
        pytest.skip("no PostgreSQL server reachable (set TEST_POSTGRES_URL)")
    yield server.url
    server.close()


@pytest.fixture
def database_backend(request):
    """``--database`` for the whole run, or a test's own ``indirect`` parametrisation."""
    return getattr(request, "param", None) or request.config.getoption("--database")


#: one database per service, and the gateway's (the web client's sessions)
DATABASES = ("consent", "logs", "handover", "notifications", "gateway")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """Each database of ``DATABASES`` migrated to head once per test process, as SQLite
    files in a folder of their own: ``database_urls`` gives every test a copy, so a platform
    start finds its databases at head (migrating five from empty costs seconds a start).
    Tests of the migrations themselves migrate their own empty files
    (tests/support/databases.py, tests/unit/test_kernel_migrations.py)."""
    from stafett.db import make_engine, migrate
    from tests.support.databases import migrations_of

    folder = tmp_path_factory.mktemp("migrated-sqlite")
    for name in DATABASES:
        engine = make_engine(f"sqlite:///{folder}/{name}.db")
        try:
            migrate(engine, migrations_of(name))
        finally:
            engine.dispose()  # the last connection closed: the WAL is checkpointed away
    return folder


@contextlib.contextmanager
def databases_in(request, folder: Path, backend: str):
    """One database per service, like production: fresh PG databases (dropped after), or
    SQLite files in ``folder`` copied from ``migrated_sqlite`` (at head: each service's
    start migrates nothing)."""
    if backend == "postgres":
        with make_database_urls(request.getfixturevalue("postgres_url"), DATABASES) as urls:
            yield urls
        return
    migrated = request.getfixturevalue("migrated_sqlite")
    for name in DATABASES:
        for file in migrated.glob(f"{name}.db*"):  # with its -wal/-shm, should any remain
            shutil.copyfile(file, folder / file.name)
    yield {name: f"sqlite:///{folder}/{name}.db" for name in DATABASES}


@pytest.fixture
def database_urls(request, tmp_path, database_backend):
    """This test's own databases (``databases_in``)."""
    with databases_in(request, tmp_path, database_backend) as urls:
        yield urls


@pytest.fixture
def sink(tmp_path):
    """A local SMTP server that keeps what it is sent (tests/support/notifications.py)."""
    from tests.support.notifications import SmtpSink

    sink = SmtpSink(tmp_path / "mail").start()
    yield sink
    sink.stop()


@pytest.fixture
def receiver():
    """A webhook endpoint on loopback that keeps what it is sent."""
    from tests.support.notifications import WebhookReceiver

    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def platform(container_factory, amqp_uri, database_urls, tmp_path):
    """All four services and the gateway, running over the real broker."""
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start()
    yield platform
    platform.close()


@pytest.fixture(scope="module")
def start_shared_platform(request, broker, tmp_path_factory):
    """``start_shared_platform(**overrides)``: the whole platform, started once for a
    module's tests that only read (each start its own vhost, databases and folder; closed
    after the module's last test). A test that writes, or stops a service, keeps its own
    ``platform``, so the shared one reads the same whichever tests ran before."""
    from nameko.containers import get_container_cls

    from tests.support.platform import Platform

    def container_factory(service_cls, config):
        return get_container_cls(config)(service_cls, config)

    with contextlib.ExitStack() as stack:
        def start(**overrides) -> Platform:
            folder = tmp_path_factory.mktemp("shared-platform")
            amqp_uri = stack.enter_context(broker.vhost())
            urls = stack.enter_context(
                databases_in(request, folder, request.config.getoption("--database")))
            platform = Platform(container_factory, amqp_uri, urls, folder, **overrides)
            stack.callback(platform.close)  # every container, even if one failed to start
            platform.start()
            return platform
        yield start


@pytest.fixture(scope="module")
def seeded_platform(start_shared_platform):
    """The seeded demo platform (``Platform.seed``), shared by a module's tests that only
    read; those that write, or stop a service, start their own ``platform``."""
    platform = start_shared_platform()
    platform.seed()
    return platform
