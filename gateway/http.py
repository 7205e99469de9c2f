"""HTTP plumbing of the gateway: JSON in, JSON or problem+json out.

``api(method, path)`` is nameko's HTTP entrypoint with RFC 9457 errors: a typed Stafett
error keeps its status, a dead or slow service becomes 503 with Retry-After, anything
else is a 500 whose body says nothing about the internals. Context data is never read
from request headers, so a client cannot inject an actor.
"""
from __future__ import annotations

import json
import logging

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


class ApiEntrypoint(HttpEntrypoint):
    """``@api(method, path, scope=...)``: ``scope`` is what an agency system's token must
    carry to call this route; routes without one are closed to agency systems."""

    def __init__(self, method, url, scope: str | None = None, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED)
        self.scope = scope
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
