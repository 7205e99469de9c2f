"""Events: the envelope, the transactional outbox and its relay, the inbox, and a
consumer that never loses a message.

Producers write an outbox row in the same transaction as the change
(``self.events.emit(self.db, ...)``). A relay greenthread in the same container publishes
unpublished rows to the nameko event exchange ``<source>.events`` (topic, routing key =
event type) with publisher confirms and ``mandatory``, then marks them published. It is
woken at the end of every worker that emitted, and polls as a safety net, so an event
written before a crash is published after the restart.

Consumers use ``@reliable_event_handler(source, type)``: a failing handler's message is
re-queued through a per-queue delay queue with capped exponential backoff (``Backoff``),
and once its retry budget (some 14 minutes by default) is spent it lands in
``<queue>.dlq`` for operations to inspect and replay (``stafett dlq``). Handlers make
their effect idempotent with ``first_delivery`` in the same transaction.

The delay and dead-letter queues hang off the consuming service's own direct exchange
``<service>.retry`` (the work queue is bound there too, under its own name), never the
default exchange: a component that may write to the default exchange can put a message
into any queue by its name (``stafett.broker``). Exchanges are checked, not declared
(``stafett.broker.ensure_exchanges``): no component may configure one.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass, field
from weakref import WeakKeyDictionary

import eventlet
from eventlet.queue import Empty, LightQueue
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import BROADCAST, EventHandler
from sqlalchemy import (JSON, Column, Integer, MetaData, String, Table, Text,
                        select, update)
from sqlalchemy.orm import Session


from stafett import broker, metrics
from stafett.actor import CONTEXT_KEY, Actor
from stafett.ids import new_id
from stafett.clock import as_utc, utcnow  # noqa: F401 (as_utc: imported from here too)
from stafett.background import Background
from stafett.db import UtcDateTime, sole_database
from stafett.config import flag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Envelope:
    """A fact that happened. Carries ids, never names or national identity numbers."""

    type: str
    source: str
    data: dict = field(default_factory=dict)
    version: int = 1
    event_id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=lambda: utcnow().isoformat())
    agency: str | None = None
    actor_ref: str | None = None
    child_id: str | None = None
    log_id: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict) -> "Envelope":
        return cls(**{k: v for k, v in payload.items() if k in cls.__dataclass_fields__})


# -- tables every service carries (created by each service's first migration) -----------

kernel_metadata = MetaData()

outbox_table = Table(
    "outbox", kernel_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("source", String(40), nullable=False),
    Column("type", String(80), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("headers", JSON, nullable=False, default=dict),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
)

inbox_table = Table(
    "inbox", kernel_metadata,
    Column("consumer", String(120), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
)


def first_delivery(session: Session, consumer: str, event_id: str) -> bool:
    """Record ``(consumer, event_id)`` in the caller's transaction; False if seen before.

    A concurrent duplicate loses on the primary key at commit, raises, and its retry
    then sees the row: the effect happens once.
    """
    seen = session.execute(
        select(inbox_table.c.event_id).where(inbox_table.c.consumer == consumer,
                                             inbox_table.c.event_id == event_id)
    ).first()
    if seen:
        return False
    session.execute(inbox_table.insert().values(consumer=consumer, event_id=event_id,
                                                received_at=utcnow()))
    return True


# -- producing -------------------------------------------------------------------------

class EventRecorder:
    def __init__(self, source: str, worker_ctx, on_emit):
        self._source = source
        self._worker_ctx = worker_ctx
        self._on_emit = on_emit

    def emit(self, session: Session, type: str, *, data: dict | None = None,
             child_id: str | None = None, log_id: str | None = None) -> Envelope:
        actor = Actor.from_context(self._worker_ctx.data.get(CONTEXT_KEY))
        envelope = Envelope(type=type, source=self._source, data=data or {},
                            child_id=child_id, log_id=log_id,
                            agency=actor.agency if actor else None,
                            actor_ref=actor.ref if actor else self._source)
        session.execute(outbox_table.insert().values(
            event_id=envelope.event_id, source=self._source, type=type,
            payload=envelope.to_dict(),
            headers={"nameko.call_id_stack": list(self._worker_ctx.call_id_stack)},
            created_at=utcnow(), attempts=0))
        self._on_emit(self._worker_ctx)
        return envelope


class Outbox(Background):
    """``events = Outbox()``: record events in the business transaction; relay publishes."""

    def __init__(self):
        self._emitted: WeakKeyDictionary = WeakKeyDictionary()
        self._wakeups = LightQueue()
        self._engine = None

    def setup(self):
        self._database = sole_database(self.container, "Outbox")
        config = self.container.config
        self._poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 1))
        self._batch = int(config.get("OUTBOX_BATCH", 100))
        self._publisher = Publisher(config[AMQP_URI_CONFIG_KEY], use_confirms=True,
                                    mandatory=True, serializer="json",
                                    ssl=config.get("AMQP_SSL"))
        self._exchange = Exchange(broker.events_exchange(self.container.service_name),
                                  type="topic", durable=True, no_declare=True)
        self._exchange_checked = False

    def start(self):
        metrics.heartbeat(self.container.service_name, "outbox_relay", self._poll_seconds)
        self.start_background(self._relay_forever, "outbox relay")

    def get_dependency(self, worker_ctx):
        return EventRecorder(self.container.service_name, worker_ctx, self._mark_emitted)

    def _mark_emitted(self, worker_ctx):
        self._emitted[worker_ctx] = True

    def worker_teardown(self, worker_ctx):
        # after the worker's transaction committed (or not): publish without waiting a poll
        if self._emitted.pop(worker_ctx, False) and self._wakeups.qsize() == 0:
            self._wakeups.put(None)

    def wake(self):
        self._wakeups.put(None)

    def _relay_forever(self):
        while True:
            try:
                self._wakeups.get(timeout=self._poll_seconds)
            except Empty:
                pass
            try:
                while self.publish_pending(self._batch) == self._batch:
                    pass
                metrics.heartbeat(self.container.service_name, "outbox_relay")
            except Exception:  # broker or database down: the rows wait for the next round
                log.warning("outbox relay round failed; will retry", exc_info=True)
                eventlet.sleep(self._poll_seconds)

    def publish_pending(self, batch: int = 100) -> int:
        """Publish up to ``batch`` unpublished events in order, row by row; returns how
        many it looked at.

        Each row is published in a short transaction of its own, which holds the row
        (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: two replicas' relays share the table
        without publishing a row twice) and commits it as published as soon as the broker
        confirmed it: a later failure never sends it again. A failed publish records
        ``attempts`` and ``last_error`` on its row and ends the round (the next rows wait,
        so events leave in order), raising the error."""
        engine = self._database.engine
        if not self._exchange_checked:  # in the relay: retried while the broker is away
            with broker.connection(self.container.config) as connection:
                broker.ensure_exchanges(connection, [self._exchange])
            self._exchange_checked = True
        with engine.connect() as connection:
            ids = connection.execute(
                select(outbox_table.c.id).where(outbox_table.c.published_at.is_(None))
                .order_by(outbox_table.c.id).limit(batch)).scalars().all()
        for row_id in ids:
            self._publish_row(engine, row_id)
        return len(ids)

    def _publish_row(self, engine, row_id: int) -> None:
        service = self.container.service_name
        with engine.begin() as connection:
            query = select(outbox_table).where(outbox_table.c.id == row_id,
                                               outbox_table.c.published_at.is_(None))
            if connection.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = connection.execute(query).first()
            if row is None:  # published meanwhile, or held by another relay
                return
            failure = None
            try:
                self._publisher.publish(
                    row.payload, exchange=self._exchange,
                    routing_key=row.type, extra_headers=row.headers or {},
                    message_id=row.event_id, delivery_mode=2)
            except UndeliverableMessage:
                # a fact nobody subscribes to yet is still published: count it
                metrics.EVENTS_UNROUTED.labels(service=service, type=row.type).inc()
            except Exception as exc:
                failure = exc
            if failure is not None:
                connection.execute(update(outbox_table).where(outbox_table.c.id == row.id)
                                   .values(attempts=outbox_table.c.attempts + 1,
                                           last_error=f"{type(failure).__name__}: "
                                                      f"{failure}"[:500]))
            else:
                metrics.EVENTS_PUBLISHED.labels(service=service, type=row.type).inc()
                connection.execute(update(outbox_table).where(outbox_table.c.id == row.id)
                                   .values(published_at=utcnow(),
                                           attempts=outbox_table.c.attempts + 1))
        if failure is not None:  # recorded and committed; the round ends here
            raise failure

    def pending_count(self) -> int:
        with self._database.engine.connect() as connection:
            return len(connection.execute(select(outbox_table.c.id).where(
                outbox_table.c.published_at.is_(None))).all())


# -- consuming -------------------------------------------------------------------------

ATTEMPT_HEADER = "x-stafett-attempt"
ERROR_HEADER = "x-stafett-error"


def retry_queue_name(queue_name: str) -> str:
    return f"{queue_name}.retry"


def dead_letter_queue_name(queue_name: str) -> str:
    return f"{queue_name}.dlq"


@dataclass(frozen=True)
class Backoff:
    """How a failing event handler's message (and a notification delivery: its courier's
    ``Settings.retry``, no budget) waits before its next attempt.

    For events (``from_config``): the delay doubles from ``EVENT_RETRY_BASE_SECONDS`` (1) up to
    ``EVENT_RETRY_MAX_DELAY_SECONDS`` (120), and attempts go on while the delays add up to
    at most ``EVENT_RETRY_BUDGET_SECONDS`` (900: a database outage of some 14 minutes needs
    no manual replay); then the message is dead-lettered. ``EVENT_MAX_ATTEMPTS``
    (0: none) caps the attempts as well. The delay is the message's TTL in the retry
    queue: one that waits behind a longer one waits for that one too (never less)."""

    base: float = 1.0
    cap: float = 120.0
    budget: float = 900.0
    max_attempts: int = 0

    @classmethod
    def from_config(cls, config) -> "Backoff":
        return cls(base=float(config.get("EVENT_RETRY_BASE_SECONDS", 1)),
                   cap=float(config.get("EVENT_RETRY_MAX_DELAY_SECONDS", 120)),
                   budget=float(config.get("EVENT_RETRY_BUDGET_SECONDS", 900)),
                   max_attempts=int(config.get("EVENT_MAX_ATTEMPTS") or 0))

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1, 2, ...)."""
        return min(self.cap, self.base * 2 ** min(attempt - 1, 60))

    def delay_after(self, attempt: int) -> float | None:
        """The wait before the next attempt, or None: dead-letter it."""
        if self.max_attempts and attempt >= self.max_attempts:
            return None
        spent = sum(self.delay(n) for n in range(1, attempt))
        delay = self.delay(attempt)
        return delay if spent + delay <= self.budget else None

    def schedule(self) -> list[float]:
        """Every wait a message that always fails goes through, in order."""
        waits, attempt = [], 1
        while (delay := self.delay_after(attempt)) is not None:
            waits.append(delay)
            attempt += 1
        return waits


class ReliableEventHandler(EventHandler):
    """An event handler whose failures are retried with backoff, then dead-lettered.

    nameko's own handler acks (and so loses) a message whose handler raised.
    """

    def setup(self):
        super().setup()
        config = self.container.config
        self.backoff = Backoff.from_config(config)
        name = self.queue.name
        quorum = flag(config.get("QUORUM_QUEUES"), True, "QUORUM_QUEUES")
        arguments = {"x-queue-type": "quorum"} if quorum else {}
        source = Exchange(broker.events_exchange(self.source_service), type="topic",
                          durable=True, no_declare=True)
        self.retry_exchange = Exchange(broker.retry_exchange(self.container.service_name),
                                       type="direct", durable=True, no_declare=True)
        self.queue = Queue(name, exchange=source, routing_key=self.event_type,
                           durable=True, auto_delete=False, queue_arguments=arguments)
        self.retry_queue = Queue(
            retry_queue_name(name), exchange=self.retry_exchange,
            routing_key=retry_queue_name(name), durable=True, queue_arguments={
                **arguments,
                # expired messages go back to the work queue via <service>.retry
                "x-dead-letter-exchange": self.retry_exchange.name,
                "x-dead-letter-routing-key": name})
        self.dead_letter_queue = Queue(
            dead_letter_queue_name(name), exchange=self.retry_exchange,
            routing_key=dead_letter_queue_name(name), durable=True, queue_arguments=arguments)
        with broker.connected(config) as connection:
            broker.ensure_exchanges(connection, [source, self.retry_exchange])
            channel = connection.default_channel
            for queue in (self.queue, self.retry_queue, self.dead_letter_queue):
                queue(channel).declare()
            # the work queue also takes its messages back from the retry exchange
            channel.queue_bind(name, self.retry_exchange.name, routing_key=name)
        self._publisher = Publisher(config[AMQP_URI_CONFIG_KEY], use_confirms=True,
                                    mandatory=True, serializer="json",
                                    ssl=config.get("AMQP_SSL"))

    def handle_message(self, body, message):
        # how old the fact is as this consumer gets it (retries included: they are late too)
        metrics.observe_event_lag(self.container.service_name, self.method_name, body)
        super().handle_message(body, message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        service = self.container.service_name
        headers = {k: v for k, v in (message.headers or {}).items()}
        headers[ERROR_HEADER] = f"{exc_info[0].__name__}: {exc_info[1]}"[:500]
        try:
            delay = self.backoff.delay_after(attempt)
            if delay is not None:
                headers[ATTEMPT_HEADER] = attempt + 1
                self._publisher.publish(message.payload, exchange=self.retry_exchange,
                                        routing_key=self.retry_queue.name,
                                        headers=headers, expiration=delay, delivery_mode=2)
                metrics.EVENT_RETRIES.labels(service=service, handler=self.method_name).inc()
            else:
                self._publisher.publish(message.payload, exchange=self.retry_exchange,
                                        routing_key=self.dead_letter_queue.name,
                                        headers=headers, delivery_mode=2)
                metrics.DEAD_LETTERS.labels(service=service, handler=self.method_name).inc()
                log.error("event dead-lettered", extra={"queue": self.queue.name,
                                                        "attempts": attempt})
        except Exception:
            # could not park it: give it back to the broker rather than lose it
            log.exception("could not publish retry; requeueing")
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


reliable_event_handler = ReliableEventHandler.decorator


class BroadcastEventHandler(EventHandler):
    """Every replica of the consuming service gets every matching event: for state each
    replica keeps in memory (the gateway's actor cache), where one replica of a pool
    taking the event would leave the others stale.

    The queue is the replica's own, ``evt-<source>-<key>--<service>.<handler>-<32 hex>``:
    exclusive and auto-deleted with its connection, so a replica that stops leaves nothing
    behind, and a replica that was not running has nothing to catch up on (its memory
    starts empty). No retries and no dead letters: what it does must not fail (dropping
    cached entries). The source's exchange is checked, never declared (no component may
    configure an exchange: stafett/broker.py); the grant is ``broadcasts`` in
    config/broker-access.yaml.
    """

    def __init__(self, source_service, event_type, **kwargs):
        super().__init__(source_service, event_type, handler_type=BROADCAST,
                         reliable_delivery=False, **kwargs)

    @property
    def broadcast_identifier(self) -> str:
        return uuid.uuid4().hex  # read once, in setup: one queue per replica and start

    def setup(self):
        super().setup()
        source = Exchange(broker.events_exchange(self.source_service), type="topic",
                          durable=True, no_declare=True)
        self.queue = Queue(self.queue.name, exchange=source, routing_key=self.event_type,
                           durable=False, auto_delete=True, exclusive=True)
        with broker.connected(self.container.config) as connection:
            broker.ensure_exchanges(connection, [source])


broadcast_event_handler = BroadcastEventHandler.decorator
