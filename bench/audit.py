"""Access records: write throughput with the former global-lock hash chain and with the
transparency log's sequencer, and the time to verify a log of a million records.

Prints figures; it is not a test. Needs PostgreSQL on loopback (``--database-url``, default
``postgresql+psycopg2://postgres@127.0.0.1:5432/postgres``; any other host is refused); it creates a
database of its own and drops it at the end. See bench/README.md.

    .venv/bin/python bench/audit.py            # ~2 min: 1 M records
    .venv/bin/python bench/audit.py --quick    # ~30 s: 100 k records
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # as in a service: workers are green threads, psycopg2 yields

import argparse  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import ipaddress  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stafett.actor import STAFF, Actor  # noqa: E402
from stafett.audit import GENESIS, _digest, access_table, record_access  # noqa: E402
from stafett.db import make_engine, migrate  # noqa: E402
from stafett.events import utcnow  # noqa: E402
from stafett.ids import new_id  # noqa: E402
from stafett.transparency import Witness, sequence, signing_key, verify_log  # noqa: E402

DEFAULT_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
ACTOR = Actor(kind=STAFF, person_id="s-1", agency="974760673", agency_type="school")
GOAL_SCALING = 4.0      # throughput at concurrency 8 at least 4x concurrency 1's
GOAL_VERIFY_1M = 10.0   # seconds to verify 1 M records
ROUNDS = 3              # each write row's time is split over this many interleaved rounds


def chained_append(session: Session, actor: Actor, **fields) -> dict:
    """The former ``record_access`` (before the transparency log), kept here to compare:
    one global advisory lock per record, held to commit, and a read of the previous hash."""
    session.execute(text("SELECT pg_advisory_xact_lock(7261)"))
    last = session.execute(select(access_table.c.hash).order_by(access_table.c.seq.desc())
                           .limit(1)).scalar()
    record = {"id": new_id(), "at": utcnow().replace(microsecond=0),
              "actor_ref": actor.ref, "actor_kind": actor.kind, "agency": actor.agency,
              "role": None, "reason": None, "prev_hash": last or GENESIS, **fields}
    record["hash"] = _digest(record)
    session.execute(access_table.insert().values(**record))
    return record


def transparent_append(session: Session, actor: Actor, **fields) -> dict:
    return record_access(session, actor, **fields)


def writes(engine, append, concurrency: int, seconds: float) -> float:
    """Records per second: ``concurrency`` green threads, each one record a transaction
    (as a request writes its own), for ``seconds``."""
    stop = time.monotonic() + seconds
    counts = [0] * concurrency

    def worker(n):
        while time.monotonic() < stop:
            with Session(engine) as session:
                append(session, ACTOR, action="read", object_type="log", object_id="l-1",
                       subject_id="l-1", outcome="allowed")
                session.commit()
            counts[n] += 1

    started = time.monotonic()
    threads = [eventlet.spawn(worker, n) for n in range(concurrency)]
    for thread in threads:
        thread.wait()
    return sum(counts) / (time.monotonic() - started)


def fill(engine, count: int) -> float:
    """``count`` records (valid hashes, no place yet) by COPY; returns seconds."""
    started = time.monotonic()
    columns = ["id", "at", "actor_ref", "actor_kind", "agency", "role", "action",
               "object_type", "object_id", "subject_id", "outcome", "reason", "prev_hash",
               "protected", "hash"]
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    import psycopg2.extensions

    # COPY does not work with eventlet's green wait callback: plain blocking I/O while filling
    green = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(None)
    raw = psycopg2.connect(engine.url.render_as_string(hide_password=False)
                           .replace("postgresql+psycopg2://", "postgresql://"))
    try:
        cursor = raw.cursor()
        for start in range(0, count, 50000):
            buffer = io.StringIO()
            out = csv.writer(buffer)
            for i in range(start, min(count, start + 50000)):
                record = {"id": str(uuid.UUID(int=i + 1)), "at": base + timedelta(seconds=i),
                          "actor_ref": f"person:s-{i % 97}", "actor_kind": "staff",
                          "agency": "974760673", "role": "stafettholder" if i % 3 else None,
                          "action": "read", "object_type": "log",
                          "object_id": str(uuid.UUID(int=i % 5000)),
                          "subject_id": str(uuid.UUID(int=i % 5000)),
                          "outcome": "allowed" if i % 11 else "denied",
                          "reason": None if i % 11 else "no such log", "prev_hash": None,
                          "protected": True if i % 101 == 0 else None}
                record["hash"] = _digest(record)
                out.writerow([r"\N" if record[c] is None else
                              record[c].isoformat() if c == "at" else record[c]
                              for c in columns])
            buffer.seek(0)
            cursor.copy_expert(f"COPY access_log ({', '.join(columns)}) FROM STDIN "
                               "WITH (FORMAT csv, NULL '\\N')", buffer)
        raw.commit()
    finally:
        raw.close()
        psycopg2.extensions.set_wait_callback(green)
    return time.monotonic() - started


def loopback_only(url: str) -> None:
    host = urlsplit(url).hostname or "127.0.0.1"
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        sys.exit(f"cannot resolve {host}: {exc}")
    if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        sys.exit(f"refusing {host}: this bench runs against loopback only")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--quick", action="store_true", help="100 k records, not 1 M")
    parser.add_argument("--records", type=int, help="records to verify (overrides --quick)")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="seconds each write row runs in all (default 12)")
    args = parser.parse_args(argv)
    loopback_only(args.database_url)
    count = args.records or (100_000 if args.quick else 1_000_000)

    name = f"stafett_bench_audit_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        settings = dict(connection.execute(text(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'server_version')")).all())
    parts = urlsplit(args.database_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    engine = make_engine(url, pool_size=10, max_overflow=0)
    scratch = tempfile.TemporaryDirectory(prefix="stafett-bench-audit-")
    try:
        migrate(engine, ROOT / "services" / "logs" / "migrations")
        key = signing_key({"SECRETS_DIR": scratch.name}, "logs")
        witness = Witness(Path(scratch.name) / "witness")
        print(f"PostgreSQL {settings.get('server_version')}, fsync={settings.get('fsync')}, "
              f"synchronous_commit={settings.get('synchronous_commit')}; "
              f"{os.cpu_count()} CPUs; {args.seconds:g} s a write row; one record a "
              "transaction; green threads (eventlet), as in a service")
        print()
        print(f"{'write row':<44} {'conc.':>5} {'records/s':>10} {'c8 / c1':>8} "
              f"{'goal':>6} {'ratio to goal':>13}")
        rows = [(label, append, concurrency)
                for label, append in (("before: global lock + hash chain", chained_append),
                                      ("after: no lock; sequencer every 1 s",
                                       transparent_append))
                for concurrency in (1, 8)]
        totals = {row[::2]: [0.0, 0.0] for row in rows}  # records, seconds
        for round_ in range(ROUNDS):  # interleaved, order rotated: drift hits every row
            for label, append, concurrency in rows[round_ % 4:] + rows[:round_ % 4]:
                sequencer = None
                if append is transparent_append:
                    def run_sequencer():
                        while True:
                            eventlet.sleep(1)
                            sequence(engine, key, witness)
                    sequencer = eventlet.spawn(run_sequencer)
                rate = writes(engine, append, concurrency, args.seconds / ROUNDS)
                if sequencer is not None:
                    sequencer.kill()
                totals[label, concurrency][0] += rate * args.seconds / ROUNDS
                totals[label, concurrency][1] += args.seconds / ROUNDS
        figures = {row: done / seconds for row, (done, seconds) in totals.items()}
        for label in dict.fromkeys(label for label, _, _ in rows):
            c1, c8 = figures[label, 1], figures[label, 8]
            print(f"{label:<44} {1:>5} {c1:>10.0f}")
            print(f"{label:<44} {8:>5} {c8:>10.0f} {c8 / c1:>7.1f}x {GOAL_SCALING:>5.0f}x "
                  f"{c8 / c1 / GOAL_SCALING:>13.2f}")
        before8 = figures["before: global lock + hash chain", 8]
        after8 = figures["after: no lock; sequencer every 1 s", 8]
        print(f"{'after / before at concurrency 8':<44} {8:>5} {'':>10} "
              f"{after8 / before8:>7.1f}x")
        print()

        with engine.begin() as connection:
            connection.execute(text("TRUNCATE access_log, audit_checkpoint"))
            connection.execute(text("UPDATE audit_tree_state SET tree_size = 0, "
                                    "frontier = '[]'"))
        witness = Witness(Path(scratch.name) / "witness-verify")
        filled = fill(engine, count)
        started = time.monotonic()
        sequence(engine, key, witness, batch=max(10000, count // 10))  # ~10 checkpoints
        sequenced = time.monotonic() - started
        started, cpu = time.monotonic(), time.process_time()
        report = verify_log(engine, key, witness)
        verified, cpu = time.monotonic() - started, time.process_time() - cpu
        if not report["ok"] or report["records"] != count:
            print(f"verification failed: {report['problems'][:3]}")
            return 1
        goal = GOAL_VERIFY_1M * count / 1_000_000
        print(f"{'log row':<44} {'records':>9} {'seconds':>8} {'records/s':>10} "
              f"{'goal s':>7} {'ratio to goal':>13}")
        print(f"{'fill (COPY, hashes in Python)':<44} {count:>9} {filled:>8.1f} "
              f"{count / filled:>10.0f}")
        print(f"{'sequence (place, tree, sign, witness)':<44} {count:>9} {sequenced:>8.1f} "
              f"{count / sequenced:>10.0f}")
        print(f"{'verify (recompute tree, check checkpoints)':<44} {count:>9} "
              f"{verified:>8.1f} {count / verified:>10.0f} {goal:>7.1f} "
              f"{verified / goal:>13.2f}")
        print(f"{'  of which CPU time in the verifier':<44} {count:>9} {cpu:>8.1f} "
              f"{count / cpu:>10.0f} {goal:>7.1f} {cpu / goal:>13.2f}")
        if count != 1_000_000:
            print(f"(1 M records at this rate: {verified * 1_000_000 / count:.1f} s)")
        print(f"load average (1, 5, 15 min) at the end: "
              f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")
        print(f"checkpoints: {report['checkpoints']}")
        return 0
    finally:
        engine.dispose()
        scratch.cleanup()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
