"""The same GET /api/v1/logs/{id} with few logs and with many: 10 k vs 1 M logs
(``--quick``: 10 k vs 100 k), made with SQL in the logs database, not through the API.

Each made log has a staff participant (another agency's), a guardian, the child and two
entries, so every table a read touches grows with it. Goal (issue 19): p50 at the large
size <= 1.3x p50 at the small size."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Client, Row, pct, run_alone  # noqa: E402

BATCH = 100_000

FILL = """
WITH made AS (
    INSERT INTO logs (id, child_id, child_birth_date, status, level, opened_at, version,
                      child_protected)
    SELECT gen_random_uuid()::text, gen_random_uuid()::text, DATE '2015-01-01' + (n % 4000),
           CASE WHEN n % 10 = 0 THEN 'closed' ELSE 'open' END, 1 + n % 3,
           now() - (n % 1000) * interval '1 day', 1, false
    FROM generate_series(1, :count) AS n
    RETURNING id, child_id
), people AS (
    INSERT INTO participants (id, log_id, person_id, kind, role, display_name, agency,
                              agency_type, active_from, added_at)
    SELECT gen_random_uuid()::text, made.id, person.id, person.kind, person.role,
           'Syntetisk', person.agency, person.agency_type, DATE '2024-01-01', now()
    FROM made CROSS JOIN LATERAL (VALUES
        (gen_random_uuid()::text, 'staff', 'stafettholder', '999999999', 'school'),
        (gen_random_uuid()::text, 'guardian', 'guardian', NULL, NULL),
        (made.child_id, 'child', 'child', NULL, NULL)) AS person(id, kind, role, agency,
                                                                 agency_type)
    RETURNING id, log_id, role
)
INSERT INTO entries (id, log_id, kind, visibility, text, author_id, created_at)
SELECT gen_random_uuid()::text, people.log_id, 'note', 'all', 'Syntetisk notat', people.id,
       now() - (n * interval '1 hour')
FROM people CROSS JOIN generate_series(1, 2) AS n
WHERE people.role = 'stafettholder'
"""


def fill_to(stack, total: int) -> int:
    """Add logs with SQL until the logs table holds ``total``; returns the count."""
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.database_urls["logs"])
    try:
        with engine.connect() as connection:
            have = connection.execute(text("SELECT count(*) FROM logs")).scalar()
            while have < total:
                count = min(BATCH, total - have)
                connection.execute(text(FILL), {"count": count})
                connection.commit()
                have += count
            for table in ("logs", "participants", "entries"):
                connection.execute(text(f"ANALYZE {table}"))
            connection.commit()
            return connection.execute(text("SELECT count(*) FROM logs")).scalar()
    finally:
        engine.dispose()


def sequential(stack, path: str, n: int) -> list[float]:
    client = Client(stack.url, stack.token("teacher"))
    for _ in range(10):
        client.get(path)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        status, body, _ = client.get(path)
        assert status == 200, body[:300]
        samples.append(time.perf_counter() - started)
    client.close()
    return samples


def run(stack, quick: bool = False) -> list[Row]:
    small, large = 10_000, (100_000 if quick else 1_000_000)
    path = f"/api/v1/logs/{stack.stories['emma']}"
    n = 100 if quick else 300
    rows, p50 = [], {}
    for size in (small, large):
        started = time.monotonic()
        count = fill_to(stack, size)
        made = time.monotonic() - started
        samples = sequential(stack, path, n)
        p50[size] = pct(samples, .5)
        rows.append(Row(f"GET log at {count:,} logs, p50", p50[size], "ms",
                        detail=f"p99 {pct(samples, .99):.1f} ms; made in {made:.0f} s"))
    rows.append(Row(f"GET log p50 at {large:,} ÷ at {small:,} logs", p50[large] / p50[small],
                    "×", goal=1.3, better="lower"))
    return rows


def main() -> int:
    return run_alone("Scale", run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
