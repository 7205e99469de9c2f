"""One column type for every timestamp (stafett.db.UtcDateTime): an instant typed in Oslo time
is stored as UTC on SQLite and PostgreSQL alike and comes back aware, in UTC, across both
changes of daylight saving time in 2027 (28 March 02:00 -> 03:00, 31 October 03:00 -> 02:00).

Before it, SQLite stored the wall time of whatever offset came in, without the offset, and
read it back as UTC: a meeting at 09:00 in June came back as 11:00 Oslo time.
"""
from __future__ import annotations

import importlib
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from stafett.db import UtcDateTime, make_engine
from tests.support.servers import make_database_urls

OSLO = ZoneInfo("Europe/Oslo")
UTC = timezone.utc

#: Oslo wall times around both changes and the UTC instants they are
MOMENTS = [
    (datetime(2027, 3, 28, 1, 59, tzinfo=OSLO), datetime(2027, 3, 28, 0, 59, tzinfo=UTC)),
    (datetime(2027, 3, 28, 3, 0, tzinfo=OSLO), datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),
    (datetime(2027, 3, 28, 14, 0, tzinfo=OSLO), datetime(2027, 3, 28, 12, 0, tzinfo=UTC)),
    (datetime(2027, 6, 15, 9, 0, tzinfo=OSLO), datetime(2027, 6, 15, 7, 0, tzinfo=UTC)),
    # the hour that happens twice: first in summer time (fold=0), then in winter time
    (datetime(2027, 10, 31, 2, 30, tzinfo=OSLO), datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    (datetime(2027, 10, 31, 2, 30, fold=1, tzinfo=OSLO),
     datetime(2027, 10, 31, 1, 30, tzinfo=UTC)),
    (datetime(2027, 10, 31, 14, 0, tzinfo=OSLO), datetime(2027, 10, 31, 13, 0, tzinfo=UTC)),
    (datetime(2027, 12, 3, 14, 0, tzinfo=OSLO), datetime(2027, 12, 3, 13, 0, tzinfo=UTC)),
]

metadata = MetaData()
moments = Table("moments", metadata, Column("id", Integer, primary_key=True),
                Column("at", UtcDateTime, nullable=True))


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    if request.param == "postgres":
        with make_database_urls(request.getfixturevalue("postgres_url"), ("kernel",)) as urls:
            engine = make_engine(urls["kernel"], pool_size=1)
            metadata.create_all(engine)
            yield engine
            engine.dispose()
    else:
        engine = make_engine(f"sqlite:///{tmp_path}/kernel.db")
        metadata.create_all(engine)
        yield engine
        engine.dispose()


def stored_utc_text(connection, row_id: int) -> str:
    """What the database itself holds, as UTC text (no Python conversion in between)."""
    if connection.dialect.name == "sqlite":
        return connection.execute(text("SELECT at FROM moments WHERE id = :id"),
                                  {"id": row_id}).scalar_one()
    return str(connection.execute(text(
        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM moments "
        "WHERE id = :id"), {"id": row_id}).scalar_one())


def test_an_oslo_time_is_stored_as_its_utc_instant_and_read_back_aware_in_utc(engine):
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # a session zone that is neither UTC nor Oslo: the answer must not depend on it
            connection.execute(text("SET TIME ZONE 'America/New_York'"))
        for n, (oslo, _) in enumerate(MOMENTS):
            connection.execute(insert(moments).values(id=n, at=oslo))
        for n, (_, utc) in enumerate(MOMENTS):
            assert stored_utc_text(connection, n).startswith(utc.strftime("%Y-%m-%d %H:%M:%S"))
            back = connection.execute(select(moments.c.at).where(moments.c.id == n)).scalar_one()
            assert back == utc and back.utcoffset() == timedelta(0), (n, back)


def test_the_two_half_past_twos_of_the_autumn_night_stay_an_hour_apart(engine):
    first, second = MOMENTS[4][0], MOMENTS[5][0]
    with engine.begin() as connection:
        connection.execute(insert(moments), [{"id": 1, "at": first}, {"id": 2, "at": second}])
        back = dict(connection.execute(select(moments.c.id, moments.c.at)).all())
    assert back[2] - back[1] == timedelta(hours=1)
    assert [back[k].astimezone(OSLO).strftime("%H.%M %Z") for k in (1, 2)] == [
        "02.30 CEST", "02.30 CET"]


def test_a_query_compares_instants_whatever_zone_the_bound_value_is_in(engine):
    with engine.begin() as connection:
        connection.execute(insert(moments), [{"id": n, "at": oslo}
                                             for n, (oslo, _) in enumerate(MOMENTS)])
        # 03:00 Oslo on the spring morning is 01:00 UTC: the moments from then on
        later = connection.execute(select(moments.c.id).where(
            moments.c.at >= datetime(2027, 3, 28, 3, 0, tzinfo=OSLO)).order_by(
            moments.c.id)).scalars().all()
    assert later == [1, 2, 3, 4, 5, 6, 7]


def test_a_naive_datetime_is_refused(engine):
    with engine.begin() as connection, pytest.raises(StatementError, match="aware datetime"):
        connection.execute(insert(moments).values(id=1, at=datetime(2027, 3, 28, 14, 0)))


# -- every timestamp column of every component is this type -----------------------------------

MODEL_MODULES = ["services.consent.models", "services.logs.models", "services.handover.models",
                 "services.notifications.models", "gateway.models", "stafett.events",
                 "stafett.audit", "stafett.request_keys"]


def every_table():
    for name in MODEL_MODULES:
        module = importlib.import_module(name)
        seen = set()
        for value in vars(module).values():
            table = getattr(value, "__table__", value)
            if isinstance(table, Table) and table.key not in seen:
                seen.add(table.key)
                yield name, table
            tables = getattr(getattr(value, "registry", None), "metadata", None)
            if isinstance(tables, MetaData):   # a declarative base: its mapped tables
                for table in tables.tables.values():
                    if table.key not in seen:
                        seen.add(table.key)
                        yield name, table


def test_every_timestamp_column_is_stored_as_utc():
    plain, checked = [], 0
    for module, table in every_table():
        for column in table.columns:
            if isinstance(column.type, UtcDateTime):
                checked += 1
            elif isinstance(column.type, DateTime):
                plain.append(f"{module}: {table.name}.{column.name}")
    assert plain == []
    assert checked >= 60   # the columns are really found (56 model columns, 5 kernel ones)
