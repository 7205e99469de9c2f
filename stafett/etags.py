"""Entity tags as an ``If-Match`` header carries them, read once for every service.

``"3"``, ``W/"3"`` and ``3`` all name version 3 (the opaque value ``"3"``); a lone ``*``
is ``ANY`` (matches any version of something that exists). Absent: 428.
"""
from __future__ import annotations

from stafett.errors import PreconditionRequired

ANY = object()  # If-Match: *


def if_match(header: str | None, hint: str) -> object:
    """The tag ``header`` names (an opaque string, or ``ANY``); ``hint`` tells a client
    that sent none where to read one."""
    if not header:
        raise PreconditionRequired(hint)
    tag = header.strip()
    return ANY if tag == "*" else tag.removeprefix("W/").strip('"')


def matches(tag: object, version: int | None) -> bool:
    """Does ``tag`` name ``version`` (None: nothing exists yet, version 0 to a client)?"""
    if tag is ANY:
        return version is not None
    return tag == str(version or 0)
