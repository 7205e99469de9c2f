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


#: what a lost database looks like, as raised here or as the ``exc_type`` of a service's
#: RemoteError (SQLAlchemy's OperationalError, InterfaceError, its pool's TimeoutError...)
DATABASE_OUTAGES = frozenset({"OperationalError", "InterfaceError", "DisconnectionError",
                              "TimeoutError"})
#: what a lost broker connection looks like (kombu, py-amqp, sockets, nameko)
BROKER_OUTAGES = frozenset({"RecoverableConnectionError", "ConnectionError",
                            "ConnectionResetError", "ConnectionRefusedError",
                            "ConnectionAbortedError", "BrokenPipeError",
                            "RpcConnectionError", "ConnectionForced", "IncompleteStream",
                            "socket.timeout"})


def unavailable(exc: BaseException, service: str | None = None) -> ServiceUnavailable | None:
    """The 503 an outage deserves (Retry-After included), or None if ``exc`` is no outage.

    A database or broker that is away is something the client may retry, never a 500:
    this maps SQLAlchemy's connection errors, kombu's and py-amqp's connection errors, and
    a service's RemoteError carrying one of those, to ``ServiceUnavailable``."""
    if isinstance(exc, ServiceUnavailable):
        return exc
    who = f"the {service} service" if service else "a service"
    from nameko.exceptions import RemoteError

    if isinstance(exc, RemoteError):
        if exc.exc_type in DATABASE_OUTAGES:
            return ServiceUnavailable(f"{who} cannot reach its database right now")
        if exc.exc_type in BROKER_OUTAGES:
            return ServiceUnavailable(f"{who} cannot reach the message broker right now")
        return None
    from kombu.exceptions import OperationalError as KombuOperationalError
    from sqlalchemy import exc as sa

    if isinstance(exc, (sa.OperationalError, sa.InterfaceError, sa.DisconnectionError,
                        sa.TimeoutError)):
        return ServiceUnavailable("the database cannot be reached right now")
    if isinstance(exc, (KombuOperationalError, ConnectionError, TimeoutError)) \
            or type(exc).__name__ in BROKER_OUTAGES:
        return ServiceUnavailable("the message broker cannot be reached right now")
    try:
        import amqp.exceptions

        if isinstance(exc, (amqp.exceptions.RecoverableConnectionError,
                            amqp.exceptions.ConnectionError)):
            return ServiceUnavailable("the message broker cannot be reached right now")
    except ImportError:  # pragma: no cover - kombu brings py-amqp
        pass
    return None
