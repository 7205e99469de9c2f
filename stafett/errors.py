"""Typed errors shared by every service.

Each error carries an HTTP status and an RFC 9457 problem type, and is registered with
nameko's remote-exception registry so that raising ``NotFound`` in the logs service
re-raises ``NotFound`` (not ``RemoteError``) in the gateway: ``exc_args`` survive RPC,
so ``detail`` and field ``errors`` arrive intact.
"""
from __future__ import annotations

from nameko.exceptions import deserialize_to_instance

PROBLEM_BASE = "https://stafett.no/problems/"


class StafettError(Exception):
    status = 500
    slug = "internal"
    title = "Internal error"

    def __init__(self, detail: str = "", errors: dict | None = None):
        super().__init__(detail, errors or {})
        self.detail = detail
        self.errors = errors or {}

    def __str__(self) -> str:
        return self.detail or self.title

    def to_problem(self, instance: str | None = None) -> dict:
        problem = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
        }
        if self.errors:
            problem["errors"] = self.errors
        if instance:
            problem["instance"] = instance
        return problem


def _register(cls):
    return deserialize_to_instance(cls)


@_register
class BadRequest(StafettError):
    status, slug, title = 400, "bad-request", "Bad request"


@_register
class Unauthorized(StafettError):
    status, slug, title = 401, "unauthorized", "Authentication required"


@_register
class Forbidden(StafettError):
    status, slug, title = 403, "forbidden", "Forbidden"


@_register
class NotFound(StafettError):
    status, slug, title = 404, "not-found", "Not found"


@_register
class MethodNotAllowed(StafettError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


@_register
class UnsupportedMediaType(StafettError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


@_register
class Conflict(StafettError):
    status, slug, title = 409, "conflict", "Conflict"


@_register
class PayloadTooLarge(StafettError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


@_register
class PreconditionFailed(StafettError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


@_register
class ValidationFailed(StafettError):
    status, slug, title = 422, "validation", "Invalid input"


@_register
class PreconditionRequired(StafettError):
    status, slug, title = 428, "precondition-required", "If-Match required"


@_register
class TooManyRequests(StafettError):
    status, slug, title = 429, "rate-limited", "Too many requests"


@_register
class ServiceUnavailable(StafettError):
    status, slug, title = 503, "unavailable", "Service unavailable"
    retry_after = 5


#: errors that are the caller's fault: entrypoints list them as ``expected_exceptions``
#: so nameko logs them without a stack trace.
EXPECTED = (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict,
            PayloadTooLarge, UnsupportedMediaType, PreconditionFailed, ValidationFailed,
            PreconditionRequired, TooManyRequests)
