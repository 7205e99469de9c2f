"""psycopg2 under eventlet yields while PostgreSQL works, so concurrent workers overlap.

Eight RPCs each hold a database connection in ``pg_sleep(0.5)``. Overlapping, they take
about 0.5 s; a driver that blocked the eventlet hub would serialise them to 4 s.
"""
import time
from pathlib import Path

from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text

from stafett.db import Database
from tests.support.platform import free_port
from tests.support.servers import make_database_urls

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifications" / "migrations"
CALLS, SLEEP = 8, 0.5


class Sleeper:
    name = "sleeper"
    db = Database(MIGRATIONS)

    @rpc
    def sleep(self) -> float:
        started = time.monotonic()
        self.db.execute(text("SELECT pg_sleep(:s)"), {"s": SLEEP})
        self.db.commit()
        return time.monotonic() - started


def test_concurrent_postgres_queries_overlap(container_factory, amqp_uri, postgres_url):
    with make_database_urls(postgres_url, services=("sleeper",)) as urls:
        container = container_factory(Sleeper, {
            "AMQP_URI": amqp_uri, "DATABASE_URL": urls["sleeper"],
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}", "max_workers": CALLS})
        container.start()
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as proxy:
            proxy.sleeper.sleep()  # warm the pool
            started = time.monotonic()
            replies = [proxy.sleeper.sleep.call_async() for _ in range(CALLS)]
            durations = [reply.result() for reply in replies]
            elapsed = time.monotonic() - started
        container.stop()
    assert all(d >= SLEEP * 0.9 for d in durations)  # each really waited in PostgreSQL
    assert elapsed < SLEEP * CALLS / 2, f"{CALLS} x {SLEEP}s took {elapsed:.2f}s: serialised"
