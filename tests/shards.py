"""`make test` on two cores: the suite split into shards that run side by side.

Most of the suite's time is spent waiting (a broker round trip, a service starting, a
browser rendering), so one pytest process leaves a core idle. pytest-xdist cannot help:
its execnet workers deadlock under eventlet's monkey patching. Instead each shard is a
plain pytest process over the whole collection that keeps only its own files
(``STAFETT_TEST_SHARD=k/n``, read by ``select`` from tests/conftest.py). Files are dealt
to shards by an estimate of their cost, largest first, so the shards end close together;
a file stays whole, so its module fixtures and its order are the ones a serial run has.

Each shard's output goes to its own file and is printed whole when the shard ends, so the
report reads like a serial run's. The exit status is the worst shard's.

    python -m tests.shards [--shards N] [pytest arguments...]
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ENV = "STAFETT_TEST_SHARD"

#: estimated seconds per test, by the heaviest fixture it uses (measured on two cores:
#: a platform of five components, its databases copied at head, starts and stops in about
#: 3 s, a browser test adds the page loads; a module's read-only tests share one platform);
#: tests without any of these are unit tests at a few milliseconds each
COSTS = (("browser", 7.0), ("platform", 4.0), ("container_factory", 3.0),
         ("start_shared_platform", 1.5), ("amqp_uri", 3.0), ("broker", 3.0),
         ("postgres_url", 1.5))
#: whole folders whose tests start processes of their own (pods, images, Prometheus)
FOLDER_COSTS = {"deploy": 6.0}
#: single files far heavier than their fixtures say (each test starts its own processes)
FILE_COSTS = {"tests/e2e/test_faults.py": 80.0}
UNIT_COST = 0.03


def parse(value: str) -> tuple[int, int]:
    index, _, count = value.partition("/")
    index, count = int(index), int(count)
    if not 0 <= index < count:
        raise ValueError(f"{ENV}={value!r}: expected k/n with 0 <= k < n")
    return index, count


def cost(item) -> float:
    for path, seconds in FILE_COSTS.items():
        if str(item.path).endswith(path):
            return seconds
    names = set(getattr(item, "fixturenames", ()))
    for fixture, seconds in COSTS:
        if fixture in names:
            return seconds
    for folder, seconds in FOLDER_COSTS.items():
        if f"/tests/{folder}/" in str(item.path):
            return seconds
    return UNIT_COST


def deal(items) -> dict[str, int]:
    """File path -> shard, largest estimated cost first onto the least loaded shard."""
    _, count = parse(os.environ[ENV])
    per_file: dict[str, float] = defaultdict(float)
    for item in items:
        per_file[str(item.path)] += cost(item)
    loads = [0.0] * count
    shard_of = {}
    for path, seconds in sorted(per_file.items(), key=lambda kv: (-kv[1], kv[0])):
        shard = loads.index(min(loads))
        shard_of[path] = shard
        loads[shard] += seconds
    return shard_of


def select(config, items) -> None:
    """Keep only this shard's tests (a no-op without ``STAFETT_TEST_SHARD``)."""
    if not os.environ.get(ENV):
        return
    index, _ = parse(os.environ[ENV])
    shard_of = deal(items)
    kept = [item for item in items if shard_of[str(item.path)] == index]
    dropped = [item for item in items if shard_of[str(item.path)] != index]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def port_range() -> range | None:
    """A shard's own range for test servers' ports, below Linux's ephemeral range
    (32768-60999), so two shards never pick the same free port at the same moment."""
    if not os.environ.get(ENV):
        return None
    index, count = parse(os.environ[ENV])
    width = (32000 - 10000) // count
    return range(10000 + index * width, 10000 + (index + 1) * width)


def main(argv: list[str]) -> int:
    count = 2
    if argv[:1] == ["--shards"]:
        count, argv = int(argv[1]), argv[2:]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stafett-shards-") as folder:
        running = []
        for index in range(count):
            log = open(Path(folder) / f"shard-{index}.log", "w+b")
            env = dict(os.environ, **{ENV: f"{index}/{count}"})
            process = subprocess.Popen([sys.executable, "-m", "pytest", *argv],
                                       stdout=log, stderr=subprocess.STDOUT, env=env)
            running.append((index, process, log))
        worst = 0
        try:
            while running:
                pid, status = os.wait()  # whichever shard ends first is reported first
                for entry in [e for e in running if e[1].pid == pid]:
                    index, process, log = entry
                    running.remove(entry)
                    code = os.waitstatus_to_exitcode(status)
                    process.returncode = code
                    log.seek(0)
                    print(f"===== shard {index + 1} of {count} (exit {code}, "
                          f"{time.monotonic() - started:.0f} s) =====", flush=True)
                    sys.stdout.buffer.write(log.read())
                    sys.stdout.flush()
                    log.close()
                    # pytest's 5 is "no tests collected": a shard can be empty on a tiny run
                    if code not in (0, 5):
                        worst = max(worst, code if code > 0 else 1)
        finally:
            for _, process, _ in running:  # interrupted: leave no shard behind
                process.kill()
                process.wait()
    print(f"===== {count} shards done in {time.monotonic() - started:.0f} s, "
          f"exit {worst} =====", flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
