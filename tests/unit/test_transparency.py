"""The access log as a transparency log (stafett/transparency.py, stafett/tlog.py).

The tree arithmetic against the RFC 9162 definitions written out the slow way; then, for
each service's own database (its Alembic revisions), every tamper an insider with database
access could try, each detected by ``verify_log`` with the position or checkpoint named.
"""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from stafett import tlog
from stafett.actor import STAFF, Actor
from stafett.audit import _digest, access_table, record_access, verify_chain
from stafett.db import make_engine, migrate
from stafett.transparency import (LogKey, Witness, checkpoint_table, leaf_hashes, sequence,
                                  tree_state_table, verify_log)

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("consent", "logs", "handover", "notifications")
ACTOR = Actor(kind=STAFF, person_id="s-1", agency="974760673", agency_type="school")
RECORDS = 6


# -- the tree ------------------------------------------------------------------------------

def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, literally."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def leaves(n):
    return [tlog.leaf_hash(str(i).encode()) for i in range(n)]


def test_leaf_and_node_hashes_are_rfc_9162():
    assert tlog.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert tlog.node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(
        b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert tlog.Frontier().root().hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_frontier_root_is_the_merkle_tree_hash_at_every_size():
    hashes, frontier = leaves(70), tlog.Frontier()
    for n in range(1, 71):
        frontier.append(hashes[n - 1])
        assert frontier.root() == mth(hashes[:n]) == tlog.root(hashes[:n])
        again = tlog.Frontier(frontier.size, frontier.hashes)  # as stored and loaded
        assert again.root() == frontier.root()


def test_consistency_proofs_verify_and_fail_when_wrong():
    hashes = leaves(40)
    for second in range(1, 41):
        for first in range(1, second + 1):
            proof = tlog.consistency_proof(hashes, first, second)
            a, b = mth(hashes[:first]), mth(hashes[:second])
            assert tlog.verify_consistency(first, second, a, b, proof), (first, second)
            if first < second:
                assert not tlog.verify_consistency(first, second, a, b[::-1], proof)
                assert not tlog.verify_consistency(first, second, b[::-1], b, proof)
                if proof:
                    bad = [proof[0][::-1], *proof[1:]]
                    assert not tlog.verify_consistency(first, second, a, b, bad)


def test_a_rewritten_history_has_no_consistency_proof():
    hashes = leaves(9)
    other = hashes[:3] + [tlog.leaf_hash(b"rewritten")] + hashes[4:]
    proof = tlog.consistency_proof(other, 5, 9)
    assert not tlog.verify_consistency(5, 9, mth(hashes[:5]), mth(other), proof)


@pytest.mark.parametrize("values", [
    {},
    {"reason": 'sa "nei"\\ \u00e6\u00f8\u00e5 \u2014 \U0001F600 \x7f', "role": None,
     "agency": "974760673"},
    {"prev_hash": "a" * 64, "protected": True},
    {"protected": False, "at": datetime(2026, 3, 1, 12, 0, 0, 5,
                                        tzinfo=timezone(timedelta(hours=2)))},
    {"at": datetime(2026, 3, 1, 12, 0, 0)},  # naive, as SQLite gives it back: UTC
])
def test_the_canonical_encoding_is_sorted_compact_json(values):
    """leaf_bytes writes the JSON out by hand (it runs a million times in a verify): it must
    be exactly what json.dumps(sort_keys=True) gives, as the former chain hashed."""
    from stafett.audit import leaf_bytes

    record = {"id": "r-1", "at": datetime(2026, 1, 1, tzinfo=timezone.utc),
              "actor_ref": "person:s-1", "actor_kind": "staff", "agency": None,
              "role": "stafettholder", "action": "read", "object_type": "log",
              "object_id": "l-1", "subject_id": None, "outcome": "allowed", "reason": None,
              "prev_hash": None, "protected": None, **values}
    content = {k: v for k, v in record.items() if k not in ("protected", "prev_hash")}
    at = record["at"] if record["at"].tzinfo else record["at"].replace(tzinfo=timezone.utc)
    content["at"] = at.astimezone(timezone.utc).isoformat()
    if record["prev_hash"] is not None:
        content["prev_hash"] = record["prev_hash"]
    if record["protected"]:
        content["protected"] = True
    assert leaf_bytes(record) == json.dumps(content, sort_keys=True,
                                            separators=(",", ":")).encode()


def key(seed: bytes = b"k" * 32, origin: str = "stafett.test/audit/x") -> LogKey:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    return LogKey(origin, private, public)


def test_a_checkpoint_is_a_c2sp_signed_note():
    k = key()
    note = tlog.sign_checkpoint(tlog.Checkpoint(k.origin, 7, b"\x01" * 32, ("time x",)),
                                k.origin, k.private_key)
    body, signature = note.split("\n\n")
    assert body.split("\n") == [k.origin, "7", base64.b64encode(b"\x01" * 32).decode(),
                                "time x"]
    assert signature.startswith(f"\u2014 {k.origin} ") and signature.endswith("\n")
    raw = base64.b64decode(signature.rsplit(" ", 1)[1])
    assert raw[:4] == hashlib.sha256(k.origin.encode() + b"\n\x01" + k.public_key).digest()[:4]
    assert len(raw) == 4 + 64
    assert tlog.open_checkpoint(note, k.origin, k.public_key).size == 7
    assert tlog.parse_verifier_key(k.verifier) == (k.origin, k.public_key)
    with pytest.raises(tlog.NoteError, match="does not verify"):
        tlog.open_checkpoint(note.replace("\n7\n", "\n8\n"), k.origin, k.public_key)
    with pytest.raises(tlog.NoteError, match="no signature by"):
        tlog.open_checkpoint(note, k.origin, key(b"o" * 32).public_key)


# -- a service's log, tampered ------------------------------------------------------------

@pytest.fixture(params=SERVICES)
def log(request, tmp_path):
    """The service's database at head, six records each sequenced (a checkpoint at every
    size 1..6, so a root that stops matching names the position), and a witness."""
    service = request.param
    engine = make_engine(f"sqlite:///{tmp_path / service}.db")
    migrate(engine, ROOT / "services" / service / "migrations")
    k, witness = key(origin=f"stafett.test/audit/{service}"), Witness(tmp_path / "witness")
    for i in range(RECORDS):
        with Session(engine) as session:
            record_access(session, ACTOR, action="read", object_type="log",
                          object_id=f"l-{i}", subject_id="l-1", outcome="allowed",
                          protected=i == 4)
            session.commit()
        assert sequence(engine, k, witness) is not None
    yield engine, k, witness
    engine.dispose()


def verify(log):
    engine, k, witness = log
    return verify_log(engine, k, witness)


def kinds(report):
    return {(p["kind"], p.get("position"), p.get("checkpoint")) for p in report["problems"]}


def rows(engine):
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            select(access_table).order_by(access_table.c.leaf_index)).mappings()]


def execute(engine, *statements):
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)


def test_an_untouched_log_verifies(log):
    report = verify(log)
    assert report["ok"] is True and report["problems"] == []
    assert report["records"] == RECORDS and report["pending"] == 0
    assert report["checkpoints"] == {"database": RECORDS, "witness": RECORDS}
    assert [r["leaf_index"] for r in rows(log[0])] == list(range(RECORDS))


def test_nothing_new_makes_no_checkpoint(log):
    engine, k, witness = log
    assert sequence(engine, k, witness) is None
    assert witness.sizes() == list(range(1, RECORDS + 1))


def test_an_edited_record_is_named(log):
    engine = log[0]
    execute(engine, update(access_table).where(access_table.c.leaf_index == 2)
            .values(outcome="denied"))
    report = verify(log)
    assert report["ok"] is False and report["first_bad_position"] == 2
    assert ("edited", 2, None) in kinds(report)
    assert ("root_mismatch", 2, 3) in kinds(report)


def test_an_edit_with_a_fresh_hash_is_named_by_its_checkpoint(log):
    engine = log[0]
    record = rows(engine)[3]
    record["outcome"] = "denied"
    execute(engine, update(access_table).where(access_table.c.leaf_index == 3)
            .values(outcome="denied", hash=_digest(record)))
    report = verify(log)
    assert report["first_bad_position"] == 3
    assert ("root_mismatch", 3, 4) in kinds(report)
    assert not any(kind == "edited" for kind, *_ in kinds(report))


def test_a_record_deleted_in_the_middle_is_named(log):
    execute(log[0], delete(access_table).where(access_table.c.leaf_index == 2))
    report = verify(log)
    assert report["first_bad_position"] == 2
    assert ("missing", 2, None) in kinds(report)
    # named once: the records after the gap are not each reported as misplaced
    assert [p["kind"] for p in report["problems"]].count("missing") == 1


def test_a_run_of_deleted_records_is_named_once(log):
    execute(log[0], delete(access_table).where(access_table.c.leaf_index.in_([1, 2, 3])))
    report = verify(log)
    missing = [p for p in report["problems"] if p["kind"] == "missing"]
    assert report["first_bad_position"] == 1 and len(missing) == 1
    assert "places 1 to 3" in missing[0]["detail"]


def test_a_record_deleted_in_the_middle_and_the_rest_renumbered_is_named(log):
    engine = log[0]
    execute(engine, delete(access_table).where(access_table.c.leaf_index == 2),
            update(access_table).where(access_table.c.leaf_index > 2)
            .values(leaf_index=access_table.c.leaf_index - 1))
    report = verify(log)
    assert report["first_bad_position"] == 2
    assert ("root_mismatch", 2, 3) in kinds(report)
    assert ("records_missing", RECORDS - 1, RECORDS) in kinds(report)


@pytest.mark.parametrize("deleted", [1, 3])
def test_the_newest_records_deleted_are_named(log, deleted):
    engine = log[0]
    kept = RECORDS - deleted
    execute(engine, delete(access_table).where(access_table.c.leaf_index >= kept))
    report = verify(log)
    assert report["first_bad_position"] == kept
    assert {("records_missing", kept, size) for size in range(kept + 1, RECORDS + 1)} \
        <= kinds(report)


def test_the_newest_deleted_with_the_database_checkpoints_and_state_is_caught_by_the_witness(
        log):
    """The insider also rewinds the tree's state and deletes the database's checkpoints:
    the witness's copies still say how many records there were."""
    engine = log[0]
    kept = RECORDS - 2
    with engine.connect() as connection:
        hashes = leaf_hashes(connection, kept)
    frontier = tlog.Frontier()
    for h in hashes:
        frontier.append(h)
    execute(engine, delete(access_table).where(access_table.c.leaf_index >= kept),
            delete(checkpoint_table).where(checkpoint_table.c.tree_size > kept),
            update(tree_state_table).values(tree_size=kept, root_hash=frontier.root().hex(),
                                            frontier=json.dumps([h.hex() for h in
                                                                 frontier.hashes])))
    report = verify(log)
    assert report["first_bad_position"] == kept
    assert ("records_missing", kept, RECORDS) in kinds(report)
    assert ("missing_checkpoint", None, RECORDS) in kinds(report)


def test_reordered_records_are_named(log):
    engine = log[0]
    execute(engine,
            update(access_table).where(access_table.c.leaf_index == 1).values(leaf_index=-1),
            update(access_table).where(access_table.c.leaf_index == 3).values(leaf_index=1),
            update(access_table).where(access_table.c.leaf_index == -1).values(leaf_index=3))
    report = verify(log)
    assert report["first_bad_position"] == 1
    assert ("root_mismatch", 1, 2) in kinds(report)


def test_an_inserted_record_is_named(log):
    """A record slipped in at position 2, the later ones moved up one, its hash right."""
    engine = log[0]
    forged = {**rows(engine)[2], "id": "forged-record", "outcome": "denied", "seq": None,
              "leaf_index": 2}
    forged["hash"] = _digest(forged)
    forged.pop("seq")
    with engine.begin() as connection:
        for index in range(RECORDS - 1, 1, -1):
            connection.execute(update(access_table).where(access_table.c.leaf_index == index)
                               .values(leaf_index=index + 1))
        connection.execute(access_table.insert().values(**forged))
    report = verify(log)
    assert report["first_bad_position"] == 2
    assert ("root_mismatch", 2, 3) in kinds(report)


def test_the_whole_table_rewritten_with_fresh_hashes_is_caught_by_the_witness(log):
    """Every record rewritten (one outcome changed), every hash, the tree state and the
    database's checkpoints recomputed and re-signed with a key of the insider's own: only
    the witness's checkpoints, signed with the service's key, show it."""
    engine, k, witness = log
    records = rows(engine)
    execute(engine, delete(access_table), delete(checkpoint_table), delete(tree_state_table))
    forger = key(b"f" * 32, origin=k.origin)
    for record in records:
        record.pop("seq")
        record["leaf_index"] = None
        if record["object_id"] == "l-3":
            record["outcome"] = "denied"
        record["hash"] = _digest(record)
        execute(engine, access_table.insert().values(**record))
        sequence(engine, forger)  # no witness: the insider cannot write there (or does not)
    report = verify((engine, k, witness))
    assert report["first_bad_position"] == 3
    assert ("root_mismatch", 3, 4) in kinds(report)
    assert {("bad_signature", None, size) for size in range(1, RECORDS + 1)} <= kinds(report)
    assert not any(kind == "edited" for kind, *_ in kinds(report))


def test_a_replaced_database_checkpoint_is_named(log):
    engine, k, witness = log
    forger = key(b"f" * 32, origin=k.origin)
    with engine.connect() as connection:
        root = connection.execute(select(checkpoint_table.c.root_hash).where(
            checkpoint_table.c.tree_size == 4)).scalar()
    forged = tlog.sign_checkpoint(tlog.Checkpoint(k.origin, 4, bytes.fromhex(root)),
                                  k.origin, forger.private_key)
    execute(engine, update(checkpoint_table).where(checkpoint_table.c.tree_size == 4)
            .values(note=forged))
    report = verify(log)
    assert ("bad_signature", None, 4) in kinds(report)
    assert ("replaced", None, 4) in kinds(report)
    assert report["ok"] is False


def test_a_replaced_witness_checkpoint_is_named(log):
    engine, k, witness = log
    path = witness.path(5)
    path.chmod(0o644)
    path.write_text(path.read_text().replace("\n5\n", "\n5\n", 1).replace("time", "tame"))
    report = verify(log)
    assert ("bad_signature", None, 5) in kinds(report)
    assert ("replaced", None, 5) in kinds(report)


def test_the_witness_never_overwrites(tmp_path):
    witness = Witness(tmp_path)
    assert witness.write(3, "a\n") is True
    assert witness.write(3, "a\n") is True
    assert witness.write(3, "b\n") is False
    assert witness.read(3) == "a\n" and witness.sizes() == [3]


def test_records_committed_late_take_the_next_places(log):
    """A record whose transaction committed after newer ones were sequenced is folded in
    after them (its seq is older, its place is not): nothing is lost or reordered."""
    engine, k, witness = log
    with Session(engine) as session:
        record_access(session, ACTOR, action="read", object_type="log", object_id="late",
                      subject_id="l-1", outcome="allowed")
        session.commit()
    execute(engine, update(access_table).where(access_table.c.object_id == "late")
            .values(seq=-5))  # as if it had the oldest sequence number
    sequence(engine, k, witness)
    assert rows(engine)[-1]["object_id"] == "late"
    assert verify(log)["ok"] is True


def test_records_of_the_former_chain_keep_their_hash_and_are_folded_in(tmp_path):
    """A database migrated from the hash chain: its records are sequenced oldest first."""
    engine = make_engine(f"sqlite:///{tmp_path}/logs.db")
    config = AlembicConfig()
    config.set_main_option("script_location", str(ROOT / "services" / "logs" / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        previous = "0" * 64
        for i in range(3):
            record = {"id": f"old-{i}", "at": datetime(2026, 1, 1),
                      "actor_ref": "person:s-1", "actor_kind": "staff", "agency": None,
                      "role": None, "action": "read", "object_type": "log",
                      "object_id": None, "subject_id": None, "outcome": "allowed",
                      "reason": None, "prev_hash": previous, "protected": None}
            content = {k: (v.isoformat() + "+00:00" if k == "at" else v)
                       for k, v in record.items() if k != "protected"}
            record["hash"] = hashlib.sha256(json.dumps(
                content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
            connection.execute(text(
                "INSERT INTO access_log (id, at, actor_ref, actor_kind, agency, role, action, "
                "object_type, object_id, subject_id, outcome, reason, prev_hash, hash) VALUES "
                "(:id, :at, :actor_ref, :actor_kind, :agency, :role, :action, :object_type, "
                ":object_id, :subject_id, :outcome, :reason, :prev_hash, :hash)"), record)
            previous = record["hash"]
    migrate(engine, ROOT / "services" / "logs" / "migrations")
    k, witness = key(origin="stafett.test/audit/logs"), Witness(tmp_path / "w")
    with Session(engine) as session:
        assert verify_chain(session) == (True, None)  # the old hashes still match
    assert sequence(engine, k, witness) is not None
    assert [r["id"] for r in rows(engine)] == ["old-0", "old-1", "old-2"]
    report = verify_log(engine, k, witness)
    assert report["ok"] is True and report["records"] == 3
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(checkpoint_table)
                                  ).scalar() == 1
    engine.dispose()


# -- stafett audit verify -------------------------------------------------------------------

@pytest.fixture
def site(tmp_path, monkeypatch):
    """Four services' databases with sequenced records, keys in SECRETS_DIR, a witness."""
    from stafett.config import component_config
    from stafett.transparency import signing_key, witness_dir

    urls = {}
    for service in SERVICES:
        urls[service] = f"sqlite:///{tmp_path}/{service}.db"
    path = tmp_path / "site.yaml"
    path.write_text(json.dumps({
        "common": {"SECRETS_DIR": str(tmp_path / "secrets"),
                   "AUDIT_WITNESS_DIR": str(tmp_path / "witness")},
        "components": {s: {"DATABASE_URL": url} for s, url in urls.items()}}))
    monkeypatch.setenv("STAFETT_SITE_CONFIG", str(path))
    for service in SERVICES:
        config = component_config(service)
        engine = make_engine(urls[service])
        migrate(engine, ROOT / "services" / service / "migrations")
        with Session(engine) as session:
            for i in range(3):
                record_access(session, ACTOR, action="read", object_type="log",
                              object_id=f"l-{i}", subject_id="l-1", outcome="allowed")
                session.commit()
                sequence(engine, signing_key(config, service),
                         Witness(witness_dir(config, service)))
        engine.dispose()
    return urls


def cli(capsys, *argv):
    from stafett.cli import main

    code = main(["audit", "verify", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, json.loads(out) if out else json.loads(err)


def test_cli_verify_passes_an_untouched_site(site, capsys):
    code, report = cli(capsys)
    assert code == 0 and report["ok"] is True
    assert {s: r["records"] for s, r in report["services"].items()} == dict.fromkeys(
        SERVICES, 3)


def test_cli_verify_names_the_tampered_service_and_position(site, capsys):
    engine = make_engine(site["handover"])
    execute(engine, update(access_table).where(access_table.c.leaf_index == 1)
            .values(reason="nothing to see"))
    engine.dispose()
    code, report = cli(capsys)
    assert code == 1 and report["ok"] is False
    handover = report["services"]["handover"]
    assert handover["first_bad_position"] == 1
    assert handover["problems"][0]["kind"] == "edited"
    assert all(report["services"][s]["ok"] for s in SERVICES if s != "handover")
    code, only = cli(capsys, "--service", "logs")
    assert code == 0 and list(only["services"]) == ["logs"]


def test_cli_verify_says_what_is_missing_without_a_traceback(site, capsys, tmp_path):
    Path(site["logs"][len("sqlite:///"):]).unlink()
    (tmp_path / "secrets" / "audit-consent.key").unlink()
    code, report = cli(capsys)
    assert code == 1
    assert report["services"]["logs"]["error"] == "no_database"
    assert report["services"]["consent"]["error"] == "no_key"
    assert not (tmp_path / "secrets" / "audit-consent.key").exists()  # not created


# -- the sequencer in a service container --------------------------------------------------

def sequencer_in(tmp_path, **config):
    """An AuditSequencer set up as a container would (the logs service's database)."""
    from types import SimpleNamespace

    from stafett.db import Database
    from stafett.transparency import AuditSequencer

    database = Database(ROOT / "services" / "logs" / "migrations")
    database.engine = make_engine(f"sqlite:///{tmp_path}/logs.db")
    migrate(database.engine, database.migrations_dir)
    sequencer = AuditSequencer()
    sequencer.container = SimpleNamespace(
        dependencies={database}, service_name="logs",
        config={"SECRETS_DIR": str(tmp_path / "secrets"),
                "AUDIT_WITNESS_DIR": str(tmp_path / "witness"), **config})
    sequencer.setup()
    return sequencer, database.engine


def test_the_sequencer_without_its_key_keeps_the_service_up_and_says_why(tmp_path):
    sequencer, engine = sequencer_in(tmp_path, SECRETS_CREATE="false")
    assert sequencer.key is None and "audit-logs.key" in sequencer.key_error
    with Session(engine) as session:
        record_access(session, ACTOR, action="read", object_type="log", object_id="l-1",
                      subject_id="l-1", outcome="allowed")
        session.commit()
    with pytest.raises(RuntimeError, match="no audit signing key"):
        sequencer.run_once()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "audit-logs.key").write_text((b"s" * 32).hex())
    note = sequencer.run_once()  # the key found at the next round
    assert note.startswith("stafett.havvik.example/audit/logs\n1\n")
    assert sequencer.witness.sizes() == [1]
    engine.dispose()


def test_the_sequencer_witnesses_checkpoints_it_committed_but_did_not_write(tmp_path):
    """The process stopped between the commit and the witness: the next round copies it."""
    sequencer, engine = sequencer_in(tmp_path)
    with Session(engine) as session:
        record_access(session, ACTOR, action="read", object_type="log", object_id="l-1",
                      subject_id="l-1", outcome="allowed")
        session.commit()
    sequence(engine, sequencer.key, witness=None)  # committed, not witnessed
    assert sequencer.witness.sizes() == []
    assert sequencer.run_once() is None  # nothing new to place …
    assert sequencer.witness.sizes() == [1]  # … but the checkpoint reached the witness
    assert verify_log(engine, sequencer.key, sequencer.witness)["ok"] is True
    engine.dispose()
