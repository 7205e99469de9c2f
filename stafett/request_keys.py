"""Exactly once for state-changing RPCs: the request key and its record.

The gateway gives every HTTP request a key: the caller-scoped hash of its
``Idempotency-Key``, or a random id when the client sent none. It travels as nameko
context data (``worker_ctx.data["stafett.request_key"]``, the AMQP header
``nameko.stafett.request_key``) with every RPC the request makes, and on to the RPCs those
make in turn.

An entrypoint that creates or changes something is decorated ``@once`` (below ``@rpc``).
Its record, the row ``request_keys(key)``, and its answer (or its refusal: a 4xx error)
commit in one transaction with its effect: while it runs, what the worker's session commits is held
(``stafett.db.one_transaction``: its commits are savepoints) and commits for real with the
answer when it returns. So wherever the process dies, a retry finds either nothing (and
carries the call out) or the effect with its first answer. The one exception: a worker
that calls another service right after a commit expects it to see that commit, so what is
held is committed for real before the call (``stafett.db.before_calling_out``); its answer
then follows in a transaction of its own, and a crash between the two leaves a record
without an answer (a retry is told 503 "still being carried out", then 409 "answer lost"
after ``ANSWER_LOST_SECONDS``: never carried out twice). A call whose key is already
recorded changes nothing and gets the first answer:

- a message the broker redelivers (a connection lost before the ack) or a client retry
  through the gateway with the same Idempotency-Key (after a 503 or a timeout);
- two deliveries at once: the second to commit loses on the primary key, its transaction
  (the effect included) rolls back, and it answers with the first one's answer.

An outage or an unexpected error that ends the call (after a commit too: a database
connection lost while the answer is made) is no answer to keep: the whole call is rolled
back and says so (503 for an outage), and a retry carries it out.

A record is scoped to the service, the entrypoint, the key, the actor and the arguments,
so one request may call the same entrypoint twice with different arguments, and a caller
never gets another's answer. A call that raised
before anything committed leaves no record, and is carried out again when retried.
Records are kept ``REQUEST_KEY_TTL_HOURS`` (48, longer than the gateway's 24 h) and then
pruned.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import time
from datetime import timedelta

import eventlet
from kombu.utils import json as kombu_json
from sqlalchemy import Column, String, Table, Text, delete, event, insert, select
from sqlalchemy import update
from sqlalchemy.orm import Session

from stafett import errors
from stafett.actor import Actor
from stafett.background import Background
from stafett.clock import as_utc, utcnow
from stafett.db import UtcDateTime, one_transaction
from stafett.events import kernel_metadata

log = logging.getLogger(__name__)

#: the context-data key (AMQP header ``nameko.stafett.request_key``)
REQUEST_KEY = "stafett.request_key"
MAX_KEY = 200
#: how long a twin waits for the first delivery's answer before answering 503
ANSWER_WAIT_SECONDS = 3.0
#: a record without an answer older than this lost its answer (a crash between a commit
#: released before a call to another service and the answer's): the retry is told so
#: (409), never done twice
ANSWER_LOST_SECONDS = 60.0

STARTED, DONE = "started", "done"

request_keys_table = Table(
    "request_keys", kernel_metadata,
    #: SHA-256 of (service, entrypoint, request key, actor, arguments)
    Column("key", String(64), primary_key=True),
    Column("entrypoint", String(80), nullable=False),
    #: "done" when committed with its answer; "started" only if part of the effect was
    #: committed before a call to another service and the answer has not followed yet
    Column("state", String(12), nullable=False),
    #: {"result": ...} or {"error": {"type", "detail", "errors"}}, as kombu JSON
    Column("answer", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)


def scoped_key(service: str, entrypoint: str, request_key: str, args, kwargs,
               actor: str = "") -> str:
    arguments = kombu_json.dumps([list(args), kwargs], sort_keys=True, default=str)
    digest = hashlib.sha256()
    for part in (service, entrypoint, request_key, actor, arguments):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


class RequestKey(Background):
    """``self.request_key``: the key this call carries (None when it carries none).

    Also prunes records older than ``REQUEST_KEY_TTL_HOURS`` once an hour, in services
    with a database."""

    def setup(self):
        self.ttl = timedelta(hours=float(self.container.config.get("REQUEST_KEY_TTL_HOURS",
                                                                   48)))

    def start(self):
        service_cls = self.container.service_cls
        if any(getattr(getattr(service_cls, name, None), "stafett_once", False)
               for name in dir(service_cls)):
            self.start_background(self._prune_forever, "request keys")

    def _prune_forever(self):
        while True:
            try:
                self.prune()
            except Exception:  # database away: next hour
                log.warning("could not prune request keys", exc_info=True)
            eventlet.sleep(3600)

    def prune(self) -> int:
        database = next(d for d in self.container.dependencies
                        if d.__class__.__name__ == "Database")
        with database.engine.begin() as connection:
            return connection.execute(delete(request_keys_table).where(
                request_keys_table.c.created_at < utcnow() - self.ttl)).rowcount

    def get_dependency(self, worker_ctx):
        key = worker_ctx.data.get(REQUEST_KEY)
        if isinstance(key, str) and 0 < len(key) <= MAX_KEY:
            return key
        return None


class _Recorder:
    """Writes the record into the first transaction the entrypoint commits."""

    def __init__(self, session: Session, key: str, entrypoint: str):
        self.session, self.key, self.entrypoint = session, key, entrypoint
        self.committed = False
        self._pending = False
        event.listen(session, "before_commit", self._before_commit)
        event.listen(session, "after_commit", self._after_commit)

    def _before_commit(self, session):
        if not self.committed:
            session.execute(insert(request_keys_table).values(
                key=self.key, entrypoint=self.entrypoint, state=STARTED, created_at=utcnow()))
            self._pending = True

    def _after_commit(self, session):
        if self._pending:
            self.committed, self._pending = True, False

    def close(self):
        event.remove(self.session, "before_commit", self._before_commit)
        event.remove(self.session, "after_commit", self._after_commit)


def _answer_of(exc: BaseException) -> dict:
    if isinstance(exc, errors.StafettError):
        # the codes too: a form shows the refusal by them (a replay without them would be
        # request.invalid_fields with field.invalid on every field)
        return {"error": {"type": type(exc).__name__, "detail": exc.detail,
                          "errors": exc.errors, "code": exc.code,
                          "error_codes": exc.error_codes, "error_params": exc.error_params}}
    return {"error": {"type": "StafettError", "detail": "an unexpected error occurred",
                      "errors": {}}}


def _final(exc: BaseException) -> bool:
    """A refusal the same call would get again (a 4xx), worth keeping as its answer."""
    return isinstance(exc, errors.StafettError) and exc.status < 500


def _replay(answer: dict):
    if "result" in answer:
        return answer["result"]
    if answer.get("withheld"):
        raise errors.Conflict("this request was carried out; its answer was shown once and "
                              "is not kept")
    error = answer["error"]
    cls = getattr(errors, error["type"], None)
    if not (isinstance(cls, type) and issubclass(cls, errors.StafettError)):
        cls = errors.StafettError
    raise cls(error["detail"], error.get("errors") or {}, code=error.get("code") or "",
              error_codes=error.get("error_codes") or None,
              error_params=error.get("error_params") or None)


def _recorded(session: Session, key: str):
    return session.execute(select(request_keys_table).where(
        request_keys_table.c.key == key)).first()


def _first_answer(session: Session, key: str, row):
    """The answer of the delivery that recorded ``key`` first (waiting a little for it)."""
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    while row.state != DONE:
        if (utcnow() - as_utc(row.created_at)).total_seconds() > ANSWER_LOST_SECONDS:
            raise errors.Conflict("this request was carried out, but its answer was lost; "
                                  "read the result, or send a new request")
        if time.monotonic() > deadline:
            raise errors.ServiceUnavailable("this request is still being carried out")
        session.rollback()  # a fresh snapshot
        eventlet.sleep(0.05)
        row = _recorded(session, key)
    session.rollback()
    return _replay(kombu_json.loads(row.answer))


def _store(session: Session, key: str, entrypoint: str, answer: dict, committed: bool):
    """The answer, in the transaction ``one_transaction`` holds (with the effect)."""
    text = kombu_json.dumps(answer)
    if committed:
        session.execute(update(request_keys_table).where(request_keys_table.c.key == key)
                        .values(state=DONE, answer=text))
    else:  # nothing committed: the answer alone is the record
        session.execute(insert(request_keys_table).values(
            key=key, entrypoint=entrypoint, state=DONE, answer=text, created_at=utcnow()))


def once(method=None, *, keep_answer: bool = True):
    """Make a state-changing RPC entrypoint exactly-once per request key (``@rpc`` above).

    The service needs ``self.db`` (``stafett.db.Database``) and ``self.request_key``
    (``RequestKey``, in ``ServiceBase``). ``@once(keep_answer=False)`` for an answer that
    must not be stored (a secret shown once): the effect still happens once, and a repeat
    is answered 409."""
    if method is None:
        return functools.partial(once, keep_answer=keep_answer)
    entrypoint = method.__name__

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        request_key = self.request_key
        if not isinstance(request_key, str):  # an internal call, no request behind it
            return method(self, *args, **kwargs)
        session: Session = self.db
        actor = getattr(self, "actor", None)  # one caller never gets another's answer
        key = scoped_key(self.name, entrypoint, request_key, args, kwargs,
                         actor.ref if isinstance(actor, Actor) else "")
        row = _recorded(session, key)
        if row is not None:
            return _first_answer(session, key, row)
        session.rollback()  # end the look-up's transaction: the work starts afresh
        try:
            return _carry_out(session, key, entrypoint, keep_answer,
                              lambda: method(self, *args, **kwargs))
        except Exception:
            try:  # nothing of ours committed: did a twin record the key first?
                row = _recorded(session, key)
            except Exception:  # the database is away: the first error says so
                row = None
            session.rollback()
            if row is not None:
                return _first_answer(session, key, row)
            raise

    wrapper.stafett_once = True
    return wrapper


def _carry_out(session: Session, key: str, entrypoint: str, keep_answer: bool, call):
    """The call, its record and its answer: committed together, or not at all.

    Raises (having committed nothing) when the call raised before committing anything, or
    when the answer could not be committed with the effect: then nothing happened, and a
    retry carries the call out."""
    with one_transaction(session) as held:
        recorder = _Recorder(session, key, entrypoint)
        error = None
        try:
            result = call()
            answer = {"result": result} if keep_answer else {"withheld": True}
        except Exception as exc:
            session.rollback()  # back to its last commit
            if not recorder.committed or not (_final(exc) or held.released_early):
                # nothing happened (a twin's record is looked up by the caller), or what
                # did is undone: an outage or a bug is no answer to keep (a retry does it)
                raise
            error, answer = exc, _answer_of(exc)
        finally:
            recorder.close()
        try:
            _store(session, key, entrypoint, answer, recorder.committed)
            held.commit()
        except Exception:
            if not held.released_early:
                if error is not None:  # why the call failed says more than the store's
                    raise error        # failure (a database gone away: 503)
                raise  # the effect did not commit either
            # part of the effect committed before a call to another service: answer; a
            # retry is told the answer was lost (409), never carries it out again
            log.warning("could not store the answer of %s", entrypoint, exc_info=True)
    if error is not None:
        raise error
    return result
