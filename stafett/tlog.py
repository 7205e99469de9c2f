"""A transparency log's arithmetic: RFC 9162 Merkle trees, consistency proofs, and signed
checkpoints in the C2SP ``tlog-checkpoint`` / ``signed-note`` text format.

Standard library only at import (``cryptography`` is imported where a note is signed or a
signature checked), so a small standalone verifier can reuse the tree functions.

- leaf hash ``SHA-256(0x00 || leaf bytes)``, node hash ``SHA-256(0x01 || left || right)``
  (RFC 9162 §2.1.1); the tree of ``n`` leaves splits at the largest power of two below ``n``.
- ``Frontier``: the roots of the perfect subtrees along the right edge, enough to append a
  leaf and give the root without the earlier leaves (what the sequencer keeps in its state).
- ``consistency_proof`` / ``verify_consistency``: RFC 9162 §2.1.4.
- a checkpoint is ``origin\\nsize\\nbase64(root)\\n`` plus extension lines (here ``time …``),
  then a blank line and ``— <key name> <base64(key id || Ed25519 signature)>``; the key id is
  the first 4 bytes of ``SHA-256(name || 0x0A || 0x01 || public key)`` (C2SP signed-note).
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256
ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # "— "


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: list[bytes], start: int = 0, end: int | None = None) -> bytes:
    """MTH over leaf hashes ``leaves[start:end]`` (RFC 9162 §2.1.1)."""
    end = len(leaves) if end is None else end
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[start]
    k = _split(n)
    return node_hash(root(leaves, start, start + k), root(leaves, start + k, end))


class Frontier:
    """The right edge of a tree: the root of each perfect subtree, largest first (one per
    set bit of the size, in order)."""

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None):
        self.size, self.hashes = size, list(hashes or [])
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError("a frontier needs one hash per set bit of its size")

    def append(self, leaf: bytes) -> None:
        size, hashes, merged = self.size, self.hashes, leaf
        while size & 1:  # each trailing 1 bit: a perfect subtree of that size to merge with
            merged = _sha256(b"\x01" + hashes.pop() + merged).digest()
            size >>= 1
        hashes.append(merged)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            result = node_hash(left, result)
        return result


def inclusion_proof(leaves: list[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[size]) over leaf hashes (RFC 9162 2.1.3.1): the audit path, leaf side
    first."""
    size = len(leaves) if size is None else size
    if not 0 <= index < size <= len(leaves):
        raise ValueError("need 0 <= index < size <= the tree size")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            path.append(root(leaves, start + k, end))
            end = start + k
        else:
            path.append(root(leaves, start, start + k))
            start += k
    return path[::-1]  # its check: stafett/audit/verify_inclusion.py, root_from_path


def consistency_proof(leaves: list[bytes], first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) over leaf hashes (RFC 9162 §2.1.4.1); [] when equal or 0."""
    if not 0 <= first <= second <= len(leaves):
        raise ValueError("need 0 <= first <= second <= the tree size")
    if first == 0 or first == second:
        return []

    def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [root(leaves, start, end)]
        k = _split(n)
        if m <= k:
            return subproof(m, start, start + k, whole) + [root(leaves, start + k, end)]
        return subproof(m - k, start + k, end, False) + [root(leaves, start, start + k)]

    return subproof(first, 0, second, True)


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


# -- signed checkpoints --------------------------------------------------------------------

def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The note verifier key text: ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
    return (f"{name}+{key_id(name, public_key).hex()}+"
            f"{base64.b64encode(bytes([ED25519]) + public_key).decode()}")


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    name, hex_id, encoded = text.strip().split("+", 2)  # a name has no "+"
    raw = base64.b64decode(encoded, validate=True)
    if raw[:1] != bytes([ED25519]) or len(raw) != 33:
        raise ValueError("not an Ed25519 verifier key")
    if key_id(name, raw[1:]).hex() != hex_id:
        raise ValueError("the verifier key's id does not match its key")
    return name, raw[1:]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(),
                 *self.extensions]
        return "\n".join(lines) + "\n"


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key) -> str:
    """The signed note: body, blank line, one signature line (Ed25519 ``private_key``)."""
    from cryptography.hazmat.primitives import serialization

    body = checkpoint.body()
    public = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
    signature = private_key.sign(body.encode())
    stamp = base64.b64encode(key_id(name, public) + signature).decode()
    return f"{body}\n{SIGNATURE_PREFIX}{name} {stamp}\n"


class NoteError(ValueError):
    """A note that does not parse, or whose signature does not verify."""


def open_checkpoint(note: str, name: str, public_key: bytes) -> Checkpoint:
    """Parse a signed checkpoint and check its signature by (``name``, ``public_key``)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    body, sep, signatures = note.partition("\n\n")
    if not sep or not body:
        raise NoteError("no blank line between the text and its signatures")
    body += "\n"
    wanted = key_id(name, public_key)
    for line in signatures.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("a signature line does not start with an em dash")
        signer, _, stamp = line[len(SIGNATURE_PREFIX):].rpartition(" ")
        try:
            raw = base64.b64decode(stamp, validate=True)
        except ValueError:
            raise NoteError("a signature is not base64") from None
        if signer != name or raw[:4] != wanted:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], body.encode())
        except InvalidSignature:
            raise NoteError("the signature does not verify") from None
        return parse_checkpoint_body(body)
    raise NoteError(f"no signature by {name}")


def parse_checkpoint_body(body: str) -> Checkpoint:
    lines = body.split("\n")[:-1]
    if len(lines) < 3 or not lines[1].isdigit():
        raise NoteError("a checkpoint is origin, tree size and root hash, one a line")
    try:
        digest = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise NoteError("the root hash is not base64") from None
    if len(digest) != 32:
        raise NoteError("the root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), digest, tuple(lines[3:]))
