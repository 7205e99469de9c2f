"""A lost broker connection during an ack or a reply does not kill a component.

nameko acks a message on the connection it came in on, and only forgives py-amqp's own
``ConnectionError`` there; a socket's ``ConnectionResetError`` (or kombu's
``OperationalError``) raised by the ack, or by publishing an RPC's reply, escapes the
worker and kills the whole container, and so the process (issue 14: a reset during an ack
took the logs container down for good). Here both are made survivable:

- an ack or requeue that fails because the connection is gone is logged and dropped: the
  broker gives every unacked message of a lost connection to the next consumer, and a
  redelivered state-changing RPC is answered from its record (``stafett.request_keys``);
- a reply that cannot be published is logged, and its request message is requeued (if
  its connection still lives; else the broker redelivers it anyway), so the call is
  answered again, from the record if it changed anything.

The queue consumers themselves already reconnect (kombu's ``ConsumerMixin``), but with
kombu's default pauses between attempts (2 s, 4 s, 6 s ... up to 30 s): after a broker
outage of a minute a consumer came back up to half a minute after the broker did. Here they
try every ``RECONNECT_INTERVAL_MAX`` (2) seconds at most, which costs the broker one refused
connection per consumer per interval while it is away. What still kills a container makes ``python -m stafett.run`` exit non-zero, and the supervisor
(Kubernetes, or ``make run``'s, stafett/dev/stack.py) starts it again.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager

log = logging.getLogger(__name__)

#: the longest pause between a queue consumer's attempts to reconnect, in seconds
RECONNECT_INTERVAL_START = 0.5
RECONNECT_INTERVAL_MAX = 2.0


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the broker connection (or its channel) is gone."""
    import amqp.exceptions
    from kombu.exceptions import OperationalError

    return isinstance(exc, (ConnectionError, OSError, OperationalError, EOFError,
                            amqp.exceptions.ConnectionError,
                            amqp.exceptions.RecoverableConnectionError,
                            amqp.exceptions.ChannelError))


def _forgiving(settle, what: str):
    @functools.wraps(settle)
    def wrapper(self, message):
        try:
            return settle(self, message)
        except Exception as exc:
            if not connection_lost(exc):
                raise
            log.warning("could not %s a message: its connection is gone; the broker "
                        "redelivers it", what, extra={"error": type(exc).__name__})
            return None

    wrapper.stafett_forgiving = True
    return wrapper


def _reply_forgiving(handle_result):
    @functools.wraps(handle_result)
    def wrapper(self, message, result, exc_info):
        try:
            return handle_result(self, message, result, exc_info)
        except Exception as exc:
            if not connection_lost(exc):
                raise
            log.warning("could not send an RPC reply: the broker connection is gone; the "
                        "request is requeued", extra={"error": type(exc).__name__})
            self.queue_consumer.requeue_message(message)  # forgiving, like the ack
            return result, exc_info

    wrapper.stafett_forgiving = True
    return wrapper


@contextmanager
def _establish_connection(self):
    """kombu's ``ConsumerMixin.establish_connection``, with short pauses between attempts."""
    with self.create_connection() as conn:
        conn.ensure_connection(self.on_connection_error, self.connect_max_retries,
                               interval_start=RECONNECT_INTERVAL_START,
                               interval_step=RECONNECT_INTERVAL_START,
                               interval_max=RECONNECT_INTERVAL_MAX)
        yield conn


_establish_connection.stafett_prompt = True


def install() -> None:
    """Patch nameko's queue consumer and RPC consumer (once; idempotent)."""
    from nameko.messaging import QueueConsumer
    from nameko.rpc import RpcConsumer

    if getattr(QueueConsumer.ack_message, "stafett_forgiving", False):
        return
    QueueConsumer.ack_message = _forgiving(QueueConsumer.ack_message, "ack")
    QueueConsumer.requeue_message = _forgiving(QueueConsumer.requeue_message, "requeue")
    RpcConsumer.handle_result = _reply_forgiving(RpcConsumer.handle_result)
    QueueConsumer.establish_connection = _establish_connection


install()
