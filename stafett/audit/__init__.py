"""Access records: who read or changed what, in a transparency log so tampering shows.

A record is written in the same transaction as the work it describes, with no lock shared
with any other request: the table's autoincrement ``seq`` orders records, and ``hash`` is the
SHA-256 of the record's canonical content (``leaf_bytes``). The service's sequencer
(``stafett/transparency.py``) later gives each committed record its place in the log
(``leaf_index``), folds it into an RFC 9162 Merkle tree and signs a checkpoint, which also
goes to a witness outside the database; ``stafett audit verify`` recomputes the tree.

Records written before the transparency log (the hash chain) keep their ``prev_hash``, which
stays part of their canonical content, so their stored hash still matches; new records
have none.

A refused request is recorded too, often before its input was validated, so what a record
takes from a request is bounded here: an object or subject id that is no id of ours (too
long, or a character outside ``RECORDED_ID``) is recorded as none, and the reason is cut
to its column with control characters replaced, so hostile input is neither stored nor
able to fail the write.

``protected`` marks a record about a child whose case has a protective address code
("kode 6/7"): the family sees such reads marked as "skjermet", and operations can watch
them. It is hashed when set, so the mark cannot be removed unnoticed (records without it
hash as before).
"""
from __future__ import annotations

import hashlib
import json
import re
from contextlib import contextmanager
from datetime import timedelta, timezone
from json.encoder import encode_basestring_ascii

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, select
from sqlalchemy.orm import Session


from stafett.actor import Actor
from stafett.audit import purposes
from stafett.db import UtcDateTime
from stafett.errors import Forbidden, NotFound, StafettError, Unauthorized
from stafett.events import kernel_metadata, utcnow
from stafett.fields import FORBIDDEN
from stafett.ids import new_id

GENESIS = "0" * 64
#: an id as recorded (uuids, organisation numbers): what fits the 36 of the id columns
RECORDED_ID = re.compile(r"[A-Za-z0-9._:-]{1,36}")


def _recorded_id(value) -> str | None:
    return value if isinstance(value, str) and RECORDED_ID.fullmatch(value) else None

access_table = Table(
    "access_log", kernel_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_ref", String(80), nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("agency", String(9), nullable=True),
    Column("role", String(40), nullable=True),
    Column("action", String(40), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(36), nullable=True),
    Column("subject_id", String(36), nullable=True, index=True),  # the log (or child) concerned
    Column("outcome", String(10), nullable=False),                # allowed | denied
    Column("reason", String(120), nullable=True),
    Column("protected", Boolean, nullable=True),   # about a child with a protective code
    Column("purpose", String(40), nullable=True),  # why: a code of stafett/audit/purposes.py
    Column("prev_hash", String(64), nullable=True),   # the former hash chain's link only
    Column("hash", String(64), nullable=False),       # SHA-256 of leaf_bytes(record)
    # the record's place in the transparency log, given by the sequencer after commit
    Column("leaf_index", BigInteger, nullable=True, unique=True, index=True),
)

#: the columns of a record's content, in the order ``canonical`` takes them
LEAF_COLUMNS = ("action", "actor_kind", "actor_ref", "agency", "at", "id", "object_id",
                "object_type", "outcome", "prev_hash", "protected", "purpose", "reason",
                "role", "subject_id")
_encode = json.JSONEncoder(separators=(",", ":")).encode
_ZERO = timedelta(0)


def _json(value) -> str:
    if value is None:
        return "null"
    return encode_basestring_ascii(value) if type(value) is str else _encode(value)


def _utc_text(at) -> str:
    # UTC, whatever time zone the database session hands the timestamp back in (SQLite:
    # naive, stored as UTC)
    offset = at.utcoffset()
    if offset is None:
        return at.isoformat() + "+00:00"
    return (at if offset == _ZERO else at.astimezone(timezone.utc)).isoformat()


def canonical(action, actor_kind, actor_ref, agency, at, id, object_id, object_type, outcome,
              prev_hash, protected, purpose, reason, role, subject_id) -> bytes:
    """Exactly ``json.dumps(content, sort_keys=True, separators=(",", ":"))`` of the record's
    content (the former chain's encoding), written out: this runs once per record when a
    million are verified."""
    return (f'{{"action":{_json(action)},"actor_kind":{_json(actor_kind)},'
            f'"actor_ref":{_json(actor_ref)},"agency":{_json(agency)},'
            f'"at":"{_utc_text(at)}","id":{_json(id)},"object_id":{_json(object_id)},'
            f'"object_type":{_json(object_type)},"outcome":{_json(outcome)}'
            + ("" if prev_hash is None else f',"prev_hash":{_json(prev_hash)}')
            + (',"protected":true' if protected else "")
            + ("" if purpose is None else f',"purpose":{_json(purpose)}')
            + f',"reason":{_json(reason)},"role":{_json(role)},'
              f'"subject_id":{_json(subject_id)}}}').encode()


def leaf_bytes(record) -> bytes:
    """The record's canonical encoding: its content as JSON, keys sorted, no spaces, the
    time in UTC ISO 8601; ``prev_hash`` only on records of the former chain, ``protected``
    and ``purpose`` only when set (so records without them encode as before they
    existed)."""
    return canonical(record["action"], record["actor_kind"], record["actor_ref"],
                     record["agency"], record["at"], record["id"], record["object_id"],
                     record["object_type"], record["outcome"], record["prev_hash"],
                     record.get("protected"), record.get("purpose"), record["reason"],
                     record["role"], record["subject_id"])


def leaf_content(record) -> dict:
    """The record's content as the dict ``leaf_bytes`` encodes (``at`` as its UTC text):
    what a family downloads to check a record (``stafett.audit.verify_inclusion``)."""
    return json.loads(leaf_bytes(record))


def _digest(record: dict) -> str:
    return hashlib.sha256(leaf_bytes(record)).hexdigest()


def record_access(session: Session, actor: Actor | None, *, action: str, object_type: str,
                  object_id: str | None, subject_id: str | None, outcome: str,
                  role: str | None = None, reason: str | None = None,
                  protected: bool = False, purpose: str | None = None) -> dict:
    """One access record. ``purpose`` is why (a code of ``stafett.audit.purposes``); left
    out, the catalogue's default for the action is recorded."""
    # no lock and no read: concurrent requests append independently; the sequencer orders
    record = {
        "id": new_id(), "at": utcnow().replace(microsecond=0),
        "actor_ref": actor.ref if actor else "anonymous",
        "actor_kind": actor.kind if actor else "anonymous",
        "agency": actor.agency if actor else None, "role": role, "action": action,
        "object_type": object_type, "object_id": _recorded_id(object_id),
        "subject_id": _recorded_id(subject_id), "outcome": outcome,
        "reason": FORBIDDEN.sub("\ufffd", reason)[:120] if reason else reason,
        "prev_hash": None,
    }
    if protected:
        record["protected"] = True
    record["purpose"] = purposes.checked(purpose) or purposes.default_for(action, object_type)
    record["hash"] = _digest(record)
    session.execute(access_table.insert().values(**record))
    return record


def verify_chain(session: Session) -> tuple[bool, int | None]:
    """(True, None) if every record's content matches its hash, else (False, seq of the
    first that does not). What the stored hashes alone can show; the tree and checkpoints
    are checked by ``stafett.transparency.verify_log``."""
    for row in session.execute(select(access_table).order_by(access_table.c.seq)).mappings():
        if _digest(row) != row["hash"]:
            return False, row["seq"]
    return True, None


class AuditedWork:
    """What the body of ``audited_work`` may fill in once it knows (e.g. a new row's id)."""

    def __init__(self, object_id, subject_id, role, purpose=None):
        self.object_id, self.subject_id, self.role = object_id, subject_id, role
        #: why (``stafett.audit.purposes``): set by the caller, or by the body once it knows
        #: (a participant's read, a guardian's); the action's default otherwise
        self.purpose = purpose
        #: set when the work concerns a child whose case has a protective address code
        self.protected = False
        #: run last, after the access record and just before commit (a refusal there
        #: undoes the work like any other): what locks a contended row, e.g. a log's
        #: version, so the lock is held for the commit only
        self.before_commit: list = []


@contextmanager
def audited_work(session: Session, actor: Actor | None, action: str, object_type: str,
                 object_id: str | None = None, subject_id: str | None = None,
                 role: str | None = None, purpose: str | None = None):
    """A unit of work that writes its own access record and commits.

    On success the ``allowed`` record is written in the same transaction as the work and
    both commit together. On a refusal the work is rolled back and a ``denied`` (access)
    or ``rejected`` (invalid request) record is committed on its own, then the error
    propagates: every attempt leaves exactly one record, and a refused one no other trace.
    """
    work = AuditedWork(object_id, subject_id, role, purpose)
    try:
        yield work
        record_access(session, actor, action=action, object_type=object_type,
                      object_id=work.object_id, subject_id=work.subject_id, role=work.role,
                      outcome="allowed", protected=work.protected, purpose=work.purpose)
        for hook in work.before_commit:
            hook()
    except StafettError as exc:
        session.rollback()
        outcome = "denied" if isinstance(exc, (NotFound, Forbidden, Unauthorized)) else "rejected"
        record_access(session, actor, action=action, object_type=object_type,
                      object_id=work.object_id, subject_id=work.subject_id, role=work.role,
                      outcome=outcome, reason=(exc.detail or exc.title)[:120],
                      protected=work.protected, purpose=work.purpose)
        session.commit()
        raise
    except Exception:
        session.rollback()
        raise
    session.commit()
