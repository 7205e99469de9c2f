"""Every benchmark in one sitting, each row with its ratio to its goal (issue 19).

``make bench`` runs this; ``BENCH_ARGS=--quick make bench`` keeps it to a few minutes.
rpc_overhead.py runs first in a process of its own (it brings its own nameko containers);
the others share one PostgreSQL-backed stack (bench/stack.py), started once and stopped at
the end: get_log, scale, writes, events, load. The table printed at the end is what
docs/performance.md shows."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench import events, get_log, load, scale, writes  # noqa: E402
from bench.common import HEADER, Row, print_rows  # noqa: E402

RPC_ROW = "nameko TimeoutRpcProxy (in-service worker)"


def rpc_overhead(quick: bool) -> list[Row]:
    """bench/rpc_overhead.py in its own process; its in-service row against raw py-amqp."""
    n = "200" if quick else "1000"
    done = subprocess.run([sys.executable, str(BENCH / "rpc_overhead.py"), "--n", n],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(BENCH.parent)))
    print(done.stdout, flush=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return [Row("RPC round trip (rpc_overhead.py failed)", float("nan"), "")]
    line = next(line for line in done.stdout.splitlines() if line.startswith(RPC_ROW))
    numbers = [float(x) for x in re.findall(r"\d+\.\d+|\d+", line[len(RPC_ROW):])]
    mean, p50, _p95, _p99, _rate, _m, p50_raw, _mc, p50_confirms = numbers[:9]
    raw = next(l for l in done.stdout.splitlines() if l.startswith("raw py-amqp "))
    raw_p50 = float(raw[len("raw py-amqp"):].split()[1])
    return [Row("RPC round trip (TimeoutRpcProxy in a worker) ÷ raw py-amqp, p50", p50_raw, "×",
                goal=2.0, detail=f"{p50:.2f} ms vs {raw_p50:.2f} ms; ÷ raw with confirms "
                                 f"{p50_confirms:.2f}×")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs; scale to 100 k")
    args = parser.parse_args()
    started = time.monotonic()
    print(f"Stafett benchmarks, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{'quick' if args.quick else 'full'}; {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}")
    print(load.describe(), flush=True)
    sections: list[tuple[str, list[Row]]] = [("RPC", rpc_overhead(args.quick))]
    from bench.stack import Stack

    with Stack() as stack:
        for title, module in (("GET /api/v1/logs/{id}", get_log), ("Scale", scale),
                              ("Writes", writes), ("Events", events),
                              ("Mixed load (national model)", load)):
            stack.settle()  # the previous section's events are all delivered
            section_started = time.monotonic()
            try:
                rows = module.run(stack, args.quick)
            except Exception:
                traceback.print_exc()
                rows = [Row(f"{title}: failed (see the traceback above)", float("nan"), "")]
            print_rows(f"{title} ({time.monotonic() - section_started:.0f} s)", rows)
            sections.append((title, rows))
    print(f"\n## All rows ({time.monotonic() - started:.0f} s in all)\n")
    print(HEADER)
    for _, rows in sections:
        for row in rows:
            print(row.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
