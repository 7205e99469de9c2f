"""Cursor pagination: an opaque cursor and a bounded limit, the same for every list.

A cursor is only ever one we gave out: at most ``MAX_CURSOR`` characters of unpadded
base64url, whose content decodes to what we put in (a position or key within a 64-bit
integer, a timestamp and an id of at most ``MAX_ID`` plain characters). Anything else is
a 400 "the cursor is not one we gave out", before it reaches a query.
"""
from __future__ import annotations

import base64
import hashlib
import heapq
import json
import re
from datetime import date, datetime, timezone

from sqlalchemy import and_, false, or_, true

from stafett.errors import BadRequest
from stafett.events import as_utc

DEFAULT_LIMIT, MAX_LIMIT = 50, 200
#: the longest cursor we give out is about 140 characters
MAX_CURSOR = 512
MAX_ID = 64
MAX_KEY = 2 ** 63 - 1  # a BIGINT
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,%d}" % MAX_CURSOR)
_ID = re.compile(r"[A-Za-z0-9._:-]{1,%d}" % MAX_ID)
#: what a cursor that is not ours may raise while decoded
_NOT_OURS = (ValueError, KeyError, TypeError, OverflowError, RecursionError)


def not_ours() -> BadRequest:
    return BadRequest("the cursor is not one we gave out")


def _cursor_json(cursor: str):
    """The JSON inside a cursor of the form we give out (else 400)."""
    if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
        raise not_ours()
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except _NOT_OURS:
        raise not_ours() from None


def _integer(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_KEY:
        raise not_ours()
    return value


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    data = _cursor_json(cursor)
    return _integer(data.get("p") if isinstance(data, dict) else None)


def page(items: list, limit: int | None = None, cursor: str | None = None) -> dict:
    """``{"items": [...], "next_cursor": str | None}`` for one page of ``items``."""
    start = decode_cursor(cursor)
    limit = max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))
    more = start + limit < len(items)
    return {"items": items[start:start + limit],
            "next_cursor": encode_cursor(start + limit) if more else None}


# -- keyset cursors, for lists that grow at the top while someone pages through them ---------

def encode_key(key: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode().rstrip("=")


def decode_key(cursor: str | None) -> int | None:
    """The key the previous page ended at (None: start from the top)."""
    if not cursor:
        return None
    data = _cursor_json(cursor)
    return _integer(data.get("k") if isinstance(data, dict) else None)


def keyset_page(rows: list, limit: int, key) -> dict:
    """``rows`` fetched with ``limit + 1`` below the cursor's key: one page and the cursor
    to the next, which stays right however many rows are added above it meanwhile."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_key(key(rows[-1])) if more else None}


def bounded(limit: int | None) -> int:
    return max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))


# -- newest-first keyset cursors on (timestamp, id), for lists of rows --------------------

def encode_position(at, row_id: str, order: str = "") -> str:
    """The cursor after a row: its timestamp (in UTC) and id, and for a list that can be
    read either way the order it was read in; opaque to the client."""
    raw = json.dumps([as_utc(at).astimezone(timezone.utc).isoformat(), str(row_id),
                      order]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor: str | None, order: str = ""):
    """``(timestamp, id)`` the previous page ended at, or None to start from the top; a
    cursor from another list order is not one we gave out for this one."""
    if not cursor:
        return None
    data = _cursor_json(cursor)
    try:
        at, row_id, given_for = data
        if given_for != order or not isinstance(row_id, str) or not _ID.fullmatch(row_id):
            raise ValueError("not ours")
        return as_utc(datetime.fromisoformat(at)).astimezone(timezone.utc), row_id
    except _NOT_OURS:
        raise not_ours() from None


def newest_first(query, at_column, id_column, position):
    """``query`` ordered newest first, below ``position`` (a decoded cursor) if given."""
    if position is not None:
        at, row_id = position
        query = query.where(or_(at_column < at, and_(at_column == at, id_column < row_id)))
    return query.order_by(at_column.desc(), id_column.desc())


def position_page(rows: list, limit: int, position, order: str = "") -> dict:
    """``rows`` fetched newest first with ``limit + 1``: one page, and the cursor after it;
    ``position(row)`` is the row's ``(timestamp, id)``."""
    more, rows = len(rows) > limit, rows[:limit]
    return {"items": rows, "next_cursor": encode_position(*position(rows[-1]), order)
            if more else None}


def ordered_page(items: list, limit: int | None, cursor: str | None, position,
                 newest_first: bool = False) -> dict:
    """One page of a list built in memory and sorted oldest first by ``position(item)``
    (``(timestamp, id)``), in the asked order, after the cursor's position: a page stays
    right when items are added anywhere meanwhile."""
    order = "newest" if newest_first else "oldest"
    limit, after = bounded(limit), decode_position(cursor, order)
    ordered = list(reversed(items)) if newest_first else list(items)
    if after is not None:
        ordered = [item for item in ordered
                   if (position(item) < after if newest_first else position(item) > after)]
    return position_page(ordered[:limit + 1], limit, position, order)


def visible_page(fetch, show, limit: int | None, cursor: str | None, position,
                 batch: int = 100) -> dict:
    """One page of the rows a viewer may see, where visibility is decided row by row.

    ``fetch(after, n)`` returns up to ``n`` candidate rows newest first below ``after``
    (a decoded cursor or None); ``show(row)`` gives the row's item, or None to skip it;
    ``position(row)`` is ``(timestamp, id)``. Candidates are read in batches until the
    page is full, so skipped rows cost reads but never a short page before the end.
    """
    limit, after, items, last = bounded(limit), decode_position(cursor), [], None
    while True:
        rows = fetch(after, batch)
        for row in rows:
            item = show(row)
            if item is None:
                continue
            if len(items) == limit:  # one more exists: the page ends at the last shown
                return {"items": items, "next_cursor": encode_position(*position(last))}
            items.append(item)
            last = row
        if len(rows) < batch:
            return {"items": items, "next_cursor": None}
        after = position(rows[-1])


# -- keyset cursors on any key, bound to the list they page ---------------------------------

def _is_sql(column) -> bool:
    return hasattr(column, "__clause_element__") or hasattr(column, "compile")


class Keyset:
    """One order of a list on key columns (the last one unique), largest first
    (``descending``, what a reader of a growing list wants) or smallest first.

    A page is read with ``limit + 1`` rows strictly after the key the previous page ended
    at, so it stays right while rows are added anywhere meanwhile, and only the page's
    rows are loaded. The cursor carries that key and a digest of ``scope`` (the list and
    its owner, e.g. ``"entries:<log id>"``), so a cursor is refused by every other list.
    A key is a position, compared and never looked up: a cursor says nothing about the
    rows it names, and one naming another log's row is simply refused by this log.

    A key part may be a plain value instead of a column (``"entry_note"`` for every row of
    one stream of a merged list, ``merged_page``): it is compared, not ordered by.
    """

    def __init__(self, *columns, descending: bool = True):
        self.columns, self.descending = columns, descending
        self.types = tuple(c.type.python_type if _is_sql(c) else type(c) for c in columns)

    # the cursor

    @staticmethod
    def _digest(scope: str) -> str:
        return hashlib.sha256(scope.encode()).hexdigest()[:16]

    def encode(self, key: tuple, scope: str) -> str:
        parts = []
        for value in key:
            if isinstance(value, datetime):
                value = as_utc(value).astimezone(timezone.utc).isoformat()
            elif isinstance(value, date):
                value = value.isoformat()
            parts.append(value)
        raw = json.dumps({"s": self._digest(scope), "k": parts}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str | None, scope: str) -> tuple | None:
        """The key a page ended at (None: from the top); any cursor this list did not
        give out (another list's, another order's, edited, garbage) is a BadRequest."""
        if not cursor:
            return None
        raw = _cursor_json(cursor)
        try:
            if raw["s"] != self._digest(scope) or len(raw["k"]) != len(self.types):
                raise ValueError("another list")
            return tuple(self._value(kind, value) for kind, value in zip(self.types, raw["k"]))
        except _NOT_OURS + (AttributeError,):
            raise not_ours() from None

    @staticmethod
    def _value(kind, value):
        """A key part as its column's type: nothing else reaches the database."""
        if kind is datetime:
            return as_utc(datetime.fromisoformat(value)).astimezone(timezone.utc)
        if kind is date:
            return date.fromisoformat(value)
        if kind is int:
            return _integer(value)
        if kind is str and isinstance(value, str) and _ID.fullmatch(value):
            return value
        raise ValueError("not a key")

    # the query

    def after(self, key: tuple):
        """The condition "strictly after ``key``" in this order."""
        clauses = []
        for i, (column, value) in enumerate(zip(self.columns, key)):
            same = [_compare(c, "==", v) for c, v in zip(self.columns[:i], key[:i])]
            clauses.append(and_(*same, _compare(column, "<" if self.descending else ">",
                                                value)))
        return or_(*clauses)

    def ordered(self, query, key: tuple | None = None):
        """``query`` in this order, strictly after ``key`` if given."""
        if key is not None:
            query = query.where(self.after(key))
        return query.order_by(*[c.desc() if self.descending else c.asc()
                                for c in self.columns if _is_sql(c)])

    def page(self, rows: list, limit: int, scope: str, key) -> dict:
        """``rows`` read with ``limit + 1``: the page, and the cursor after it
        (``key(row)`` is the row's key)."""
        more, rows = len(rows) > limit, rows[:limit]
        return {"items": rows, "next_cursor": self.encode(key(rows[-1]), scope) if more
                else None}

    def read(self, session, query, limit: int | None, cursor: str | None, scope: str,
             key) -> dict:
        """One page of ``query``'s rows: at most ``limit + 1`` are loaded."""
        limit = bounded(limit)
        rows = session.scalars(self.ordered(query, self.decode(cursor, scope))
                               .limit(limit + 1)).all()
        return self.page(rows, limit, scope, key)


def utc_key(key: tuple) -> tuple:
    """A key with its timestamps in UTC (SQLite hands them back naive), for comparing."""
    return tuple(as_utc(v) if isinstance(v, datetime) else v for v in key)


def _compare(column, op: str, value):
    if not _is_sql(column):  # a constant key part: decided here, not in the database
        result = {"==": column == value, "<": column < value, ">": column > value}[op]
        return true() if result else false()
    return {"==": column == value, "<": column < value, ">": column > value}[op]


def merged_page(streams, keyset: Keyset, limit: int | None, cursor: str | None,
                scope: str) -> dict:
    """One page of a list made of several lists each read in ``keyset``'s order.

    ``streams`` are functions ``fetch(after, n)`` giving up to ``n`` ``(key, item)`` pairs
    strictly after ``after`` (a key or None), in the keyset's order; keys are unique across
    streams. Each stream reads at most ``limit + 1`` rows, and a k-way merge takes the
    page: what a page costs is bounded by the number of streams, not the list's length.
    """
    limit, after = bounded(limit), keyset.decode(cursor, scope)
    merged = heapq.merge(*[stream(after, limit + 1) for stream in streams],
                         key=lambda pair: utc_key(pair[0]), reverse=keyset.descending)
    pairs = [pair for _, pair in zip(range(limit + 1), merged)]
    result = keyset.page(pairs, limit, scope, key=lambda pair: pair[0])
    return {**result, "items": [item for _, item in result["items"]]}


def every_item(fetch_page, **kwargs):
    """Every item of a paged list, page by page: ``fetch_page(limit=, cursor=, **kwargs)``
    (an RPC such as ``logs.my_logs``) for callers who need the whole list at once."""
    cursor = None
    while True:
        result = fetch_page(limit=MAX_LIMIT, cursor=cursor, **kwargs)
        yield from result["items"]
        cursor = result["next_cursor"]
        if not cursor:
            return
