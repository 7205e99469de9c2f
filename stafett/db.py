"""Database plumbing: engine construction, Alembic at start, a session per nameko worker.

nameko-sqlalchemy does not support SQLAlchemy 2, so this is the small replacement:
the engine lives as long as the container, each worker gets its own ``Session`` which is
closed (and so rolled back if uncommitted) in ``worker_teardown``.

``one_transaction(session)`` holds what a worker commits until the end of a block, so it
commits together with what is written last (``stafett.request_keys``: an entrypoint's
answer with its effect): inside it the session's commits and rollbacks are savepoints of
one transaction. A worker that calls another service right after a commit expects that
service to see it: ``before_calling_out`` (the RPC proxies call it) commits what is held
for real first.
"""
from __future__ import annotations

import hashlib
import logging
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from weakref import WeakKeyDictionary

from alembic import command
from eventlet.semaphore import Semaphore
from alembic.config import Config as AlembicConfig
from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, String, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from stafett import metrics
from stafett.clock import as_utc, to_utc, utc_wall_time
from stafett.config import flag

log = logging.getLogger(__name__)


class UtcDateTime(TypeDecorator):
    """The one column type for every timestamp: an instant, stored in UTC on every database.

    On the way in it takes an aware ``datetime`` in any zone (a meeting typed in Oslo time
    arrives as ``+01:00`` or ``+02:00``) and stores that instant in UTC; a naive one is
    refused (``ValueError``), because nobody can tell which zone it meant. On the way out it
    gives an aware UTC ``datetime``: PostgreSQL's ``timestamptz`` is converted to UTC
    whatever the session's zone, and SQLite's naive text is read as the UTC it was written
    as. Comparisons in queries go through the same conversion, so a bound Oslo time compares
    as its instant on SQLite too (whose stored text compares as text).

    SQLite rows written before this type (the wall time of whatever offset came in, without
    the offset) are not rewritten: they were development data.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self):
        return datetime

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a timestamp column takes a datetime, not {type(value).__name__}")
        return utc_wall_time(value) if dialect.name == "sqlite" else to_utc(value)

    def process_result_value(self, value, dialect):
        # SQLite gives back the naive UTC written above; PostgreSQL an aware one
        return None if value is None else as_utc(value).astimezone(timezone.utc)


class Keyed:
    """A table's mixin: its key ``id``, a random UUID (``stafett.ids.new_id``), the first
    column."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, sort_order=-2)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite has one writer anyway, and its busy-wait is a
        # blocking C call that would stall every greenthread. Waiting for the pooled
        # connection is cooperative instead (the pool's lock is green under eventlet).
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 30)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # pysqlite begins a transaction only before a write, so a SAVEPOINT before the
            # first write began one of its own and its RELEASE committed: SQLAlchemy says
            # when a transaction begins instead (its documented recipe), and savepoints
            # nest in it (one_transaction)
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # on the driver's connection: no statement of the application's to count
            connection.connection.driver_connection.execute("BEGIN")

        return engine
    # psycopg2 yields to the eventlet hub (eventlet patches it), so a pool of real
    # connections serves concurrent workers; pre-ping survives a database restart.
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def instrument(engine: Engine, service: str) -> None:
    """Time every statement into ``stafett_db_query_duration_seconds{service}``."""
    histogram = metrics.DB_QUERY_DURATION.labels(service=service)
    errors = metrics.DB_QUERY_ERRORS.labels(service=service)

    @event.listens_for(engine, "before_cursor_execute")
    def _started(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("stafett.query_started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _finished(conn, cursor, statement, parameters, context, executemany):
        started = conn.info.get("stafett.query_started")
        if started:
            histogram.observe(time.perf_counter() - started.pop())

    @event.listens_for(engine, "handle_error")
    def _failed(context):
        errors.inc()
        started = context.connection.info.get("stafett.query_started") \
            if context.connection is not None else None
        if started:
            started.pop()


class PoolGauges:
    """The engine's connection pool at scrape time: checked out, idle, overflow, size."""

    def __init__(self, engine: Engine, service: str):
        self.engine, self.service = engine, service

    def refresh(self) -> None:
        pool = self.engine.pool
        for state, reading in (("checked_out", "checkedout"), ("idle", "checkedin"),
                               ("overflow", "overflow")):
            read = getattr(pool, reading, None)
            if read is not None:
                metrics.DB_POOL_CONNECTIONS.labels(service=self.service, state=state).set(
                    max(0, read()))
        size = getattr(pool, "size", None)
        if size is not None:
            metrics.DB_POOL_SIZE.labels(service=self.service).set(size())


#: Alembic's ``context`` and ``op`` are process-wide proxies: two services of one process
#: (the test platform, which starts its containers side by side) must not migrate at once
_MIGRATING = Semaphore(1)


def migrate(engine: Engine, migrations_dir: str | Path) -> None:
    """Upgrade to head. On PostgreSQL an advisory lock keeps two replicas from racing."""
    alembic_config = AlembicConfig()
    alembic_config.set_main_option("script_location", str(migrations_dir))
    with _MIGRATING, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            lock_id = int(hashlib.sha1(str(migrations_dir).encode()).hexdigest()[:15], 16)
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "head")


def sole_database(container, user: str) -> "Database":
    """The service's one ``Database`` dependency, for the dependency provider ``user``."""
    databases = [d for d in container.dependencies if isinstance(d, Database)]
    if len(databases) != 1:
        raise RuntimeError(f"{user} needs exactly one Database dependency in the service")
    return databases[0]


def upsert(session: Session, model, values: dict) -> None:
    """``INSERT … ON CONFLICT (primary key) DO UPDATE``: two transactions adding the same
    row at once both succeed, the later values winning, where an ORM ``get() or add()``
    lets one of them fail on a duplicate key (PostgreSQL and SQLite)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"upsert on {dialect}")
    keys = [column.name for column in model.__table__.primary_key.columns]
    statement = insert(model).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: statement.excluded[name] for name in values if name not in keys})
    session.execute(statement)
    loaded = session.identity_map.get(
        session.identity_key(model, tuple(values[name] for name in keys)))
    if loaded is not None:
        session.expire(loaded)  # read again from the row just written


HELD = "stafett.held"


class Held:
    """What ``one_transaction`` holds: a connection and its transaction, taken from the
    pool when the session first needs one (none is held while nothing is)."""

    def __init__(self, session: Session, engine: Engine):
        self.session, self.engine = session, engine
        self.connection = self.transaction = None
        #: something held was committed for real before the end (``release``)
        self.released_early = False

    def bind(self, *_args, **_kwargs):
        """The session's ``get_bind``: the held connection, in its transaction."""
        if self.connection is None:
            connection = self.engine.connect()
            try:
                self.transaction = connection.begin()
            except BaseException:
                connection.close()
                raise
            self.connection = connection
        return self.connection

    def commit(self) -> None:
        """Commit the session's savepoint and the transaction around it: for real."""
        if self.session.in_transaction():
            self.session.commit()
        self._end(commit=True)

    def release(self) -> None:
        """Commit what is held now, if the session committed its last work (before a call
        to another service that should see it), and give the connection back to the pool:
        holding goes on with the next statement. Work in progress is never committed
        half-way: then nothing happens."""
        if self.connection is None or self.session.in_transaction():
            return
        self._end(commit=True)
        self.released_early = True

    def _end(self, commit: bool) -> None:
        connection, transaction = self.connection, self.transaction
        if connection is None:
            return
        self.connection = self.transaction = None
        try:
            if transaction.is_active:
                transaction.commit() if commit else transaction.rollback()
        finally:
            connection.close()


@contextmanager
def one_transaction(session: Session):
    """Inside the block, what ``session`` commits is held, and commits for real (all of it,
    in one transaction) on ``held.commit()``; without that, or on an exception, it is
    rolled back. ``session.commit()`` inside is a savepoint's release and
    ``session.rollback()`` goes back to the last one, so the code inside works unchanged
    (a refusal rolls back its work and commits its audit record, as ever)."""
    if session.in_transaction():
        raise RuntimeError("one_transaction starts on a session outside a transaction")
    held = Held(session, session.get_bind())
    mode = session.join_transaction_mode
    session.get_bind, session.join_transaction_mode = held.bind, "create_savepoint"
    session.info[HELD] = held
    try:
        yield held
    finally:
        session.info.pop(HELD, None)
        try:
            session.rollback()  # a savepoint left open: nothing of it commits
        finally:
            del session.get_bind  # the class's again
            session.join_transaction_mode = mode
            held._end(commit=False)


def before_calling_out(worker_ctx) -> None:
    """A worker calls another service: what its session committed is committed for real
    (``Held.release``), so the other service sees it, as it would without holding."""
    dependencies = getattr(getattr(worker_ctx, "container", None), "dependencies", ())
    if not isinstance(dependencies, (set, frozenset, list, tuple)):
        return  # a worker without a container (a test's stand-in)
    for dependency in dependencies:
        if isinstance(dependency, Database):
            session = dependency.sessions.get(worker_ctx)
            held = session.info.get(HELD) if session is not None else None
            if held is not None:
                held.release()


class Database(DependencyProvider):
    """``db = Database(migrations_dir)`` gives each worker ``self.db``, a fresh Session.

    Without ``migrations_dir``: the ``migrations`` folder beside the service class's module
    (``services/<name>/migrations`` for ``services/<name>/service.py``)."""

    def __init__(self, migrations_dir: str | Path | None = None):
        self.migrations_dir = Path(migrations_dir) if migrations_dir is not None else None
        self.engine: Engine | None = None
        self.sessions: WeakKeyDictionary = WeakKeyDictionary()
        self.pool_gauges: PoolGauges | None = None

    def setup(self):
        if self.migrations_dir is None:
            module = sys.modules[self.container.service_cls.__module__]
            self.migrations_dir = Path(module.__file__).parent / "migrations"
        config = self.container.config
        self.engine = make_engine(config["DATABASE_URL"])
        if flag(config.get("MIGRATE_ON_START"), True, "MIGRATE_ON_START"):
            migrate(self.engine, self.migrations_dir)
        instrument(self.engine, self.container.service_name)
        self.pool_gauges = PoolGauges(self.engine, self.container.service_name)

    def start(self):
        metrics.register_refresher(self.pool_gauges)

    def stop(self):
        if self.pool_gauges is not None:
            metrics.unregister_refresher(self.pool_gauges)
        if self.engine is not None:
            self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        session = Session(self.engine, expire_on_commit=False)
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


