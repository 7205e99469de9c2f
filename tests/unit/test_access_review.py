"""The access log as people review it, piece by piece (docs/audit.md): the standalone
verifier's Ed25519 and RFC 9162 arithmetic against ``cryptography`` and ``stafett.tlog``, the
record encoding it reproduces, the purpose catalogue, the gateway's merge of four services'
pages, the bulk-read rule and the auditor's export codes."""
from __future__ import annotations

import base64
import os
import random
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit_export import csv_text, interaction
from gateway.routes.access_log import decode_cursor, merged_page
from stafett import tlog
from stafett.access_review import bulk_reads
from stafett.audit import leaf_bytes, leaf_content, purposes
from stafett.audit import verify_inclusion as standalone
from stafett.errors import BadRequest
from stafett.paging import decode_key, encode_key

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_the_pure_python_ed25519_agrees_with_cryptography():
    rng = random.Random(17)
    for n in range(12):
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        public = key.public_key().public_bytes_raw()
        message = rng.randbytes(n * 11)
        signature = key.sign(message)
        assert standalone.ed25519_verify(public, message, signature)
        assert not standalone.ed25519_verify(public, message + b"x", signature)
        bent = bytearray(signature)
        bent[n % 64] ^= 1
        assert not standalone.ed25519_verify(public, message, bytes(bent))
    # RFC 8032 7.1, test 2
    public = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    signature = bytes.fromhex(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    assert standalone.ed25519_verify(public, bytes([0x72]), signature)


def test_the_standalone_audit_path_is_rfc_9162_as_the_service_computes_it():
    for size in (1, 2, 3, 5, 8, 13, 32, 33):
        leaves = [tlog.leaf_hash(os.urandom(8)) for _ in range(size)]
        root = tlog.root(leaves)
        for index in range(size):
            path = tlog.inclusion_proof(leaves, index)
            assert standalone.root_from_path(index, size, leaves[index], path) == root
            if path:  # a wrong place, or a path cut short, leads elsewhere
                assert standalone.root_from_path((index + 1) % size, size, leaves[index],
                                                 path) != root or size == 1
                assert standalone.root_from_path(index, size, leaves[index], path[:-1]) != root


@pytest.mark.parametrize("extra", [{}, {"protected": True}, {"purpose": "family_read"},
                                   {"prev_hash": "ab" * 32, "purpose": "audit"}])
def test_a_downloaded_record_encodes_to_exactly_the_bytes_the_service_hashed(extra):
    record = {"id": "r-1", "at": T0, "actor_ref": "person:p-1", "actor_kind": "staff",
              "agency": "974760673", "role": "member", "action": "read", "object_type": "log",
              "object_id": "l-1", "subject_id": "l-1", "outcome": "denied",
              "reason": "ingen tilgang – «skjermet» ✓", "prev_hash": None, **extra}
    content = leaf_content(record)
    assert content["at"] == "2026-12-01T09:00:00+00:00"
    assert standalone.canonical(content) == leaf_bytes(record)


def test_every_default_purpose_is_in_the_catalogue_and_an_unknown_one_is_refused():
    for action, object_type in [("read", "log"), ("open", "log"), ("search", "child"),
                                ("read", "consents"), ("request", "handover"),
                                ("read", "notifications"), ("add_measure", "measure"),
                                ("frobnicate", "widget")]:
        assert purposes.default_for(action, object_type) in purposes.PURPOSES
    assert purposes.for_viewer("guardian", "read", "log", False) == "family_read"
    assert purposes.for_viewer("member", "add_measure", "measure", True) == "participant_write"
    assert purposes.for_viewer("member", "read", "access_log", False) == "access_log"
    assert purposes.explain({"action": "audit", "object_type": "access_log"}) == (
        "audit", "revisjon")
    with pytest.raises(ValueError):
        purposes.checked("curiosity")


def _source(name: str, times: list[int]):
    """A service's keyset pages over records at T0 + minutes, newest first."""
    rows = sorted(({"at": (T0 + timedelta(minutes=m)).isoformat(), "key": k + 1,
                    "ref": f"{name}:{k + 1}"} for k, m in enumerate(sorted(times))),
                  key=lambda r: r["key"], reverse=True)

    def fetch(limit, cursor):
        below = None if cursor is None else decode_key(cursor)
        mine = [r for r in rows if below is None or r["key"] < below]
        more = len(mine) > limit
        return {"items": mine[:limit],
                "next_cursor": encode_key(mine[limit - 1]["key"]) if more else None}
    return fetch


def test_the_merged_pages_give_every_record_once_newest_first():
    sources = {"consent": _source("consent", [1, 5, 9]), "logs": _source("logs", range(2, 30, 2)),
               "handover": _source("handover", []), "notifications": _source("notifications", [7])}
    seen, cursor = [], None
    for _ in range(20):
        page = merged_page(sources, 3, cursor)
        assert len(page["items"]) <= 3 and all("key" not in i for i in page["items"])
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 3 + 14 + 1 and len({i["ref"] for i in seen}) == len(seen)
    assert [i["at"] for i in seen] == sorted((i["at"] for i in seen), reverse=True)
    for bad in ("nonsense!", base64.urlsafe_b64encode(b'{"m": {"x": 1}}').decode(),
                base64.urlsafe_b64encode(b'{"m": {"logs": -1}}').decode()):
        with pytest.raises(BadRequest):
            decode_cursor(bad)


def test_bulk_reads_flag_the_reads_past_the_threshold_within_the_window():
    rows = [{"id": f"r{m}", "action": "read", "actor_ref": "person:p", "at":
             T0 + timedelta(minutes=m)} for m in (0, 1, 2, 3, 30)]
    times = sorted(r["at"] for r in rows)

    def history(actor, since, until):
        return [t for t in times if since <= t <= until]
    assert bulk_reads(rows, timedelta(minutes=10), 3, history) == {"r3"}
    assert bulk_reads(rows, timedelta(minutes=60), 3, history) == {"r3", "r30"}
    assert bulk_reads(rows, timedelta(minutes=10), 4, history) == set()


def test_the_export_codes_and_a_csv_cell_that_would_be_a_formula():
    assert interaction("read") == ("Read", "read", "R")
    assert interaction("search") == ("Query", "search-type", "E")
    assert interaction("open") == ("Create", "create", "C")
    assert interaction("withdraw") == ("Update", "update", "U")
    assert interaction("delete") == ("Delete", "delete", "D")
    record = {"at": T0.isoformat(), "service": "logs", "id": "r", "actor_ref": "person:p",
              "actor_kind": "staff", "agency": "974760673", "role": None, "action": "read",
              "object_type": "log", "object_id": None, "subject_id": "l", "outcome": "denied",
              "reason": "=HYPERLINK(1)", "purpose": "participant_read", "why": "x",
              "protected": False, "anomalies": ["denied", "bulk"]}
    text = csv_text([record])
    assert "'=HYPERLINK(1)" in text and "denied bulk" in text and ",false," in text
