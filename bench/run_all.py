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

def rpc_overhead(quick: bool) -> list[Row]:
    """bench/rpc_overhead.py in its own process; its like-for-like ratios (``ratio p50``
    lines: nameko's TimeoutRpcProxy in a worker ÷ bare py-amqp, confirms on both sides, the
    same queue type) and the ratio to bare py-amqp without confirms."""
    n = "200" if quick else "1000"
    done = subprocess.run([sys.executable, str(BENCH / "rpc_overhead.py"), "--n", n],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(BENCH.parent)))
    print(done.stdout, flush=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return [Row("RPC round trip (rpc_overhead.py failed)", float("nan"), "")]
    ratios = [line.split(" | ")[1:] for line in done.stdout.splitlines()
              if line.startswith("ratio p50 | ")]
    (_, _, c_ms, cb_ms, classic), (_, _, q_ms, qb_ms, quorum), (_, _, _, raw_ms, bare) = [
        (row, base, float(a), float(b), float(r)) for row, base, a, b, r in ratios]
    return [
        Row("RPC round trip ÷ raw py-amqp, both with confirms, classic queue, p50", classic,
            "×", goal=2.0, detail=f"{c_ms:.2f} ms vs {cb_ms:.2f} ms"),
        Row("RPC round trip ÷ raw py-amqp, both with confirms, quorum queue, p50", quorum,
            "×", goal=2.0, detail=f"{q_ms:.2f} ms vs {qb_ms:.2f} ms (production's queues)"),
        Row("RPC round trip (quorum, confirms) ÷ raw py-amqp (classic, none), p50", bare,
            "×", detail=f"{q_ms:.2f} ms vs {raw_ms:.2f} ms: as issue 19 first measured"),
    ]


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
