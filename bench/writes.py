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

from bench.common import Client, Row, by_connections, run_alone, speedup  # noqa: E402


def run(stack, quick: bool = False) -> list[Row]:
    seconds = 5 if quick else 15
    log_id = stack.stories["emma"]
    path = f"/api/v1/logs/{log_id}/entries"
    token = stack.token("teacher")

    def make_call(number):
        client = Client(stack.url, token)
        counter = iter(range(10**9))
        return lambda: client.request("POST", path, {
            "kind": "note", "text": f"Notat {number}-{next(counter)}"})[0] == 201
    rows, rates = by_connections("POST entries, {} connection(s)", make_call, (1, 8), seconds)
    return rows + [speedup("POST entries", rates, 8, 1, goal=4, detail="one log, PostgreSQL")]


def main() -> int:
    return run_alone("Writes", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
