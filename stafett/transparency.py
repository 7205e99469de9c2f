"""Each service's access log as a transparency log (RFC 9162 tree, C2SP signed checkpoints).

Requests write access records (``stafett/audit/``) without any shared lock. The sequencer
of a service, ``AuditSequencer`` (a thread in the service container), every
``AUDIT_CHECKPOINT_SECONDS`` when there is something new:

1. takes the row lock on the one ``audit_tree_state`` row (an ``UPDATE`` first, so on
   PostgreSQL a second replica waits for the first, and on SQLite the write lock is taken
   before anything is read);
2. gives the committed records that have no place yet the next places (``leaf_index``), in
   ``seq`` order, folding each record's leaf hash ``SHA-256(0x00 || leaf_bytes)`` into the
   tree's right edge (``Frontier``, kept in the state row);
3. signs a checkpoint (origin, tree size, root, time) with the service's Ed25519 key and
   stores it in ``audit_checkpoint``, all in one transaction;
4. after the commit, writes the checkpoint to the witness: ``AUDIT_WITNESS_DIR/<service>/``,
   one file per tree size, created once and never overwritten.

``verify_log`` recomputes the tree from the records and checks every checkpoint, in the
database and in the witness, against it and against the service's public key.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import eventlet
from nameko.rpc import rpc
from sqlalchemy import (BigInteger, Column, Integer, String, Table, Text, bindparam, func,
                        select, update)
from sqlalchemy.engine import Engine

from stafett import metrics
from stafett.audit import LEAF_COLUMNS, access_table, canonical, leaf_bytes
from stafett.background import Background
from stafett.clock import as_utc, utcnow
from stafett.db import UtcDateTime, sole_database
from stafett.errors import EXPECTED, BadRequest, NotFound
from stafett.events import kernel_metadata
from stafett.tlog import (Checkpoint, Frontier, NoteError, consistency_proof, leaf_hash,
                          open_checkpoint, parse_verifier_key, sign_checkpoint, verifier_key)

log = logging.getLogger(__name__)

tree_state_table = Table(
    "audit_tree_state", kernel_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("frontier", Text, nullable=False),   # JSON: hex hashes of the right edge
    Column("updated_at", UtcDateTime, nullable=True),
)

checkpoint_table = Table(
    "audit_checkpoint", kernel_metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

STATE_ID = 1
BATCH = 10000
#: problems listed per service at most (the first ones; the count is always given)
MAX_PROBLEMS = 50
WITNESS_FILE = re.compile(r"([0-9]{1,20})\.checkpoint")


# -- the service's key --------------------------------------------------------------------

@dataclass(frozen=True)
class LogKey:
    """The origin line (also the note key's name) and the Ed25519 key that signs."""
    origin: str
    private_key: object | None
    public_key: bytes

    @property
    def verifier(self) -> str:
        return verifier_key(self.origin, self.public_key)


def origin_of(config, service: str) -> str:
    return str(config.get("AUDIT_ORIGIN") or f"stafett.havvik.example/audit/{service}")


def signing_key(config, service: str) -> LogKey:
    """From ``AUDIT_SIGNING_KEY`` (hex seed, 32 bytes) or ``SECRETS_DIR/audit-<service>.key``
    (created in development unless ``SECRETS_CREATE`` is off), as the other keys."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from stafett.secrets import symmetric_key

    seed = symmetric_key(config, "AUDIT_SIGNING_KEY", f"audit-{service}.key")
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    return LogKey(origin_of(config, service), private, public)


def verifying_key(config, service: str) -> LogKey:
    """``AUDIT_VERIFIER_KEY`` (the note verifier key text) if set, else from the signing key."""
    text = config.get("AUDIT_VERIFIER_KEY")
    if text:
        name, public = parse_verifier_key(str(text))
        return LogKey(name, None, public)
    key = signing_key(config, service)
    return LogKey(key.origin, None, key.public_key)


def witness_dir(config, service: str) -> Path:
    return Path(str(config.get("AUDIT_WITNESS_DIR") or "var/audit-witness")) / service


# -- the witness --------------------------------------------------------------------------

class Witness:
    """An append-only directory: ``<tree size>.checkpoint``, each written once (read-only)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def path(self, size: int) -> Path:
        return self.directory / f"{size:020d}.checkpoint"

    def write(self, size: int, note: str) -> bool:
        """True if written now or already there with the same text; False if a different
        checkpoint of that size is there (which is left as it is)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.path(size)
        if final.exists():
            return final.read_text(encoding="utf-8") == note
        temporary = self.directory / f".{size}.{os.getpid()}.{id(note)}.tmp"
        with open(temporary, "x", encoding="utf-8") as handle:
            handle.write(note)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o444)
        try:
            os.link(temporary, final)  # fails if it exists: never replaces
        except FileExistsError:
            return final.read_text(encoding="utf-8") == note
        finally:
            temporary.unlink()
        return True

    def sizes(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        return sorted(int(m.group(1)) for m in map(WITNESS_FILE.fullmatch,
                                                    os.listdir(self.directory)) if m)

    def read(self, size: int) -> str:
        return self.path(size).read_text(encoding="utf-8")


# -- the sequencer ------------------------------------------------------------------------

def _load_state(connection) -> Frontier | None:
    row = connection.execute(select(tree_state_table).where(
        tree_state_table.c.id == STATE_ID)).mappings().first()
    if row is None:
        return None
    return Frontier(row["tree_size"], [bytes.fromhex(h) for h in json.loads(row["frontier"])])


def sequence(engine: Engine, key: LogKey, witness: Witness | None = None,
             batch: int = BATCH) -> str | None:
    """Fold committed records without a place into the tree; sign and store a checkpoint
    if anything was new (and witness it). Returns the newest checkpoint note made, if any."""
    made = None
    while True:
        note, count = _sequence_batch(engine, key, batch)
        if note is not None:
            made = note
            if witness is not None:
                size = int(note.split("\n", 2)[1])
                if not witness.write(size, note):
                    log.error("the witness holds a different checkpoint of size %s", size)
        if count < batch:
            return made


def _sequence_batch(engine: Engine, key: LogKey, batch: int) -> tuple[str | None, int]:
    table = access_table
    with engine.begin() as connection:
        # the lock: one sequencer at a time (a second replica waits here)
        locked = connection.execute(update(tree_state_table).where(
            tree_state_table.c.id == STATE_ID).values(tree_size=tree_state_table.c.tree_size))
        if locked.rowcount == 0:
            connection.execute(tree_state_table.insert().values(
                id=STATE_ID, tree_size=0, root_hash=Frontier().root().hex(), frontier="[]"))
        frontier = _load_state(connection)
        rows = connection.execute(
            select(table.c.seq, *(table.c[name] for name in LEAF_COLUMNS))
            .where(table.c.leaf_index.is_(None)).order_by(table.c.seq).limit(batch)).all()
        if not rows:
            return None, 0
        start, places = frontier.size, []
        for row in rows:
            frontier.append(leaf_hash(leaf_bytes(row._mapping)))
            places.append({"s": row.seq, "i": start + len(places)})
        _place(connection, places)
        root = frontier.root()
        now = utcnow().replace(microsecond=0)
        checkpoint = Checkpoint(key.origin, frontier.size, root,
                                (f"time {now.strftime('%Y-%m-%dT%H:%M:%SZ')}",))
        note = sign_checkpoint(checkpoint, key.origin, key.private_key)
        connection.execute(update(tree_state_table).where(tree_state_table.c.id == STATE_ID)
                           .values(tree_size=frontier.size, root_hash=root.hex(),
                                   frontier=json.dumps([h.hex() for h in frontier.hashes]),
                                   updated_at=now))
        connection.execute(checkpoint_table.insert().values(
            tree_size=frontier.size, root_hash=root.hex(), note=note, created_at=now))
    return note, len(rows)


def _place(connection, places: list[dict]) -> None:
    table = access_table
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "UPDATE access_log AS a SET leaf_index = v.i FROM "
            "(SELECT unnest(%(s)s::bigint[]) AS s, unnest(%(i)s::bigint[]) AS i) AS v "
            "WHERE a.seq = v.s",
            {"s": [p["s"] for p in places], "i": [p["i"] for p in places]})
        return
    connection.execute(update(table).where(table.c.seq == bindparam("s"))
                       .values(leaf_index=bindparam("i")), places)


class AuditSequencer(Background):
    """``audit_log = AuditSequencer()``: the service's sequencer thread and its log key."""

    def setup(self):
        self.database = sole_database(self.container, "AuditSequencer")
        config, service = self.container.config, self.container.service_name
        self.interval = float(config.get("AUDIT_CHECKPOINT_SECONDS", 5))
        self.origin = origin_of(config, service)
        self.witness = Witness(witness_dir(config, service))
        self.key, self.key_error = None, None
        self._load_key()

    def _load_key(self) -> None:
        """Without its key the service still serves: its records are kept and placed once
        the key is there (looked for again every round); meanwhile each round says why, and
        the sequencer's heartbeat stops, which the timer alert reports."""
        try:
            self.key = signing_key(self.container.config, self.container.service_name)
            self.key_error = None
        except (OSError, ValueError) as exc:
            self.key_error = f"{type(exc).__name__}: {exc}"
            log.error("no audit signing key; the access log is not sealed: %s",
                      self.key_error)

    def start(self):
        metrics.heartbeat(self.container.service_name, "audit_sequencer", self.interval)
        self.start_background(self._run, "audit sequencer")

    def get_dependency(self, worker_ctx):
        return self

    def _run(self):
        while True:
            eventlet.sleep(self.interval)
            try:
                self.run_once()
                metrics.heartbeat(self.container.service_name, "audit_sequencer")
            except Exception:  # database down: the records wait for the next round
                log.warning("audit sequencer round failed; will retry", exc_info=True)

    def run_once(self) -> str | None:
        if self.key is None:
            self._load_key()
        if self.key is None:
            raise RuntimeError(f"no audit signing key ({self.key_error})")
        made = sequence(self.database.engine, self.key, self.witness)
        self._witness_backlog()
        return made

    def _witness_backlog(self) -> None:
        """Checkpoints committed but not witnessed (the process stopped in between)."""
        newest = max(self.witness.sizes(), default=0)
        with self.database.engine.connect() as connection:
            rows = connection.execute(
                select(checkpoint_table.c.tree_size, checkpoint_table.c.note)
                .where(checkpoint_table.c.tree_size > newest)
                .order_by(checkpoint_table.c.tree_size)).all()
        for size, note in rows:
            self.witness.write(size, note)


class AuditEndpoints:
    """Mixed into each service: the sequencer and what the gateway serves of the log."""

    audit_log = AuditSequencer()

    @rpc(expected_exceptions=EXPECTED)
    def audit_checkpoint(self) -> dict | None:
        """The newest signed checkpoint of this service's access log (None before the
        first)."""
        row = self.db.execute(select(checkpoint_table).order_by(
            checkpoint_table.c.tree_size.desc()).limit(1)).mappings().first()
        if row is None:
            return None
        key = self.audit_log.key
        return {"service": self.name, "origin": self.audit_log.origin,
                "tree_size": row["tree_size"],
                "root_hash": base64.b64encode(bytes.fromhex(row["root_hash"])).decode(),
                "created_at": as_utc(row["created_at"]).isoformat(), "note": row["note"],
                "verifier_key": key.verifier if key is not None else None}

    @rpc(expected_exceptions=EXPECTED)
    def audit_consistency(self, first: int, second: int) -> dict:
        """RFC 9162 consistency proof from tree size ``first`` to ``second`` (both sizes of
        checkpoints, or of the tree so far), computed from the records themselves."""
        if not (isinstance(first, int) and isinstance(second, int) and 0 < first <= second):
            raise BadRequest("first and second are tree sizes, 0 < first <= second")
        size = self.db.execute(select(func.max(checkpoint_table.c.tree_size))).scalar() or 0
        if second > size:
            raise NotFound(f"the log has no checkpoint of {second} records or more")
        leaves = leaf_hashes(self.db.connection(), second)
        return {"service": self.name, "first": first, "second": second,
                "proof": [base64.b64encode(h).decode()
                          for h in consistency_proof(leaves, first, second)]}


def leaf_hashes(connection, size: int) -> list[bytes]:
    table = access_table
    rows = connection.execute(select(*(table.c[name] for name in LEAF_COLUMNS))
                              .where(table.c.leaf_index < size).order_by(table.c.leaf_index))
    return [leaf_hash(leaf_bytes(row._mapping)) for row in rows]


# -- verification -------------------------------------------------------------------------

def verify_log(engine: Engine, key: LogKey, witness: Witness | None) -> dict:
    """Recompute the tree from the records; check every checkpoint (database and witness):
    its signature, that both copies agree, and that its root is the tree's at its size.

    ``problems`` lists what is wrong, each with the ``position`` (0-based place in the log)
    or the ``checkpoint`` (tree size) concerned; ``first_bad_position`` is the lowest
    position that can no longer be trusted (for a root that does not match, the size of the
    last checkpoint that did: the tampering is in the records after it).
    """
    problems = _Problems()
    notes: dict[int, dict[str, str]] = {}
    with engine.connect() as connection:
        for size, note in connection.execute(select(checkpoint_table.c.tree_size,
                                                    checkpoint_table.c.note)):
            notes.setdefault(size, {})["database"] = note
        state = connection.execute(select(tree_state_table).where(
            tree_state_table.c.id == STATE_ID)).mappings().first()
        pending = connection.execute(select(func.count()).select_from(access_table).where(
            access_table.c.leaf_index.is_(None))).scalar()
    if witness is not None:
        for size in witness.sizes():
            notes.setdefault(size, {})["witness"] = witness.read(size)

    roots: dict[int, bytes] = {}  # tree size -> the root every valid copy claims
    for size in sorted(notes):
        copies = notes[size]
        claimed = {}
        for where, note in copies.items():
            if where == "database" and copies.get("witness") == note:
                continue  # the same text as the witness's, whose signature is checked
            try:
                checkpoint = open_checkpoint(note, key.origin, key.public_key)
            except NoteError as exc:
                problems.append({"kind": "bad_signature", "checkpoint": size, "where": where,
                                 "detail": f"checkpoint {size} ({where}): {exc}"})
                continue
            if checkpoint.size != size or checkpoint.origin != key.origin:
                problems.append({"kind": "misfiled", "checkpoint": size, "where": where,
                                 "detail": f"checkpoint {size} ({where}) says size "
                                           f"{checkpoint.size}, origin {checkpoint.origin}"})
                continue
            claimed[where] = checkpoint.root
        if len(copies) == 2 and copies["database"] != copies["witness"]:
            problems.append({"kind": "replaced", "checkpoint": size,
                             "detail": f"checkpoint {size}: the database's copy differs from "
                                       "the witness's"})
        if "witness" in copies and "database" not in copies:
            problems.append({"kind": "missing_checkpoint", "checkpoint": size,
                             "where": "database",
                             "detail": f"checkpoint {size} is in the witness, not in the "
                                       "database"})
        if claimed:
            # the witness's copy is the one the database cannot rewrite
            roots[size] = claimed.get("witness", claimed.get("database"))

    sizes = sorted(roots)
    frontier, position, last_good = Frontier(), 0, 0
    next_check = expected = 0  # expected: the leaf_index the next record should have
    next_size = sizes[0] if sizes else -1
    table = access_table
    sha256, hashes = hashlib.sha256, frontier.hashes
    with engine.connect() as connection:
        rows = connection.execution_options(stream_results=True, yield_per=20000).execute(
            select(table.c.leaf_index, table.c.hash, *(table.c[n] for n in LEAF_COLUMNS))
            .where(table.c.leaf_index.is_not(None)).order_by(table.c.leaf_index))
        for row in rows:  # the hot loop: a million records in seconds (docs/performance.md)
            if row[0] != expected:  # reported once; the records after it follow on
                kind = "missing" if row[0] > expected else "duplicate"
                problems.append({"kind": kind, "position": position,
                                 "detail": f"position {position}: "
                                           + (f"no record at places {expected} to "
                                              f"{row[0] - 1} (deleted)" if kind == "missing"
                                              else "a second record (inserted)")})
            expected = row[0] + 1
            content = canonical(*row[2:])
            if sha256(content).hexdigest() != row[1]:
                problems.append({"kind": "edited", "position": position,
                                 "detail": f"position {position}: the record's content does "
                                           "not match its hash (edited)"})
            merged, size = sha256(b"\x00" + content).digest(), position
            while size & 1:  # Frontier.append, inlined
                merged = sha256(b"\x01" + hashes.pop() + merged).digest()
                size >>= 1
            hashes.append(merged)
            position += 1
            if position == next_size:
                frontier.size = position
                while next_check < len(sizes) and sizes[next_check] == position:
                    last_good = _check_root(problems, position, roots, frontier, last_good)
                    next_check += 1
                next_size = sizes[next_check] if next_check < len(sizes) else -1
    frontier.size = position
    for size in sizes[next_check:]:
        problems.append({"kind": "records_missing", "checkpoint": size, "position": position,
                         "detail": f"checkpoint {size} covers {size} records; the log has "
                                   f"{position} (the newest deleted)"})
    if state is not None and (state["tree_size"], state["root_hash"]) != (
            position, frontier.root().hex()):
        problems.append({"kind": "state_mismatch", "position": min(position,
                                                                   state["tree_size"]),
                         "detail": f"the sequencer's state says {state['tree_size']} records, "
                                   f"the records make {position}, or the roots differ"})
    newest = max(sizes, default=0)
    return {"ok": not problems.count, "records": position, "pending": pending,
            "checkpoints": {"database": sum("database" in c for c in notes.values()),
                            "witness": sum("witness" in c for c in notes.values())},
            "newest_checkpoint": newest or None,
            "root_hash": base64.b64encode(frontier.root()).decode(),
            "first_bad_position": problems.first_position,
            "problem_count": problems.count,
            "problems": sorted(problems.kept, key=_order)[:MAX_PROBLEMS]}


class _Problems:
    """What verify_log found: all counted, the lowest position kept, the first 1000 kept
    (a rewritten table must not fill memory with a million of them)."""
    KEEP = 1000

    def __init__(self):
        self.kept: list[dict] = []
        self.count, self.first_position = 0, None

    def append(self, problem: dict) -> None:
        self.count += 1
        position = problem.get("position")
        if position is not None and (self.first_position is None
                                     or position < self.first_position):
            self.first_position = position
        if len(self.kept) < self.KEEP:
            self.kept.append(problem)


def _check_root(problems, size, roots, frontier, last_good) -> int:
    if frontier.root() == roots[size]:
        return size
    problems.append({"kind": "root_mismatch", "checkpoint": size, "position": last_good,
                     "detail": f"checkpoint {size}: the records do not make its root; the "
                               f"tampering is between positions {last_good} and {size - 1}"})
    return last_good


def _order(problem: dict):
    return (problem.get("position", problem.get("checkpoint", 0)),
            problem.get("checkpoint", 0), problem["kind"])


