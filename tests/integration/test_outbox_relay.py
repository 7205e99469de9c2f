"""The outbox relay publishes row by row, commits each confirmed row, records a failure on
its row, and never publishes a confirmed row again (issue 14)."""

import pytest
from nameko.rpc import rpc
from sqlalchemy import create_engine, select

from stafett.db import Database, migrate
from stafett.events import Envelope, Outbox, outbox_table, utcnow
from stafett.service import ServiceBase
from tests.support.databases import migrations_of
from tests.support.platform import free_port



class Producer(ServiceBase):
    name = "producer"
    db = Database(migrations_of("notifications"))  # any service's: the kernel tables
    events = Outbox()

    @rpc
    def nothing(self) -> None:
        return None


@pytest.fixture
def relay(container_factory, amqp_uri, tmp_path):
    """The producer's outbox, its relay idle (the test drives it), three rows waiting."""
    url = f"sqlite:///{tmp_path}/producer.db"
    engine = create_engine(url)
    migrate(engine, migrations_of("notifications"))
    with engine.begin() as connection:
        for n in range(3):
            event = Envelope(type="thing.changed", source="producer", data={"n": n})
            connection.execute(outbox_table.insert().values(
                event_id=event.event_id, source="producer", type=event.type,
                payload=event.to_dict(), headers={}, created_at=utcnow(), attempts=0))
    container = container_factory(Producer, {
        "AMQP_URI": amqp_uri, "DATABASE_URL": url, "OUTBOX_POLL_SECONDS": 3600,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"})
    container.start()
    outbox = next(d for d in container.dependencies if isinstance(d, Outbox))
    yield outbox, engine
    engine.dispose()


def rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(outbox_table).order_by(outbox_table.c.id)).all()


def test_a_failed_publish_is_recorded_and_what_was_confirmed_is_never_sent_again(
        relay, monkeypatch):
    outbox, engine = relay
    sent, real_publish = [], outbox._publisher.publish

    def flaky(payload, **kwargs):  # the broker goes away at the second row
        if kwargs["message_id"] == rows(engine)[1].event_id and not flaky.failed:
            flaky.failed = True
            raise ConnectionResetError("connection reset by peer")
        sent.append(kwargs["message_id"])
        return real_publish(payload, **kwargs)

    flaky.failed = False
    monkeypatch.setattr(outbox._publisher, "publish", flaky)
    with pytest.raises(ConnectionResetError):
        outbox.publish_pending(batch=10)
    first, second, third = rows(engine)
    assert first.published_at is not None and first.attempts == 1  # committed at once
    assert second.published_at is None and second.attempts == 1
    assert second.last_error == "ConnectionResetError: connection reset by peer"
    assert third.published_at is None and third.attempts == 0  # waits: order is kept

    assert outbox.publish_pending(batch=10) == 2
    assert sent == [first.event_id, second.event_id, third.event_id]  # each exactly once
    assert all(row.published_at is not None for row in rows(engine))
    assert rows(engine)[1].attempts == 2


def test_rounds_are_bounded_batches(relay, monkeypatch):
    outbox, engine = relay
    assert outbox.publish_pending(batch=2) == 2
    assert [row.published_at is not None for row in rows(engine)] == [True, True, False]
    assert outbox.publish_pending(batch=2) == 1
    assert outbox.publish_pending(batch=2) == 0
