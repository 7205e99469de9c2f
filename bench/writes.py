"""POST /api/v1/logs/{id}/entries: how creating entries scales from 1 to 8 connections.

Every connection writes to the same log (the contended case: one row's version goes up
with each write, services/logs/versions.py), as the teacher, on its own kept-alive
connection. Goal (issue 19): 8 connections give >= 4x what 1 gives on PostgreSQL."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Client, Row, closed_loop, run_alone  # noqa: E402


def run(stack, quick: bool = False) -> list[Row]:
    seconds = 5 if quick else 15
    log_id = stack.stories["emma"]
    path = f"/api/v1/logs/{log_id}/entries"
    token = stack.token("teacher")
    rows, rates = [], {}
    for connections in (1, 8):
        def make_call(number):
            client = Client(stack.url, token)
            counter = iter(range(10**9))
            return lambda: client.request("POST", path, {
                "kind": "note", "text": f"Notat {number}-{next(counter)}"})[0] == 201
        result = closed_loop(make_call, connections, seconds)
        rates[connections] = result.rate
        rows.append(Row(f"POST entries, {connections} connection(s)", result.rate, "req/s",
                        detail=result.summary()))
    rows.append(Row("POST entries 8 ÷ 1 connections", rates[8] / rates[1], "×", goal=4,
                    better="higher", detail="one log, PostgreSQL"))
    return rows


def main() -> int:
    return run_alone("Writes", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
