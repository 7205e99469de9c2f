"""HTTP plumbing of the gateway: JSON in, JSON or problem+json out.

``ApiEntrypoint`` is nameko's HTTP entrypoint with RFC 9457 errors: a typed Stafett
error keeps its status, a dead or slow service becomes 503 with Retry-After, anything
else is a 500 whose body says nothing about the internals. Context data is never read
from request headers, so a client cannot inject an actor. gateway/service.py makes one
for each API route of the table (gateway/routes/table.py).
"""
from __future__ import annotations

import json
import logging
import math
import re

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from gateway.access import SCOPE_ENVIRON_KEY
from stafett.errors import (EXPECTED, BadRequest, PayloadTooLarge, StafettError,
                            UnsupportedMediaType, unavailable)
from stafett.fields import FORBIDDEN
from stafett.web import (PROBLEM_JSON, HttpEntrypoint, body_text, json_text,  # noqa: F401
                         problem_response)

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 64 * 1024

#: what a JSON body may hold: no API body nests deeper than 4, no number of ours has more
#: than a handful of digits, and member names are field names
MAX_JSON_DEPTH = 32
MAX_INTEGER_DIGITS = 20
MAX_NUMBER_LENGTH = 40
MAX_MEMBER_NAME = 100
#: an ETag we give out is a version number in quotes; a longer If-Match is not read
MAX_IF_MATCH = 32
_STRUCTURE = re.compile(r'[\[\]{}"\\]')


class _Refused(Exception):
    """Raised from inside json.loads' hooks; becomes a 400 with this detail."""


def raw_body(request: Request, max_bytes: int = DEFAULT_MAX_BODY) -> bytes:
    """The request body, read once (and at most ``max_bytes``), cached on the request."""
    cached = request.environ.get("stafett.body")
    if cached is not None:
        return cached
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    request.environ["stafett.body"] = raw
    return raw


def json_body(request: Request, max_bytes: int = DEFAULT_MAX_BODY) -> dict:
    """The body as a JSON object, within the limits above (400 with the reason)."""
    raw = raw_body(request, max_bytes)
    if not raw:
        return {}
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    return parse_json(raw)


def parse_json(raw: bytes) -> dict:
    """Strict JSON (RFC 8259 as I-JSON, RFC 7493, would have it): UTF-8, nested at most
    ``MAX_JSON_DEPTH`` deep (measured before parsing, without recursion, since the parser
    recurses), integers of at most ``MAX_INTEGER_DIGITS`` digits, finite numbers, no NaN or
    Infinity, member names that are short, unique and free of control characters."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8") from None
    if nesting_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(text, parse_int=_integer, parse_float=_number,
                          parse_constant=_constant, object_pairs_hook=_members)
    except _Refused as refused:
        raise BadRequest(str(refused)) from None
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, outside strings, in one pass."""
    depth = deepest = 0
    in_string, skip = False, -1
    for match in _STRUCTURE.finditer(text):
        at = match.start()
        if at < skip:
            continue  # the character after a backslash
        char = match.group()
        if in_string:
            if char == "\\":
                skip = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _integer(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"a number in the body has more than {MAX_INTEGER_DIGITS} digits")
    return int(literal)


def _number(literal: str) -> float:
    value = float(literal) if len(literal) <= MAX_NUMBER_LENGTH else math.inf
    if not math.isfinite(value):
        raise _Refused("a number in the body is too large (or too long)")
    return value


def _constant(literal: str):
    raise _Refused(f"{literal} is not a JSON number")


def _members(pairs: list) -> dict:
    members = {}
    for name, value in pairs:
        if len(name) > MAX_MEMBER_NAME or FORBIDDEN.search(name):
            raise _Refused("a member name in the body is too long or holds a control "
                           "character")
        if name in members:
            raise _Refused(f"the member {name!r} appears twice in one object")
        members[name] = value
    return members


def json_result(payload, status: int = 200, headers: dict | None = None,
                content_type: str = "application/json") -> Response:
    """``payload`` as the body; one the service sent as JSON text (stafett.web.preencoded)
    is passed through as it is."""
    return Response(body_text(payload), status=status, headers=headers,
                    content_type=content_type)


def versioned(payload: dict, status: int = 200, headers: dict | None = None) -> Response:
    """``payload`` with its version as the ETag, for the next update's If-Match (no ETag
    for a view that carries no version: the family's, which cannot update)."""
    if "version" in payload:
        headers = {**(headers or {}), "ETag": f'"{payload["version"]}"'}
    return json_result(payload, status, headers)


class ApiEntrypoint(HttpEntrypoint):
    """A public API route (gateway/routes/table.py): JSON in, JSON or problem+json out.
    ``scope`` is what an agency system's token must carry to call it (gateway/access.py)."""

    def __init__(self, method, url, scope: str | None = None, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED)
        self.scope = scope
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.environ[SCOPE_ENVIRON_KEY] = self.scope
        return super().handle_request(request)

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        return json_result(result)

    def response_from_exception(self, exc):
        if isinstance(exc, StafettError):
            return problem_response(exc)
        if isinstance(exc, HTTPException):  # e.g. werkzeug's own 405/400
            return problem_response(BadRequest(exc.description or "bad request"))
        outage = unavailable(exc)  # the broker or a database is away: 503, never 500
        if outage is not None:
            log.warning("outage answered 503", extra={"error": type(exc).__name__})
            return problem_response(outage)
        log.error("unhandled error in gateway", extra={"error": type(exc).__name__})
        return problem_response(StafettError("an unexpected error occurred"))
