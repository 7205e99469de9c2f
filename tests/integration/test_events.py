"""The event plumbing over a real broker: outbox, relay, retries, dead letters, inbox."""

import pytest
import requests
from kombu import Connection
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import create_engine, select

from stafett import dlq
from stafett.db import Database, migrate
from stafett.events import (Envelope, Outbox, dead_letter_queue_name, first_delivery,
                            outbox_table, reliable_event_handler, utcnow)
from stafett.service import ServiceBase
from tests.support.databases import migrations_of
from tests.support.platform import free_port, wait_for



class Producer(ServiceBase):
    name = "producer"
    db = Database(migrations_of("notifications"))  # any service's: the kernel tables
    events = Outbox()

    @rpc
    def change(self, fail: bool = False) -> str:
        envelope = self.events.emit(self.db, "thing.changed", data={"n": 1})
        if fail:
            raise RuntimeError("business rule failed after the event was recorded")
        self.db.commit()
        return envelope.event_id


class Consumer(ServiceBase):
    name = "consumer"
    db = Database(migrations_of("notifications"))  # any service's: the kernel tables
    failures_left = 0
    effects: list = []

    @reliable_event_handler("producer", "thing.changed")
    def on_changed(self, payload):
        if Consumer.failures_left:
            Consumer.failures_left -= 1
            raise RuntimeError("transient failure")
        event = Envelope.from_dict(payload)
        if first_delivery(self.db, "consumer.on_changed", event.event_id):
            Consumer.effects.append(event.event_id)
        self.db.commit()


@pytest.fixture
def config(amqp_uri, tmp_path):
    def make(name):
        return {"AMQP_URI": amqp_uri, "DATABASE_URL": f"sqlite:///{tmp_path}/{name}.db",
                "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}", "OUTBOX_POLL_SECONDS": 0.2,
                "EVENT_MAX_ATTEMPTS": 3, "EVENT_RETRY_BASE_SECONDS": 0.05}
    Consumer.failures_left, Consumer.effects = 0, []
    return make


def start(container_factory, service, config):
    container = container_factory(service, config)
    container.start()
    return container


def test_event_is_published_after_commit_and_consumed(container_factory, config):
    producer = start(container_factory, Producer, config("producer"))
    consumer = start(container_factory, Consumer, config("consumer"))
    from nameko.testing.services import entrypoint_hook

    with entrypoint_waiter(consumer, "on_changed"):
        with entrypoint_hook(producer, "change") as change:
            event_id = change()
    assert Consumer.effects == [event_id]


def test_a_failed_transaction_publishes_nothing(container_factory, config):
    producer_config = config("producer")
    producer = start(container_factory, Producer, producer_config)
    from nameko.testing.services import entrypoint_hook

    with entrypoint_hook(producer, "change") as change:
        with pytest.raises(RuntimeError):
            change(fail=True)
    engine = create_engine(producer_config["DATABASE_URL"])
    with engine.connect() as connection:
        assert connection.execute(select(outbox_table)).all() == []


def test_an_event_recorded_before_a_crash_is_published_after_restart(container_factory,
                                                                     config):
    producer_config = config("producer")
    engine = create_engine(producer_config["DATABASE_URL"])
    migrate(engine, migrations_of("notifications"))
    event = Envelope(type="thing.changed", source="producer", data={"n": 2})
    with engine.begin() as connection:  # as if the process died right after committing
        connection.execute(outbox_table.insert().values(
            event_id=event.event_id, source="producer", type=event.type,
            payload=event.to_dict(), headers={}, created_at=utcnow(), attempts=0))
    consumer = start(container_factory, Consumer, config("consumer"))
    with entrypoint_waiter(consumer, "on_changed", timeout=10):
        start(container_factory, Producer, producer_config)
    assert Consumer.effects == [event.event_id]
    with engine.connect() as connection:
        row = connection.execute(select(outbox_table)).one()
    assert row.published_at is not None


def test_a_transient_failure_is_retried_with_backoff(container_factory, config):
    producer = start(container_factory, Producer, config("producer"))
    start(container_factory, Consumer, config("consumer"))
    Consumer.failures_left = 2
    from nameko.testing.services import entrypoint_hook

    with entrypoint_hook(producer, "change") as change:
        event_id = change()
    wait_for(lambda: Consumer.effects == [event_id], timeout=10, message="the retried effect")
    assert Consumer.failures_left == 0


def test_a_message_that_keeps_failing_is_dead_lettered_and_can_be_replayed(
        container_factory, config, amqp_uri):
    producer = start(container_factory, Producer, config("producer"))
    consumer = start(container_factory, Consumer, config("consumer"))
    Consumer.failures_left = 3  # == EVENT_MAX_ATTEMPTS: every attempt fails
    from nameko.testing.services import entrypoint_hook

    with entrypoint_hook(producer, "change") as change:
        event_id = change()
    work_queue = "evt-producer-thing.changed--consumer.on_changed"
    dead_letters = dead_letter_queue_name(work_queue)
    wait_for(lambda: dlq.dead_letter_depths(amqp_uri, [dead_letters])[dead_letters] == 1,
             timeout=10, message="the dead letter")
    assert Consumer.effects == []
    parked = dlq.DeadLetters(amqp_uri).show(dead_letters)  # shown, left in place
    assert dlq.dead_letter_depths(amqp_uri, [dead_letters])[dead_letters] == 1
    assert parked[0]["event_id"] == event_id and parked[0]["attempts"] == 3
    assert "transient failure" in parked[0]["error"]

    # operations fix the cause and replay: the effect happens, exactly once
    with entrypoint_waiter(consumer, "on_changed"):
        assert dlq.replay(amqp_uri, dead_letters) == 1
    assert Consumer.effects == [event_id]
    assert dlq.dead_letter_depths(amqp_uri, [dead_letters])[dead_letters] == 0


def test_event_queues_are_quorum_queues_when_the_broker_has_them(container_factory, config,
                                                                  broker, amqp_uri):
    start(container_factory, Consumer, config("consumer"))
    vhost = amqp_uri.rsplit("/", 1)[1]
    queue = "evt-producer-thing.changed--consumer.on_changed"
    for name in (queue, queue + ".retry", queue + ".dlq"):
        info = requests.get(f"{broker.management_url}/api/queues/{vhost}/{name}",
                            auth=("guest", "guest"), timeout=30).json()
        assert info["type"] == "quorum" and info["durable"] is True


def test_a_duplicate_delivery_has_one_effect(container_factory, config, amqp_uri):
    consumer = start(container_factory, Consumer, config("consumer"))
    event = Envelope(type="thing.changed", source="producer", data={})
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        for _ in range(2):
            with entrypoint_waiter(consumer, "on_changed"):
                producer.publish(event.to_dict(), exchange="producer.events",
                                 routing_key="thing.changed", serializer="json")
    assert Consumer.effects == [event.event_id]
