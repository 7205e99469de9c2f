"""Typed errors shared by every service, each with a stable machine code.

Each error carries an HTTP status, an English ``detail`` for developers and a machine
``code`` (``<object>.<reason>``: ``log.closed``, ``consent.not_pending``), and is
registered with nameko's remote-exception registry so that raising ``NotFound`` in the
logs service re-raises ``NotFound`` (not ``RemoteError``) in the gateway: ``exc_args``
survive RPC, so ``detail``, field ``errors``, ``code`` and the field ``error_codes``
arrive intact. Clients (the gateway's handover classification, the web client's bokmål
catalogue) decide by code, never by the English text.

Codes are declared once, by their owner: ``declare(owner, {code: English text})`` in
``services/<svc>/errors.py``, ``gateway/errors.py``, and here for the generic code of
each class (used when a raise site names none). Field errors carry codes too: a
message made with ``coded(code, text)`` (a ``str`` that remembers its code) in a
``ValidationFailed``'s ``errors`` gives ``error_codes = {field: [code]}``; marshmallow's
own messages get theirs in ``stafett/contracts.py``; a plain message takes the error's own
code (one field, one reason: ``ValidationFailed(..., {"to_agency": [...]}, code=...)``). The gateway serves every declared
code at ``/problems`` (problem+json ``type`` = ``<PUBLIC_URL>/problems#<code>``);
``tests/unit/test_error_codes.py`` checks that every code raised is declared by exactly
one owner.
"""
from __future__ import annotations

from nameko.exceptions import deserialize_to_instance

#: where the problem page is served (the gateway's PUBLIC_URL + /problems; set by
#: ``configure_problem_page`` when a component starts its HTTP server)
PROBLEM_PAGE = {"url": "http://127.0.0.1:8000/problems"}

#: every declared code -> (owner, English text for developers)
REGISTRY: dict[str, tuple[str, str]] = {}

#: the field code marshmallow and hand-made field messages get when they name none
FIELD_INVALID = "field.invalid"


class DuplicateCode(Exception):
    """A code declared by two owners (or twice)."""


def declare(owner: str, codes: dict[str, str]) -> dict[str, str]:
    """Declare ``owner``'s codes (``{"log.closed": "the log is closed ..."}``) once."""
    for code, text in codes.items():
        known = REGISTRY.get(code)
        if known is not None and known != (owner, text):
            raise DuplicateCode(f"{code} is declared by {known[0]} and by {owner}")
        REGISTRY[code] = (owner, text)
    return codes


def configure_problem_page(public_url: str | None) -> None:
    if public_url:
        PROBLEM_PAGE["url"] = str(public_url).rstrip("/") + "/problems"


def problem_type(code: str) -> str:
    return f"{PROBLEM_PAGE['url']}#{code}"


class coded(str):  # noqa: N801 - used like a str constructor
    """A field message that remembers its machine code (and parameters for the text a
    client builds from it, e.g. the code point of a refused character)."""

    code: str
    params: dict

    def __new__(cls, code: str, text: str, **params):
        message = super().__new__(cls, text)
        message.code, message.params = code, {k: str(v) for k, v in params.items()}
        return message


def flatten(errors, prefix: str = "") -> dict[str, list]:
    """marshmallow's nested messages as ``{"a.b": [...]}`` (list indices become keys)."""
    flat: dict[str, list] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat_key = f"{prefix}.{key}" if prefix else str(key)
            for name, messages in flatten(value, flat_key).items():
                flat.setdefault(name, []).extend(messages)
    elif isinstance(errors, (list, tuple)):
        if all(isinstance(e, str) for e in errors):
            flat.setdefault(prefix or "_schema", []).extend(errors)
        else:
            for item in errors:
                for name, messages in flatten(item, prefix).items():
                    flat.setdefault(name, []).extend(messages)
    else:
        flat.setdefault(prefix or "_schema", []).append(str(errors))
    return flat


def field_codes(errors: dict, default: str = FIELD_INVALID
                ) -> tuple[dict[str, list[str]], dict[str, list[dict]]]:
    """``({field: [code]}, {field: [params]})`` from messages made with ``coded``; a plain
    message gets ``default`` (the error's own code, when the raise site names one)."""
    codes: dict[str, list[str]] = {}
    params: dict[str, list[dict]] = {}
    for name, messages in flatten(errors).items():
        codes[name] = [getattr(m, "code", default) for m in messages]
        if any(getattr(m, "params", None) for m in messages):
            params[name] = [dict(getattr(m, "params", {}) or {}) for m in messages]
    return codes, params


class StafettError(Exception):
    status = 500
    slug = "internal"
    title = "Internal error"
    #: the generic code of the class, when the raise site names none
    default_code = "server.internal"

    def __init__(self, detail: str = "", errors: dict | None = None, code: str = "",
                 error_codes: dict | None = None, error_params: dict | None = None):
        errors = errors or {}
        if errors and not error_codes:
            error_codes, derived_params = field_codes(errors, code or FIELD_INVALID)
            error_params = error_params or derived_params
        code = code or self.default_code
        error_codes, error_params = error_codes or {}, error_params or {}
        # the arguments nameko sends (no None: it would arrive as "None")
        super().__init__(detail, errors, code, error_codes, error_params)
        self.detail = detail
        self.errors = errors
        self.code = code
        self.error_codes = error_codes
        self.error_params = error_params

    def __str__(self) -> str:
        return self.detail or self.title

    def to_problem(self, instance: str | None = None) -> dict:
        problem = {
            "type": problem_type(self.code),
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
            "code": self.code,
        }
        if self.errors:
            problem["errors"] = self.errors
            problem["error_codes"] = self.error_codes
            if self.error_params:
                problem["error_params"] = self.error_params
        if instance:
            problem["instance"] = instance
        return problem


def _register(cls):
    return deserialize_to_instance(cls)


@_register
class BadRequest(StafettError):
    status, slug, title = 400, "bad-request", "Bad request"
    default_code = "request.bad"


@_register
class Unauthorized(StafettError):
    status, slug, title = 401, "unauthorized", "Authentication required"
    default_code = "auth.required"


@_register
class Forbidden(StafettError):
    status, slug, title = 403, "forbidden", "Forbidden"
    default_code = "access.forbidden"


@_register
class NotFound(StafettError):
    status, slug, title = 404, "not-found", "Not found"
    default_code = "resource.not_found"


@_register
class MethodNotAllowed(StafettError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"
    default_code = "request.method_not_allowed"


@_register
class UnsupportedMediaType(StafettError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"
    default_code = "request.unsupported_media_type"


@_register
class Conflict(StafettError):
    status, slug, title = 409, "conflict", "Conflict"
    default_code = "state.conflict"


@_register
class PayloadTooLarge(StafettError):
    status, slug, title = 413, "payload-too-large", "Request body too large"
    default_code = "request.too_large"


@_register
class PreconditionFailed(StafettError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"
    default_code = "version.changed"


@_register
class ValidationFailed(StafettError):
    status, slug, title = 422, "validation", "Invalid input"
    default_code = "request.invalid_fields"


@_register
class PreconditionRequired(StafettError):
    status, slug, title = 428, "precondition-required", "If-Match required"
    default_code = "version.if_match_required"


@_register
class TooManyRequests(StafettError):
    status, slug, title = 429, "rate-limited", "Too many requests"
    default_code = "request.rate_limited"


@_register
class ServiceUnavailable(StafettError):
    status, slug, title = 503, "unavailable", "Service unavailable"
    default_code = "service.unavailable"
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


#: the kernel's generic codes: one per class, for raise sites that name no finer one
CODES = declare("kernel", {
    "server.internal": "an unexpected error occurred; nothing is to be done but retry later",
    "request.bad": "the request is malformed (a header, a query parameter, a cursor)",
    "auth.required": "authentication is missing or failed: send a valid bearer token",
    "access.forbidden": "you are authenticated but may not do this",
    "resource.not_found": "no such resource, or none you may see",
    "request.method_not_allowed": "the resource does not take that method (see Allow)",
    "request.unsupported_media_type": "send application/json",
    "state.conflict": "the resource is in a state that does not allow this",
    "request.too_large": "the request body is too large",
    "version.changed": "the resource changed since you read it (If-Match): read it again",
    "request.invalid_fields": "some fields are invalid: see errors and error_codes",
    "version.if_match_required": "send If-Match with the ETag you last read",
    "request.rate_limited": "too many requests: wait Retry-After seconds",
    "service.unavailable": "a service is unavailable: retry after Retry-After seconds",
    # the access log as people review it (stafett/access_review.py), in every service
    "access_log.auditor_only": "only an agency auditor may read the agency's access records",
    "access_log.not_allowed": "the access log is for the child, the guardians and the "
                              "stafettholder",
    "access_log.record_not_found": "no such record in the child's access log",
    "access_log.not_sealed": "the record is not in a signed checkpoint yet: ask again in a "
                             "few seconds",
    # field codes (in error_codes), from marshmallow's messages and the kernel's fields
    "field.invalid": "the field's value is not accepted",
    "field.required": "the field is required (missing or null)",
    "field.unknown": "the contract has no such field",
    "field.not_a_string": "the field takes a string",
    "field.not_a_number": "the field takes a number",
    "field.not_a_boolean": "the field takes a boolean",
    "field.not_a_list": "the field takes a list",
    "field.not_an_object": "the field takes an object",
    "field.not_a_choice": "the value is not one of the allowed values",
    "field.out_of_range": "the number is outside the allowed range",
    "text.length": "the text is too short or too long",
    "text.control_character": "the text holds a control character (only tab and LF are "
                              "allowed); error_params: char, its code point",
    "text.lone_surrogate": "the text holds a lone surrogate, no character; error_params: char",
    "text.direction_control": "the text holds an invisible bidi embedding, override or "
                              "isolate; error_params: char",
    "date.invalid": "not a valid date (YYYY-MM-DD)",
    "datetime.invalid": "not a valid date-time (RFC 3339 with offset)",
    "email.invalid": "not a valid e-mail address",
    "url.invalid": "not a valid URL",
})
