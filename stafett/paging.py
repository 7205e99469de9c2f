"""Cursor pagination: an opaque cursor and a bounded limit, the same for every list."""
from __future__ import annotations

import base64
import json

from stafett.errors import BadRequest

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = int(json.loads(base64.urlsafe_b64decode(padded))["p"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("the cursor is not one we gave out")
    if position < 0:
        raise BadRequest("the cursor is not one we gave out")
    return position


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
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(json.loads(base64.urlsafe_b64decode(padded))["k"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("the cursor is not one we gave out")


def keyset_page(rows: list, limit: int, key) -> dict:
    """``rows`` fetched with ``limit + 1`` below the cursor's key: one page and the cursor
    to the next, which stays right however many rows are added above it meanwhile."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_key(key(rows[-1])) if more else None}


def bounded(limit: int | None) -> int:
    return max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))
