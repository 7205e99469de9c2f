"""A measure added → its responsible person's inbox: latency at 10, 50 and 100 ops/s.

Measures are added to Emma's log through the gateway at a steady rate for 5 s (an open
model: arrivals do not wait for answers), the guardian Ingrid responsible for each, so
every one puts a notice in her inbox; they are deleted (SQL) after each rate, so the log
never holds more than production's 500 measures. Latency is measured on the servers' own
clocks: the outbox row's ``created_at`` (logs database, in the transaction that added the
measure) to the notice's ``created_at`` (notifications database), joined by event id.
Goal (issue 19): p99 <= 100 ms at 100 ops/s."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventlet.queue import LightQueue  # noqa: E402

from bench.common import Client, Row, open_loop, pct, run_alone  # noqa: E402

RATES = (10, 50, 100)


def responsible_guardian(stack, log_id) -> tuple[str, str]:
    """(participant id, person id) of a guardian in the log."""
    client = Client(stack.url, stack.token("teacher"))
    status, body, _ = client.get(f"/api/v1/logs/{log_id}")
    client.close()
    assert status == 200, body[:300]
    guardian = next(p for p in json.loads(body)["participants"] if p["role"] == "guardian")
    return guardian["id"], guardian["person_id"]


def latencies(stack, since, person_id: str, expected: int, wait: float = 30):
    """Seconds from each measure_added outbox row (after ``since``) to its notice."""
    from sqlalchemy import create_engine, text

    logs = create_engine(stack.database_urls["logs"])
    notifications = create_engine(stack.database_urls["notifications"])
    try:
        with logs.connect() as connection:
            emitted = dict(connection.execute(text(
                "SELECT event_id, created_at FROM outbox WHERE type = 'log.measure_added' "
                "AND created_at >= :since"), {"since": since}).all())
        deadline = time.monotonic() + wait
        while True:
            with notifications.connect() as connection:
                told = dict(connection.execute(text(
                    "SELECT event_id, min(created_at) FROM notifications "
                    "WHERE person_id = :person AND event_id = ANY(:ids) GROUP BY event_id"),
                    {"person": person_id, "ids": list(emitted)}).all())
            if len(told) >= len(emitted) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        logs.dispose()
        notifications.dispose()
    samples = [(told[e] - emitted[e]).total_seconds() for e in emitted if e in told]
    return samples, len(emitted), len(emitted) - len(told)


def run(stack, quick: bool = False) -> list[Row]:
    from sqlalchemy import create_engine, text

    # 5 s a level in both modes: at most 500 measures at a time in the log (production's
    # LOG_MAX_MEASURES); each level's measures are deleted after it
    seconds = 5
    log_id = stack.stories["emma"]
    responsible_id, person_id = responsible_guardian(stack, log_id)
    token = stack.token("teacher")
    clients = LightQueue()
    for _ in range(64):
        clients.put(Client(stack.url, token))
    today = date.today()
    body = {"title": "Leksehjelp", "goal": "Bedre oversikt", "arena": "school",
            "responsible_id": responsible_id, "start_date": today.isoformat(),
            "evaluate_by": (today + timedelta(days=30)).isoformat()}

    def add_measure():
        client = clients.get()
        try:
            return client.request("POST", f"/api/v1/logs/{log_id}/measures", body)[0] == 201
        finally:
            clients.put(client)

    engine = create_engine(stack.database_urls["logs"])
    rows = []
    for rate in RATES:
        with engine.connect() as connection:
            since = connection.execute(text("SELECT now()")).scalar()
        sent = open_loop(add_measure, rate, seconds, max_in_flight=64)
        samples, emitted, missing = latencies(stack, since, person_id, len(sent.samples))
        with engine.connect() as connection:  # back to the log as it was, for what follows
            connection.execute(text(
                "DELETE FROM measures WHERE log_id = :log AND created_at >= :since"),
                {"log": log_id, "since": since})
            connection.commit()
        stack.settle()
        rows.append(Row(f"measure added → inbox at {rate} ops/s offered, p99",
                        pct(samples, .99), "ms", goal=100,
                        detail=f"p50 {pct(samples, .5):.0f} ms; POSTs {sent.rate:.1f}/s "
                               f"(p99 {pct(sent.samples, .99):.0f} ms, {sent.errors} errors);"
                               f" {emitted} events, {missing} not in the inbox after 30 s"))
    engine.dispose()
    while not clients.empty():
        clients.get().close()
    return rows


def main() -> int:
    return run_alone("Events", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
