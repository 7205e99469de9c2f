"""Dead letters for operations (``stafett dlq``, stafett/cli.py).

A dead-letter queue is ``<work queue>.dlq``: events a consumer failed on until their retry
budget was spent (``EVENT_RETRY_BUDGET_SECONDS``, stafett/events.py). Listing and showing
go through the RabbitMQ management API, and showing leaves every message where it is (``get`` with
``ack_requeue_true``: the broker hands them back itself). Replaying moves messages back to
their work queue with fresh attempts, over AMQP with publisher confirms, each acked only
after the broker confirmed its copy; what a filter leaves out is handed back untouched.
The consumer's inbox keeps a replayed event's effect idempotent.

Credentials, host and vhost come from the AMQP URI (the operator's, ``AMQP_URI``); the
management API's URL is ``RABBITMQ_MANAGEMENT_URL`` or derived from it (same host, port
15672, https when the URI is amqps). Every failure is a ``BrokerError`` with a short code and
a sentence: no such queue or vhost, the broker refused the user, the broker unreachable.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import fnmatch  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import datetime  # noqa: E402
from urllib.parse import quote, unquote, urlsplit  # noqa: E402

import amqp.exceptions  # noqa: E402
import requests  # noqa: E402
from kombu import Connection, Queue  # noqa: E402

from stafett.clock import parse_utc, utcnow  # noqa: E402
from stafett.events import ATTEMPT_HEADER, ERROR_HEADER  # noqa: E402

DLQ_SUFFIX = ".dlq"
MANAGEMENT_PORT = 15672
#: at most this many messages are shown or replayed in one command
MAX_MESSAGES = 10_000


class BrokerError(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Filter:
    """Which parked events a command takes: by type (a glob: ``log.*``) and by age (seconds
    since the event's ``occurred_at``)."""

    type: str | None = None
    older_than: float | None = None
    newer_than: float | None = None

    def matches(self, entry: dict) -> bool:
        if self.type and not fnmatch.fnmatchcase(entry.get("type") or "", self.type):
            return False
        age = entry.get("age_seconds")
        if self.older_than is not None and (age is None or age < self.older_than):
            return False
        if self.newer_than is not None and (age is None or age > self.newer_than):
            return False
        return True


def work_queue_of(dlq_name: str) -> str:
    if not dlq_name.endswith(DLQ_SUFFIX) or dlq_name == DLQ_SUFFIX:
        raise BrokerError("not_a_dead_letter_queue",
                          f"{dlq_name!r} is no dead-letter queue (their names end in .dlq)")
    return dlq_name[: -len(DLQ_SUFFIX)]


def describe(payload, headers: dict | None, now: datetime | None = None) -> dict:
    """What operations see of a parked event: ids, type, age, attempts and the last error
    (events carry ids, never names)."""
    if isinstance(payload, (bytes, str)):
        try:
            payload = json.loads(payload)
        except ValueError:
            payload = {}
    payload = payload if isinstance(payload, dict) else {}
    headers = headers or {}
    occurred, age = payload.get("occurred_at"), None
    if occurred:
        try:
            moment = parse_utc(occurred)
            age = round(((now or utcnow()) - moment).total_seconds(), 1)
        except ValueError:
            pass
    return {"event_id": payload.get("event_id"), "type": payload.get("type"),
            "source": payload.get("source"), "occurred_at": occurred, "age_seconds": age,
            "attempts": headers.get(ATTEMPT_HEADER), "error": headers.get(ERROR_HEADER)}


class DeadLetters:
    def __init__(self, amqp_uri: str, management_url: str | None = None, ssl=None,
                 timeout: float = 10):
        parts = urlsplit(amqp_uri)
        self.amqp_uri, self.ssl, self.timeout = amqp_uri, ssl, timeout
        self.user = unquote(parts.username or "guest")
        self.password = unquote(parts.password or "guest")
        self.host = parts.hostname or "127.0.0.1"
        self.vhost = unquote(parts.path[1:]) if parts.path not in ("", "/") else "/"
        secure = parts.scheme.startswith("amqps") or bool(ssl)
        self.management_url = (management_url or
                               f"{'https' if secure else 'http'}://{self.host}:{MANAGEMENT_PORT}"
                               ).rstrip("/")

    # -- the management API --------------------------------------------------------------

    def _api(self, method: str, path: str, **kwargs):
        url = f"{self.management_url}/api/{path}"
        try:
            response = requests.request(method, url, auth=(self.user, self.password),
                                        timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise BrokerError("unreachable", f"cannot reach the RabbitMQ management API at "
                              f"{self.management_url} ({type(exc).__name__}); set "
                              "RABBITMQ_MANAGEMENT_URL or --management-url") from None
        if response.status_code == 401:
            raise BrokerError("access_refused", f"the broker refused the user {self.user!r}: "
                              "wrong user or password (from the AMQP URI)")
        if response.status_code == 403:
            raise BrokerError("access_refused", f"the user {self.user!r} may not use the "
                              f"management API for vhost {self.vhost!r}")
        return response

    def list(self) -> list[dict]:
        """Every dead-letter queue of the vhost (named by the management API), its depth
        now (asked of the queue itself: the API's counts lag by seconds) and work queue."""
        response = self._api("GET", f"queues/{quote(self.vhost, safe='')}",
                             params={"columns": "name"})
        if response.status_code == 404:
            raise BrokerError("no_such_vhost", f"no vhost {self.vhost!r} on the broker")
        response.raise_for_status()
        names = sorted(q["name"] for q in response.json() if q["name"].endswith(DLQ_SUFFIX))
        depths = self.depths(names) if names else {}
        return [{"queue": name, "vhost": self.vhost, "messages": depths[name],
                 "work_queue": name[: -len(DLQ_SUFFIX)]} for name in names]

    def show(self, queue: str, limit: int = 50, only: Filter = Filter()) -> list[dict]:
        """Up to ``limit`` parked events from the head of ``queue`` that match ``only``; the
        broker puts every message back (management ``get`` with ``ack_requeue_true``)."""
        work_queue_of(queue)
        response = self._api(
            "POST", f"queues/{quote(self.vhost, safe='')}/{quote(queue, safe='')}/get",
            json={"count": max(1, min(int(limit), MAX_MESSAGES)), "ackmode": "ack_requeue_true",
                  "encoding": "auto", "truncate": 100_000})
        if response.status_code == 404:
            raise BrokerError("no_such_queue", f"no queue {queue!r} in vhost {self.vhost!r}")
        response.raise_for_status()
        shown = []
        for message in response.json():
            entry = describe(message.get("payload"),
                             (message.get("properties") or {}).get("headers"))
            if only.matches(entry):
                shown.append(entry)
        return shown

    # -- AMQP ------------------------------------------------------------------------------

    def _connection(self) -> Connection:
        connection = Connection(self.amqp_uri, ssl=self.ssl, connect_timeout=self.timeout,
                                transport_options={"confirm_publish": True})
        try:
            connection.connect()
        except amqp.exceptions.AccessRefused:
            raise BrokerError("access_refused", f"the broker refused the user {self.user!r}: "
                              "wrong user or password (from the AMQP URI)") from None
        except amqp.exceptions.NotAllowed:
            raise BrokerError("no_such_vhost", f"no vhost {self.vhost!r} on the broker, or "
                              f"the user {self.user!r} may not use it") from None
        except (OSError, socket.timeout) as exc:
            raise BrokerError("unreachable", f"cannot reach the broker at {self.host} "
                              f"({type(exc).__name__})") from None
        return connection

    def _depth(self, channel, queue: str) -> int:
        try:
            _, count, _ = channel.queue_declare(queue, passive=True)
        except amqp.exceptions.NotFound:
            raise BrokerError("no_such_queue",
                              f"no queue {queue!r} in vhost {self.vhost!r}") from None
        except amqp.exceptions.AccessRefused:
            raise BrokerError("access_refused",
                              f"the user {self.user!r} may not read {queue!r}") from None
        return count

    def depths(self, queues: list[str]) -> dict[str, int]:
        with self._connection() as connection:
            channel = connection.channel()
            return {queue: self._depth(channel, queue) for queue in queues}

    def replay(self, queue: str, limit: int | None = None, only: Filter = Filter(),
               dry_run: bool = False) -> dict:
        """Move up to ``limit`` parked events matching ``only`` from ``queue`` back to its
        work queue, attempts reset. With ``dry_run`` nothing moves: the answer says what
        would. Messages left out are handed back to the dead-letter queue untouched."""
        work_queue = work_queue_of(queue)
        limit = MAX_MESSAGES if limit is None else max(0, min(int(limit), MAX_MESSAGES))
        moved, kept, events = 0, 0, []
        with self._connection() as connection:
            channel = connection.channel()
            parked = self._depth(channel, queue)
            self._depth(channel, work_queue)  # never publish into a queue that is not there
            dead_letters = Queue(queue, no_declare=True)(channel)
            producer = connection.Producer(channel)
            held = []
            try:
                for _ in range(parked):
                    if len(events) >= limit:
                        break
                    message = dead_letters.get(no_ack=False)
                    if message is None:
                        break
                    entry = describe(message.body, message.headers)
                    if not only.matches(entry):
                        held.append(message)
                        continue
                    events.append({k: entry[k] for k in ("event_id", "type", "occurred_at",
                                                         "attempts")})
                    if dry_run:
                        held.append(message)
                        continue
                    headers = {k: v for k, v in (message.headers or {}).items()
                               if k not in (ATTEMPT_HEADER, ERROR_HEADER)
                               and not k.startswith("x-death")}
                    producer.publish(message.body, exchange="", routing_key=work_queue,
                                     headers=headers, content_type=message.content_type,
                                     content_encoding=message.content_encoding,
                                     delivery_mode=2)
                    message.ack()  # only after the broker confirmed the work queue's copy
                    moved += 1
            finally:
                for message in held:
                    message.requeue()
                kept = len(held) - (len(events) if dry_run else 0)
        return {"queue": queue, "work_queue": work_queue, "vhost": self.vhost,
                "dry_run": dry_run, "matched": len(events),
                "replayed": moved, "left_in_queue": parked - moved,
                "skipped_by_filter": kept, "events": events}


# -- the old module functions (tests, scripts) ----------------------------------------------

def dead_letter_depths(amqp_uri: str, queue_names: list[str], ssl=None) -> dict[str, int]:
    return DeadLetters(amqp_uri, ssl=ssl).depths(queue_names)


def replay(amqp_uri: str, dlq_name: str, limit: int | None = None, ssl=None) -> int:
    """Move messages from ``dlq_name`` back to its work queue; returns how many."""
    return DeadLetters(amqp_uri, ssl=ssl).replay(dlq_name, limit)["replayed"]


