"""HTTP plumbing of the gateway: JSON in, JSON or problem+json out.

``api(method, path)`` is nameko's HTTP entrypoint with RFC 9457 errors: a typed Stafett
error keeps its status, a dead or slow service becomes 503 with Retry-After, anything
else is a 500 whose body says nothing about the internals. Context data is never read
from request headers, so a client cannot inject an actor.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from gateway.access import SCOPE_ENVIRON_KEY
from stafett.errors import (EXPECTED, BadRequest, PayloadTooLarge, StafettError,
                            UnsupportedMediaType)
from stafett.web import PROBLEM_JSON, HttpEntrypoint, problem_response  # noqa: F401

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
DEFAULT_MAX_BODY = 64 * 1024


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
    raw = raw_body(request, max_bytes)
    if not raw:
        return {}
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("the body is not valid JSON")
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def json_result(payload, status: int = 200, headers: dict | None = None,
                content_type: str = "application/json") -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, headers=headers,
                    content_type=content_type)


@dataclass(frozen=True)
class Contract:
    """What the OpenAPI document says about a route (gateway/openapi.py): schemas by their
    component name, the success status, and the HTTP conventions the route follows."""
    summary: str
    request: str | None = None         # request body schema
    response: str | None = None        # success body schema (of each item, for a listing)
    status: int = 200
    listing: bool = False              # {"items": [...], "next_cursor"}, ?limit and ?cursor
    paged: bool = False                # ?limit and ?cursor on a page schema of its own
    if_match: bool = False             # an update: ETag out, If-Match in (428 / 412)
    etag: bool = False                 # the response carries an ETag
    media_type: str = "application/json"
    query: tuple = ()                  # further query parameters (OpenAPI parameter objects)


class ApiEntrypoint(HttpEntrypoint):
    """``@api(method, path, summary, scope=..., **contract)``: ``scope`` is what an agency
    system's token must carry to call this route (routes without one are closed to agency
    systems); the rest is the route's contract, from which /openapi.json is generated."""

    def __init__(self, method, url, summary: str = "", scope: str | None = None,
                 request=None, response=None, status=200, listing=False, paged=False,
                 if_match=False, etag=None, media_type="application/json", query=(),
                 **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED)
        self.scope = scope
        self.contract = Contract(summary, request, response, status, listing,
                                 paged or listing, if_match,
                                 if_match if etag is None else etag, media_type,
                                 tuple(query))
        super().__init__(method, API_PREFIX + url, **kwargs)

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
        log.error("unhandled error in gateway", extra={"error": type(exc).__name__})
        return problem_response(StafettError("an unexpected error occurred"))


api = ApiEntrypoint.decorator


def api_routes(service_cls) -> list[tuple[str, str, str, ApiEntrypoint]]:
    """``(METHOD, /path/{param}, handler name, entrypoint)`` of every public API route,
    sorted by path: what the OpenAPI document and the authorization matrix cover."""
    routes = []
    for name in dir(service_cls):
        handler = getattr(service_cls, name, None)
        for entrypoint in getattr(handler, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiEntrypoint):
                path = (entrypoint.url.removeprefix(API_PREFIX)
                        .replace("<", "{").replace(">", "}"))
                routes.append((entrypoint.method, path, name, entrypoint))
    return sorted(routes, key=lambda route: (route[1], route[0]))
