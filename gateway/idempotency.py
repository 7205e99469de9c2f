"""Idempotency-Key for creating POSTs.

A client that retries a POST after a timeout sends the same ``Idempotency-Key``: the
first response is stored and replayed (``Idempotent-Replayed: true``); the same key with
a different body is refused with 422; a key whose first request is still running gets
409. Keys are scoped to the caller (issuer and subject) and the route, and kept for
``IDEMPOTENCY_TTL_HOURS`` (24). A first request that failed with a server-side error is
forgotten, so the client may retry it.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session  # noqa: F401  (typing of self.db)
from werkzeug.wrappers import Response

from gateway.models import IdempotencyRecord
from stafett.errors import BadRequest, Conflict, ValidationFailed
from stafett.events import as_utc, utcnow

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag", "Content-Type")
#: 1 to 200 visible ASCII characters (and spaces inside), as the OpenAPI document says
MAX_KEY = 200
KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,%d}[\x21-\x7e])?" % (MAX_KEY - 2), re.ASCII)


def _sha256(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def idempotent(route):
    """Decorate a creating POST route of the gateway (after ``@api``)."""

    @functools.wraps(route)
    def wrapper(self, request, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return route(self, request, **kwargs)
        if not KEY.fullmatch(key):
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY} visible ASCII "
                             "characters")
        self._authenticate(request)
        identity = self._identity
        body = self._raw_body(request)
        key_hash = _sha256(identity["issuer"], identity["sub"], request.method, request.path,
                           key)
        request_hash = _sha256(body)
        session = self.db  # the worker's own session, closed at teardown
        record = session.get(IdempotencyRecord, key_hash)
        if record is not None and as_utc(record.expires_at) < utcnow():
            session.delete(record)
            session.commit()
            record = None
        if record is not None:
            if record.request_hash != request_hash:
                raise ValidationFailed("this Idempotency-Key was used with another body",
                                       {HEADER: ["already used with a different body"]})
            if record.state != "done":
                raise Conflict("a request with this Idempotency-Key is still running")
            headers = json.loads(record.headers or "{}")
            headers[REPLAYED] = "true"
            return Response(record.body, status=record.status, headers=headers)
        now = utcnow()
        ttl = timedelta(hours=float(self.config.get("IDEMPOTENCY_TTL_HOURS", 24)))
        session.add(IdempotencyRecord(key_hash=key_hash, request_hash=request_hash,
                                      state="in_progress", created_at=now,
                                      expires_at=now + ttl))
        try:
            session.commit()
        except IntegrityError:  # a concurrent first request took the key
            raise Conflict("a request with this Idempotency-Key is still running")
        try:
            response = route(self, request, **kwargs)
        except Exception as exc:
            if getattr(exc, "status", 500) >= 500:
                _forget(session, key_hash)
            else:
                _store(session, key_hash, _problem_response(exc))
            raise
        _store(session, key_hash, response)
        return response

    wrapper.idempotent = True
    wrapper.takes_idempotency_key = True  # for the OpenAPI document
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


def _forget(session: Session, key_hash: str) -> None:
    session.rollback()
    record = session.get(IdempotencyRecord, key_hash)
    if record is not None:
        session.delete(record)
        session.commit()
