"""Check one access record against a service's signed checkpoint: standard library only.

    python -m stafett.audit.verify_inclusion record.json proof.json [--key VERIFIER_KEY]

or, with this one file copied anywhere (it imports nothing from Stafett):

    python3 verify_inclusion.py record.json proof.json [--key VERIFIER_KEY]

``record.json`` is the record as downloaded from the access log ("Last ned oppføringen",
``GET /api/v1/children/{child}/access-log/{record}``), ``proof.json`` its proof ("Last ned
bevis", ``.../{record}/proof``). It checks, as docs/audit.md explains:

1. the record's leaf hash: ``SHA-256(0x00 || canonical JSON of the record)``, the JSON
   with sorted keys, no spaces, non-ASCII escaped (RFC 9162 2.1.1);
2. that the audit path (``inclusion_path``) leads from that leaf at ``leaf_index`` to the
   root hash of a tree of ``tree_size`` records (RFC 9162 2.1.3.2);
3. that the checkpoint (C2SP ``tlog-checkpoint``: origin, size, base64 root) says that
   size and that root;
4. the checkpoint's Ed25519 signature (C2SP ``signed-note``), verified here in pure Python
   (RFC 8032 5.1.7; no ``cryptography`` needed) with ``--key`` (the verifier key text
   ``<name>+<key id>+<base64 key>``, or a file holding it). Without ``--key`` the key in
   the proof is used and you are told to compare it with the key the agency publishes: a
   key from the same server only shows the server signed it.

Exit status 0 when every check holds, 1 when one fails (what failed is printed), 2 when the
files cannot be read. Messages are in bokmål, for the family that runs it.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from pathlib import Path

# -- Ed25519 verification (RFC 8032 5.1.7), pure Python -------------------------------------

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % _P, (y1 + x1) * (y2 + x2) % _P
    cc, dd = 2 * t1 * t2 * _D % _P, 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _multiply(scalar: int, point):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point, scalar = _add(point, point), scalar >> 1
    return result


def _same(a, b) -> bool:
    return ((a[0] * b[2] - b[0] * a[2]) % _P == 0
            and (a[1] * b[2] - b[1] * a[2]) % _P == 0)


def _point(encoded: bytes):
    y = int.from_bytes(encoded, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_G = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a, r = _point(public_key), _point(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(),
                       "little") % _L
    return _same(_multiply(s, _G), _add(r, _multiply(h, a)))


# -- RFC 9162 ---------------------------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root the audit path leads to, None if it does not fit."""
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = _node(sibling, result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            result = _node(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return result if sn == 0 else None


def canonical(record: dict) -> bytes:
    """The bytes the service hashed: the record's content as compact JSON, keys sorted."""
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


# -- signed notes (C2SP) ----------------------------------------------------------------------

def parse_key(text: str) -> tuple[str, bytes, bytes]:
    """(name, key id, public key) of a note verifier key ``<name>+<hex id>+<base64>``."""
    name, hex_id, encoded = text.strip().split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise ValueError("ikke en Ed25519-nøkkel")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != hex_id:
        raise ValueError("nøkkelens id stemmer ikke med nøkkelen")
    return name, key_id, raw[1:]


def check(record: dict, proof: dict, key_text: str | None) -> list[str]:
    """What fails, in bokmål (empty: everything holds); prints what holds."""
    failures = []
    leaf = leaf_hash(canonical(record))
    index, size = int(proof["leaf_index"]), int(proof["tree_size"])
    path = [base64.b64decode(h, validate=True) for h in proof["inclusion_path"]]
    reached = root_from_path(index, size, leaf, path)
    note = proof["checkpoint"]
    body, sep, signatures = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3 or not lines[1].isdigit():
        return failures + ["sjekkpunktet er ikke et signert sjekkpunkt (C2SP tlog-checkpoint)"]
    origin, claimed_size = lines[0], int(lines[1])
    claimed_root = base64.b64decode(lines[2], validate=True)
    if claimed_size != size:
        failures.append(f"beviset gjelder {size} oppføringer, sjekkpunktet {claimed_size}")
    if reached is None or reached != claimed_root:
        failures.append("oppføringen er ikke med i loggen slik sjekkpunktet beskriver den "
                        "(endret oppføring eller feil bevis)")
    else:
        print(f"OK  oppføringen er nr. {index + 1} av {size} i {origin}")
    if key_text is None:
        key_text = proof.get("verifier_key")
        if not key_text:
            return failures + ["ingen nøkkel å sjekke signaturen med (bruk --key)"]
        print("MERK nøkkelen kom fra samme tjeneste som beviset; sammenlign den med "
              f"nøkkelen virksomheten publiserer: {key_text}")
    name, key_id, public = parse_key(key_text)
    signed = False
    for line in signatures.splitlines():
        signer, _, stamp = line.removeprefix("\u2014 ").rpartition(" ")
        try:
            raw = base64.b64decode(stamp, validate=True)
        except (ValueError, binascii.Error):
            continue
        if signer == name and raw[:4] == key_id:
            signed = ed25519_verify(public, (body + "\n").encode(), raw[4:])
    if name != origin:
        failures.append(f"nøkkelen er for {name}, sjekkpunktet for {origin}")
    if signed:
        print(f"OK  sjekkpunktet er signert av {name} (Ed25519)")
    else:
        failures.append(f"sjekkpunktet har ingen gyldig signatur av {name}")
    return failures


def _read_json(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stafett.audit.verify_inclusion",
        description="Sjekk at en oppføring i tilgangsloggen er med i tjenestens signerte "
                    "logg (RFC 9162, C2SP). Bare Pythons standardbibliotek.")
    parser.add_argument("record", help="oppføringen (record.json)")
    parser.add_argument("proof", help="beviset (proof.json)")
    parser.add_argument("--key", help="tjenestens verifiseringsnøkkel "
                                      "(<navn>+<id>+<base64>) eller en fil med den")
    args = parser.parse_args(argv)
    try:
        record, proof = _read_json(args.record), _read_json(args.proof)
        if isinstance(record.get("record"), dict):  # the proof's own copy, or a wrapper
            record = record["record"]
        key = args.key
        if key is not None and Path(key).is_file():
            key = Path(key).read_text(encoding="utf-8")
        failures = check(record, proof, key)
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        print(f"FEIL kunne ikke lese filene: {exc}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"FEIL {failure}")
    if not failures:
        print("Oppføringen er bekreftet.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
