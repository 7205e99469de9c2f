"""POST /api/v1/logs/{id}/entries: how creating entries scales from 1 to 8 connections,
with one and with two processes of each service.

Every connection writes to the same log (the contended case: one row's version goes up
with each write, services/logs/versions.py), as the teacher, on its own kept-alive
connection. Goal (issue 19): 8 connections give >= 4x what 1 gives on PostgreSQL."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Client, Row, by_connections, run_alone, speedup  # noqa: E402

#: processes per service (bench/stack.py's set_processes, as STAFETT_PROCESSES in make run)
PROCESSES = (1, 2)


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
    rows, at_8 = [], {}
    for processes in PROCESSES:
        stack.set_processes(processes)
        per = f"{processes} process(es) per service"
        some, rates = by_connections(f"POST entries, {{}} connection(s), {per}", make_call,
                                     (1, 8), seconds)
        rows += some + [speedup(f"POST entries ({per})", rates, 8, 1, goal=4,
                                detail="one log, PostgreSQL")]
        at_8[processes] = rates[8]
    stack.set_processes(1)
    first, last = PROCESSES[0], PROCESSES[-1]
    rows.append(Row(f"POST entries at 8 connections, {last} ÷ {first} process(es) per service",
                    at_8[last] / at_8[first], "×",
                    detail=f"{at_8[last]:.1f} vs {at_8[first]:.1f} req/s; {os.cpu_count()} CPUs"))
    return rows


def main() -> int:
    return run_alone("Writes", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
