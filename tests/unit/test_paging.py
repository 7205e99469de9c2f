"""Cursor paging in the kernel: offsets for bounded lists, keysets for growing ones, and
pages of rows whose visibility is decided row by row."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, insert, select

from stafett.errors import BadRequest
from stafett.paging import (MAX_LIMIT, Keyset, decode_cursor, decode_key, decode_position,
                            encode_cursor, encode_key, encode_position, every_item,
                            merged_page, newest_first, ordered_page, page, position_page,
                            visible_page)

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)

metadata = MetaData()
rows_table = Table("rows", metadata, Column("id", String(36), primary_key=True),
                   Column("at", DateTime(timezone=True)), Column("owner", String(10)))


@pytest.fixture
def db():
    """30 rows; rows 10-19 share one timestamp (ties are broken by id); every third row
    belongs to someone else."""
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(rows_table), [
            {"id": f"r{n:02d}", "at": T0 + timedelta(minutes=10 if 10 <= n < 20 else n),
             "owner": "other" if n % 3 == 0 else "me"} for n in range(30)])
    with engine.connect() as connection:
        yield connection


def newest(db) -> list[str]:
    return [r.id for r in db.execute(select(rows_table).order_by(
        rows_table.c.at.desc(), rows_table.c.id.desc()))]


def walk(fetch_page, limit) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        result = fetch_page(limit, cursor)
        pages.append([item for item in result["items"]])
        cursor = result["next_cursor"]
        if cursor is None:
            return pages


def test_position_cursor_round_trips_in_utc():
    local = datetime(2026, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    at, row_id = decode_position(encode_position(local, "abc"))
    assert at == T0 and at.utcoffset() == timedelta(0) and row_id == "abc"
    assert decode_position(None) is None and decode_position("") is None


def test_a_cursor_is_for_the_order_it_was_given_in():
    cursor = encode_position(T0, "abc", "newest")
    assert decode_position(cursor, "newest") == (T0, "abc")
    for other in ("oldest", ""):
        with pytest.raises(BadRequest):
            decode_position(cursor, other)


@pytest.mark.parametrize("cursor", ["garbage", "e30", encode_position(T0, "x")[:-3] + "!!!"])
def test_a_cursor_we_did_not_give_out_is_a_bad_request(cursor):
    with pytest.raises(BadRequest):
        decode_position(cursor)


def b64(raw: str) -> str:
    import base64
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


HOSTILE = {
    "long": "A" * 513, "nul": "e30\x00", "non-ascii": "e30é", "padding": "e30=",
    "deep JSON": b64("[" * 380), "huge number": b64('{"p": 1e400, "k": 1e400}'),
    "many digits": b64('{"p": %s, "k": %s}' % ("9" * 300, "9" * 300)),
    "over 64 bits": b64('{"p": %d, "k": %d}' % (2 ** 63, 2 ** 63)),
    "negative": b64('{"p": -1, "k": -1}'), "a float": b64('{"p": 1.5, "k": 1.5}'),
    "a bool": b64('{"p": true, "k": true}'), "a list": b64("[1, 2]"),
    "id with NUL": b64('["2026-01-01T00:00:00+00:00", "a\\u0000b", ""]'),
    "long id": b64('["2026-01-01T00:00:00+00:00", "%s", ""]' % ("a" * 65)),
    "year overflow": b64('["9999-12-31T23:59:59-23:59", "a", ""]'),
    "not a date": b64('[1, "a", ""]'),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_cursor_is_a_bad_request_for_every_decoder(name):
    for decode in (decode_cursor, decode_key, decode_position):
        with pytest.raises(BadRequest) as refused:
            decode(HOSTILE[name])
        assert refused.value.detail == "the cursor is not one we gave out"


def test_our_own_cursors_still_decode():
    assert decode_cursor(encode_cursor(2 ** 63 - 1)) == 2 ** 63 - 1
    assert decode_key(encode_key(7)) == 7
    assert decode_position(encode_position(T0, "4f1c-9a:b.c_d")) == (T0, "4f1c-9a:b.c_d")


@pytest.mark.parametrize("limit", [1, 4, 7, 30, 31])
def test_keyset_pages_cover_every_row_once_newest_first(db, limit):
    def fetch_page(limit, cursor):
        query = newest_first(select(rows_table), rows_table.c.at, rows_table.c.id,
                             decode_position(cursor))
        result = position_page(db.execute(query.limit(limit + 1)).all(), limit,
                               lambda r: (r.at, r.id))
        return {**result, "items": [r.id for r in result["items"]]}

    pages = walk(fetch_page, limit)
    assert [row for p in pages for row in p] == newest(db)
    assert all(len(p) == limit for p in pages[:-1]) and 0 < len(pages[-1]) <= limit


@pytest.mark.parametrize("limit,batch", [(1, 2), (2, 2), (3, 5), (5, 100), (20, 3), (50, 7)])
def test_visible_pages_are_full_until_the_last_and_skip_hidden_rows(db, limit, batch):
    reads = []

    def fetch(after, n):
        reads.append(n)
        query = newest_first(select(rows_table), rows_table.c.at, rows_table.c.id, after)
        return db.execute(query.limit(n)).all()

    def fetch_page(limit, cursor):
        return visible_page(fetch, lambda r: r.id if r.owner == "me" else None, limit,
                            cursor, lambda r: (r.at, r.id), batch=batch)

    pages = walk(fetch_page, limit)
    mine = [row for row in newest(db) if int(row[1:]) % 3]
    assert [row for p in pages for row in p] == mine
    assert all(len(p) == limit for p in pages[:-1])
    assert set(reads) == {batch}


def test_visible_page_when_nothing_is_visible(db):
    result = visible_page(lambda after, n: db.execute(newest_first(
        select(rows_table), rows_table.c.at, rows_table.c.id, after).limit(n)).all(),
        lambda r: None, 10, None, lambda r: (r.at, r.id), batch=4)
    assert result == {"items": [], "next_cursor": None}


def test_offset_pages_and_limits_are_bounded():
    items = list(range(500))
    first = page(items, limit=10_000)
    assert len(first["items"]) == MAX_LIMIT and first["next_cursor"]
    assert page(items, limit=10, cursor=page(items, limit=10)["next_cursor"])["items"] == \
        list(range(10, 20))


def test_every_item_follows_the_cursors():
    items = list(range(MAX_LIMIT * 2 + 3))
    calls = []

    def fetch_page(limit, cursor, **kwargs):
        calls.append(kwargs)
        return page(items, limit, cursor)

    assert list(every_item(fetch_page, direction="incoming")) == items
    assert calls == [{"direction": "incoming"}] * 3


@pytest.mark.parametrize("newest", [False, True])
@pytest.mark.parametrize("limit", [1, 3, 30])
def test_ordered_pages_of_a_list_built_in_memory(limit, newest):
    items = [{"at": T0 + timedelta(minutes=n // 2), "id": f"i{n:02d}"} for n in range(20)]

    def position(item):
        return item["at"], item["id"]

    pages = walk(lambda limit, cursor: ordered_page(items, limit, cursor, position, newest),
                 limit)
    expected = items[::-1] if newest else items
    assert [i for p in pages for i in p] == expected


def test_an_item_added_meanwhile_neither_repeats_nor_shifts_a_page():
    items = [{"at": T0 + timedelta(minutes=n), "id": f"i{n:02d}"} for n in range(10)]

    def position(item):
        return item["at"], item["id"]

    first = ordered_page(items, 4, None, position)
    # something that happened before the page's end is recorded late, and one after
    items = sorted(items + [{"at": T0 + timedelta(seconds=30), "id": "late"},
                            {"at": T0 + timedelta(hours=1), "id": "new"}], key=position)
    second = ordered_page(items, 4, first["next_cursor"], position)
    assert [i["id"] for i in first["items"]] == ["i00", "i01", "i02", "i03"]
    assert [i["id"] for i in second["items"]] == ["i04", "i05", "i06", "i07"]


# -- Keyset: any key, bound to its list -----------------------------------------------------

@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("limit", [1, 4, 10, 29, 30, 31])
def test_a_keyset_walks_every_row_once_in_its_order(db, limit, descending):
    keyset = Keyset(rows_table.c.owner, rows_table.c.at, rows_table.c.id,
                    descending=descending)

    def fetch_page(limit, cursor):
        query = keyset.ordered(select(rows_table), keyset.decode(cursor, "rows"))
        result = keyset.page(db.execute(query.limit(limit + 1)).all(), limit, "rows",
                             key=lambda r: (r.owner, r.at, r.id))
        return {**result, "items": [r.id for r in result["items"]]}

    expected = [r.id for r in db.execute(select(rows_table).order_by(
        *[c.desc() if descending else c.asc() for c in (rows_table.c.owner, rows_table.c.at,
                                                         rows_table.c.id)]))]
    pages = walk(fetch_page, limit)
    assert [row for p in pages for row in p] == expected
    assert all(len(p) == limit for p in pages[:-1])


def test_a_keyset_cursor_is_for_its_scope_and_types_only():
    keyset = Keyset(rows_table.c.at, rows_table.c.id)
    cursor = keyset.encode((T0, "r01"), "rows:a")
    assert keyset.decode(cursor, "rows:a") == (T0, "r01")
    assert keyset.decode(None, "rows:a") is None
    for bad, scope in ((cursor, "rows:b"), ("garbage", "rows:a"),
                       (Keyset(rows_table.c.id, rows_table.c.at).encode(("r01", T0), "rows:a"),
                        "rows:a"),
                       (Keyset(rows_table.c.at).encode((T0,), "rows:a"), "rows:a"),
                       (encode_position(T0, "r01"), "rows:a")):
        with pytest.raises(BadRequest):
            keyset.decode(bad, scope)


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("limit", [1, 3, 7, 40])
def test_a_merged_page_reads_a_page_per_stream_and_walks_every_item_once(db, limit,
                                                                          descending):
    """Mine and others' rows as two streams with a constant kind each: the merge is the
    list ordered by (at, kind, id), and no stream is read past a page."""
    reads = []

    def stream(owner):
        keyset = Keyset(rows_table.c.at, owner, rows_table.c.id, descending=descending)

        def fetch(after, n):
            reads.append(n)
            query = keyset.ordered(select(rows_table).where(rows_table.c.owner == owner),
                                   after)
            return [((r.at, owner, r.id), r.id) for r in db.execute(query.limit(n))]
        return fetch

    keyset = Keyset(rows_table.c.at, "", rows_table.c.id, descending=descending)
    pages = walk(lambda limit, cursor: merged_page([stream("me"), stream("other")], keyset,
                                                   limit, cursor, "merged"), limit)
    everything = sorted(db.execute(select(rows_table)).all(),
                        key=lambda r: (r.at.replace(tzinfo=timezone.utc), r.owner, r.id),
                        reverse=descending)
    assert [i for p in pages for i in p] == [r.id for r in everything]
    assert set(reads) == {limit + 1}
