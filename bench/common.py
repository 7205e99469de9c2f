"""What the benchmarks share: keep-alive HTTP clients, closed- and open-loop drivers,
percentiles, and the rows every script prints (figure, goal, ratio to the goal)."""
from __future__ import annotations

import http.client
import json
import math
import statistics
import time
from dataclasses import dataclass, field

import eventlet


def pct(samples, q: float) -> float:
    """Nearest-rank percentile of ``samples`` (seconds) in ms."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


@dataclass
class Row:
    """One line of the table: ``value`` against ``goal`` (``better`` is "lower" or
    "higher"); ``ratio`` is value / goal, so <= 1 meets a "lower" goal, >= 1 a "higher"."""
    name: str
    value: float
    unit: str
    goal: float | None = None
    better: str = "lower"
    detail: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.goal in (None, 0) else self.value / self.goal

    @property
    def met(self) -> bool | None:
        if self.ratio is None:
            return None
        return self.ratio <= 1 if self.better == "lower" else self.ratio >= 1

    def line(self) -> str:
        goal = ("" if self.goal is None else
                f"{'≤' if self.better == 'lower' else '≥'} {self.goal:g} {self.unit}")
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}"
        met = {True: "met", False: "MISSED", None: ""}[self.met]
        return (f"| {self.name} | {self.value:.3g} {self.unit} | {goal} | {ratio} | {met} | "
                f"{self.detail} |")


HEADER = ("| row | measured | goal | ratio to goal | | detail |\n"
          "|---|---|---|---|---|---|")


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n### {title}\n")
    print(HEADER)
    for row in rows:
        print(row.line())
    print(flush=True)


def run_alone(title: str, run, description: str, extra=None) -> int:
    """One bench script on its own: ``--quick``, a stack of its own, its rows printed.
    ``extra(args)`` may print something first and answer True to stop there."""
    import argparse

    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    if extra is not None:
        parser.add_argument("--model", action="store_true", help="print the model and stop")
    args = parser.parse_args()
    if extra is not None and extra(args):
        return 0
    from bench.stack import Stack

    with Stack() as stack:
        print_rows(title, run(stack, args.quick))
    return 0


class Client:
    """One kept-alive HTTP connection to the gateway, with a bearer token."""

    def __init__(self, base_url: str, token: str | None = None):
        host, port = base_url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.connection = None

    def request(self, method: str, path: str, body=None, headers=None):
        payload = None if body is None else json.dumps(body).encode()
        all_headers = dict(self.headers, **(headers or {}))
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in (1, 2):  # once more on a connection the server closed
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.connection.request(method, path, body=payload, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return response.status, data, response
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise

    def get(self, path: str):
        return self.request("GET", path)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Run:
    samples: list = field(default_factory=list)   # seconds, successful calls
    errors: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.samples) / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        return (f"{self.rate:.1f}/s, p50 {pct(self.samples, .5):.1f} ms, "
                f"p99 {pct(self.samples, .99):.1f} ms, {self.errors} errors")


def closed_loop(make_call, connections: int, seconds: float) -> Run:
    """``connections`` workers, each calling ``make_call(worker)()`` back to back for
    ``seconds``; a call returns True when it succeeded."""
    run = Run()
    deadline = time.monotonic() + seconds

    def worker(number):
        call = make_call(number)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            ok = call()
            if ok:
                run.samples.append(time.perf_counter() - started)
            else:
                run.errors += 1

    started = time.monotonic()
    pool = eventlet.GreenPool(connections)
    for number in range(connections):
        pool.spawn(worker, number)
    pool.waitall()
    run.elapsed = time.monotonic() - started
    return run


def by_connections(name: str, make_call, connections, seconds: float) -> tuple[list[Row], dict]:
    """``closed_loop`` at each number of ``connections``: a row each (``name`` formatted
    with the number), and the rates by number of connections."""
    rows, rates = [], {}
    for n in connections:
        result = closed_loop(make_call, n, seconds)
        rates[n] = result.rate
        rows.append(Row(name.format(n), result.rate, "req/s", detail=result.summary()))
    return rows, rates


def speedup(name: str, rates: dict, more: int, fewer: int, goal: float, detail: str) -> Row:
    """How much more ``more`` connections carry than ``fewer`` (a "higher" goal)."""
    return Row(f"{name} {more} ÷ {fewer} connections", rates[more] / rates[fewer], "×",
               goal=goal, better="higher", detail=detail)


def open_loop(call, rate: float, seconds: float, max_in_flight: int = 256) -> Run:
    """Calls started at ``rate`` per second for ``seconds`` whatever the answers do (an
    open model: a slow system gets a queue, not fewer arrivals); latency counts from the
    planned start, so queueing shows."""
    run = Run()
    pool = eventlet.GreenPool(max_in_flight)
    started = time.monotonic()
    count = int(rate * seconds)

    def one(planned):
        ok = call()
        if ok:
            run.samples.append(time.monotonic() - planned)
        else:
            run.errors += 1

    for number in range(count):
        planned = started + number / rate
        delay = planned - time.monotonic()
        if delay > 0:
            eventlet.sleep(delay)
        pool.spawn(one, planned)
    pool.waitall()
    run.elapsed = max(seconds, time.monotonic() - started)
    return run


def median(values) -> float:
    return statistics.median(values) if values else math.nan
