"""Dead letters for operations: ``python -m stafett.dlq list`` and ``... replay QUEUE``.

A dead-letter queue is ``<work queue>.dlq``. Replaying moves its messages back to the work
queue with the attempt counter reset; the consumer's inbox keeps the effect idempotent.
"""
from __future__ import annotations

import argparse
import os
import sys

import requests
from kombu import Connection, Queue

from stafett.broker import tls_options
from stafett.events import ATTEMPT_HEADER, ERROR_HEADER


def dead_letter_depths(amqp_uri: str, queue_names: list[str], ssl=None) -> dict[str, int]:
    depths = {}
    with Connection(amqp_uri, ssl=ssl) as connection:
        channel = connection.default_channel
        for name in queue_names:
            _, count, _ = channel.queue_declare(name, passive=True)
            depths[name] = count
    return depths


def peek(amqp_uri: str, dlq_name: str, limit: int = 20, ssl=None) -> list[dict]:
    """The error and attempts of up to ``limit`` parked messages (left in place)."""
    seen = []
    with Connection(amqp_uri, ssl=ssl) as connection:
        queue = Queue(dlq_name, no_declare=True)(connection.default_channel)
        messages = []
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                break
            messages.append(message)
            headers = message.headers or {}
            seen.append({"attempts": headers.get(ATTEMPT_HEADER),
                         "error": headers.get(ERROR_HEADER),
                         "event_id": (message.payload or {}).get("event_id")})
        for message in messages:
            message.requeue()
    return seen


def replay(amqp_uri: str, dlq_name: str, limit: int | None = None, ssl=None) -> int:
    """Move messages from ``dlq_name`` back to its work queue; returns how many."""
    if not dlq_name.endswith(".dlq"):
        raise ValueError("name a dead-letter queue (…​.dlq)")
    work_queue = dlq_name[: -len(".dlq")]
    moved = 0
    with Connection(amqp_uri, ssl=ssl) as connection:
        channel = connection.default_channel
        queue = Queue(dlq_name, no_declare=True)(channel)
        producer = connection.Producer(channel)
        while limit is None or moved < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            headers = {k: v for k, v in (message.headers or {}).items()
                       if k not in (ATTEMPT_HEADER, ERROR_HEADER) and not k.startswith("x-death")}
            producer.publish(message.body, exchange="", routing_key=work_queue,
                             headers=headers, content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2)
            message.ack()
            moved += 1
    return moved


def list_dead_letter_queues(management_url: str, auth=("guest", "guest")) -> list[dict]:
    response = requests.get(f"{management_url}/api/queues", auth=auth, timeout=10)
    response.raise_for_status()
    return [{"vhost": q["vhost"], "name": q["name"], "messages": q.get("messages", 0)}
            for q in response.json() if q["name"].endswith(".dlq")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stafett.dlq")
    parser.add_argument("--amqp-uri", default=os.environ.get(
        "AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--management-url", default=os.environ.get(
        "RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672"))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="dead-letter queues and their depth")
    show = sub.add_parser("show", help="errors of parked messages")
    show.add_argument("queue")
    again = sub.add_parser("replay", help="move parked messages back to the work queue")
    again.add_argument("queue")
    again.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    # AMQPS as the components have it: AMQP_TLS, AMQP_TLS_CA_FILE, ... (docs/security.md)
    ssl = tls_options({**os.environ, "AMQP_URI": args.amqp_uri})
    if args.command == "list":
        for queue in list_dead_letter_queues(args.management_url):
            print(f"{queue['messages']:6}  {queue['vhost']}  {queue['name']}")
    elif args.command == "show":
        for entry in peek(args.amqp_uri, args.queue, ssl=ssl):
            print(entry)
    else:
        print(f"replayed {replay(args.amqp_uri, args.queue, args.limit, ssl=ssl)} message(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
