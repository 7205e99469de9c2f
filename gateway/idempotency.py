"""Idempotency-Key for creating POSTs, and the request key every RPC carries.

A client that retries a POST after a timeout sends the same ``Idempotency-Key``: the
first response is stored and replayed (``Idempotent-Replayed: true``); the same key with
a different body is refused with 422; a key whose first request is still running gets
409 while its lease lasts (``IDEMPOTENCY_LEASE_SECONDS``, 15). Keys are scoped to the
caller (issuer and subject) and the route, and kept for ``IDEMPOTENCY_TTL_HOURS`` (24).

The scoped key is also the request key of every RPC the request makes
(``stafett.request_keys``): each service records it with its effect. So a first request
that failed with a server-side error (a 503 or a timeout: its work may still commit) is
not forgotten but marked ``retry``, and the client's retry is carried out again with the
same request key: a service that had committed the first attempt answers from its own
record and changes nothing. A key whose lease ran out (a gateway that died mid-request)
is taken over the same way. Requests without an Idempotency-Key get a random request key
(``RequestKeyContext``), so a redelivered RPC is still carried out once.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from datetime import timedelta

from nameko.extensions import DependencyProvider
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session  # noqa: F401  (typing of ctx.db)
from werkzeug.wrappers import Response

from gateway.models import IdempotencyRecord
from stafett.errors import BadRequest, Conflict, ValidationFailed
from stafett.events import as_utc, utcnow
from stafett.request_keys import REQUEST_KEY

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag", "Content-Type")
#: 1 to 200 visible ASCII characters (and spaces inside), as the OpenAPI document says
MAX_KEY = 200
KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,%d}[\x21-\x7e])?" % (MAX_KEY - 2), re.ASCII)


#: a first attempt that failed server-side: its outcome is not known, a retry carries it out
IN_PROGRESS, DONE, RETRY = "in_progress", "done", "retry"


class RequestKeyContext(DependencyProvider):
    """Every gateway worker's request key, carried by each RPC it makes as context data
    (``stafett.request_key``): random, unless the route's Idempotency-Key sets it."""

    class _Setter:
        def __init__(self, worker_ctx):
            self._worker_ctx = worker_ctx

        def set(self, key: str) -> None:
            self._worker_ctx.data[REQUEST_KEY] = key

        @property
        def key(self) -> str | None:
            return self._worker_ctx.data.get(REQUEST_KEY)

    def worker_setup(self, worker_ctx):
        worker_ctx.data[REQUEST_KEY] = uuid.uuid4().hex

    def get_dependency(self, worker_ctx):
        return self._Setter(worker_ctx)


def _sha256(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def idempotent(route):
    """Decorate a creating POST route function of the gateway, ``route(ctx, **values)``
    (gateway/routes/; ``ctx`` is gateway/context.py's ``RequestContext``)."""

    @functools.wraps(route)
    def wrapper(ctx, **kwargs):
        request = ctx.request
        key = request.headers.get(HEADER)
        if key is None:
            return route(ctx, **kwargs)
        if not KEY.fullmatch(key):
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY} visible ASCII "
                             "characters")
        ctx.authenticate()
        identity = ctx.identity
        body = ctx.raw_body()
        key_hash = _sha256(identity["issuer"], identity["sub"], request.method, request.path,
                           key)
        request_hash = _sha256(body)
        session = ctx.db  # the worker's own session, closed at teardown
        record = session.get(IdempotencyRecord, key_hash)
        if record is not None and as_utc(record.expires_at) < utcnow():
            session.delete(record)
            session.commit()
            record = None
        now = utcnow()
        lease = timedelta(seconds=float(ctx.config.get("IDEMPOTENCY_LEASE_SECONDS", 15)))
        if record is not None:
            if record.request_hash != request_hash:
                raise ValidationFailed("this Idempotency-Key was used with another body",
                                       {HEADER: ["already used with a different body"]})
            if record.state == DONE:
                headers = json.loads(record.headers or "{}")
                headers[REPLAYED] = "true"
                return Response(record.body, status=record.status, headers=headers)
            # a first attempt whose outcome is unknown (a 503), or whose lease ran out (its
            # gateway died): this retry carries it out again, under the same request key
            taken = session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.key_hash == key_hash,
                       IdempotencyRecord.request_hash == request_hash,
                       IdempotencyRecord.state != DONE,
                       or_(IdempotencyRecord.state == RETRY,
                           IdempotencyRecord.lease_until.is_(None),
                           IdempotencyRecord.lease_until < now))
                .values(state=IN_PROGRESS, lease_until=now + lease)
                .execution_options(synchronize_session=False)).rowcount
            session.commit()
            if taken != 1:
                raise Conflict("a request with this Idempotency-Key is still running")
        else:
            ttl = timedelta(hours=float(ctx.config.get("IDEMPOTENCY_TTL_HOURS", 24)))
            session.add(IdempotencyRecord(key_hash=key_hash, request_hash=request_hash,
                                          state=IN_PROGRESS, created_at=now,
                                          lease_until=now + lease, expires_at=now + ttl))
            try:
                session.commit()
            except IntegrityError:  # a concurrent first request took the key
                raise Conflict("a request with this Idempotency-Key is still running")
        # the services record their effects under this key (stafett.request_keys)
        ctx.request_key_context.set(key_hash)
        try:
            response = route(ctx, **kwargs)
        except Exception as exc:
            if getattr(exc, "status", 500) >= 500:
                _retry_later(session, key_hash)
            else:
                _store(session, key_hash, _problem_response(exc))
            raise
        _store(session, key_hash, response)
        return response

    wrapper.idempotent = True
    wrapper.takes_idempotency_key = True  # for the OpenAPI document (gateway/routes/route.py)
    return wrapper


def _problem_response(exc) -> Response:
    from stafett.web import problem_response

    return problem_response(exc)


def _store(session: Session, key_hash: str, response) -> None:
    if not isinstance(response, Response):
        response = Response(json.dumps(response, ensure_ascii=False),
                            content_type="application/json")
    record = session.get(IdempotencyRecord, key_hash)
    record.state, record.status = "done", response.status_code
    record.body = response.get_data(as_text=True)
    record.headers = json.dumps({h: response.headers[h] for h in KEPT_HEADERS
                                 if h in response.headers})
    session.commit()


def _retry_later(session: Session, key_hash: str) -> None:
    """Keep the key: the work may still commit in the service. The next retry is carried
    out again, and the service answers it from its own record if it did."""
    session.rollback()
    try:
        session.execute(update(IdempotencyRecord)
                        .where(IdempotencyRecord.key_hash == key_hash,
                               IdempotencyRecord.state == IN_PROGRESS)
                        .values(state=RETRY, lease_until=None)
                        .execution_options(synchronize_session=False))
        session.commit()
    except Exception:  # the gateway's database is away: the lease runs out instead
        session.rollback()
