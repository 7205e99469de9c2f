"""GET /api/v1/logs/{id} for a ~50 KB log: through the gateway, against an in-process
baseline that runs the same queries (the logs service's own get_log, on the same
PostgreSQL database) and encodes the same JSON, without broker, gateway or HTTP.

Rows: sequential requests on one kept-alive connection (gateway vs baseline: the baseline's
time over the gateway's, goal >= 0.5), then throughput at 1, 8 and 32 connections (goal:
8 connections give at least 1.5x what 1 gives, on two cores, with the load generator on
them too)."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Client, Row, by_connections, pct, run_alone, speedup  # noqa: E402
from stafett.web import body_text  # noqa: E402

ENTRY = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 70  # ~4 KB


def large_log(stack, target_bytes: int = 50_000) -> tuple[str, int]:
    """Emma's log from the demo with 4 KB entries added until its view is ~50 KB."""
    log_id = stack.stories["emma"]
    teacher = Client(stack.url, stack.token("teacher"))
    size = 0
    for _ in range(40):
        status, body, _ = teacher.get(f"/api/v1/logs/{log_id}")
        assert status == 200, body[:300]
        size = len(body)
        if size >= target_bytes:
            break
        status, body, _ = teacher.request("POST", f"/api/v1/logs/{log_id}/entries",
                                          {"kind": "note", "text": ENTRY})
        assert status == 201, body[:300]
    teacher.close()
    return log_id, size


class InProcessBaseline:
    """The logs service's get_log, called as a plain method in this process: the same
    queries on the same database (the access record included), then JSON."""

    def __init__(self, stack, actor_context: dict):
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session

        from services.logs.service import LogsService
        from stafett.actor import Actor

        self.engine = create_engine(stack.database_urls["logs"], pool_size=2)
        service = object.__new__(LogsService)
        service.db = Session(self.engine, expire_on_commit=False)
        service.actor = Actor.from_context(actor_context)
        service.config = stack.config("logs")
        # the projection was verified by the service already; never ask consent here
        service.started_at = datetime(2000, 1, 1, tzinfo=timezone.utc)
        service.consent = None
        self.service = service

    def get(self, log_id: str) -> bytes:
        return body_text(self.service.get_log(log_id, encoded=True)).encode()

    def close(self):
        self.service.db.close()
        self.engine.dispose()


def teacher_actor(stack) -> dict:
    client = Client(stack.url, stack.token("teacher"))
    status, body, _ = client.get("/api/v1/me")
    client.close()
    me = json.loads(body)
    return {"kind": me["kind"], "person_id": me["person_id"], "agency": me["agency"],
            "agency_type": me["agency_type"], "roles": me["roles"], "scopes": me["scopes"],
            "acr": "idporten-loa-high"}


def run(stack, quick: bool = False) -> list[Row]:
    log_id, size = large_log(stack)
    path = f"/api/v1/logs/{log_id}"
    n = 60 if quick else 300
    seconds = 5 if quick else 15

    client = Client(stack.url, stack.token("teacher"))
    baseline = InProcessBaseline(stack, teacher_actor(stack))
    for _ in range(5):  # warm both
        client.get(path)
        baseline.get(log_id)
    gateway_samples, baseline_samples = [], []
    sides = [(lambda: client.get(path)[0] == 200, gateway_samples),
             (lambda: bool(baseline.get(log_id)), baseline_samples)]
    for round_no in range(5):  # interleaved, each first in turn, so drift falls on both
        for call, samples in (sides if round_no % 2 else sides[::-1]):
            for _ in range(n // 5):
                started = time.perf_counter()
                assert call()
                samples.append(time.perf_counter() - started)
    client.close()
    baseline.close()
    g50, b50 = pct(gateway_samples, .5), pct(baseline_samples, .5)
    rows = [
        Row(f"GET log ({size / 1000:.0f} KB) via gateway, sequential, p50", g50, "ms",
            detail=f"mean {1000 * sum(gateway_samples) / len(gateway_samples):.1f} ms, "
                   f"p99 {pct(gateway_samples, .99):.1f} ms, n={len(gateway_samples)}"),
        Row("same, in-process baseline (same queries + JSON), p50", b50, "ms",
            detail=f"p99 {pct(baseline_samples, .99):.1f} ms"),
        Row("baseline ÷ gateway (sequential speed)", b50 / g50, "×", goal=0.5,
            better="higher", detail=f"{b50:.1f} ms vs {g50:.1f} ms"),
    ]
    token = stack.token("teacher")

    def make_call(_number):
        mine = Client(stack.url, token)
        return lambda: mine.get(path)[0] == 200
    scaled, rates = by_connections("GET log via gateway, {} connections", make_call,
                                   (1, 8, 32), seconds)
    return rows + scaled + [
        speedup("throughput", rates, 8, 1, goal=1.5,
                detail="grows with connections up to the 2 cores"),
        speedup("throughput", rates, 32, 8, goal=0.9, detail="no collapse past the cores")]


def main() -> int:
    return run_alone("GET /api/v1/logs/{id}", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
