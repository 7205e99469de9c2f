"""Unit tests for gateway.auth (RFC 8725 JWT verification) and stafett.dev.issuer."""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import stat
import sys
import time
import types
from functools import lru_cache
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.auth import (
    MAX_TOKEN_BYTES,
    IssuerConfig,
    JwksCache,
    TokenVerifier,
    VerifiedToken,
)
from stafett.dev import issuer as devissuer
from stafett.dev.issuer import DEV_AUDIENCE, DEV_ISSUER, ensure_dev_keys, mint, rsa_public_jwk
from stafett.errors import Unauthorized
from tests.support.jwks import jwks_endpoint


# --- helpers -------------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(obj: dict) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "staff-1", "iat": now,
            "exp": now + 600, "name": "Kari Lærer"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@lru_cache(maxsize=None)
def pooled_key(n: int) -> rsa.RSAPrivateKey:
    """The ``n``-th RSA key of this run. A 2048-bit key costs about 0.1 s to generate, so
    each is made once per run and shared: tests only sign and verify with it."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def dev_keys_in(var_dir: Path, n: int = 0):
    """``ensure_dev_keys`` over pooled key ``n`` placed where it keeps its key (the path a
    restarted dev issuer takes: load, publish). Creating a key is tested once, below."""
    base = Path(var_dir) / "dev-issuer"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(base / "private.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pooled_key(n).private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return ensure_dev_keys(var_dir)


@pytest.fixture(scope="module")
def dev_var(tmp_path_factory) -> Path:
    """One dev issuer's directory for the module's tests, which only read it (a test that
    changes keys makes its own with ``dev_keys_in(tmp_path)``)."""
    var = tmp_path_factory.mktemp("dev-var")
    dev_keys_in(var)
    return var


@pytest.fixture(scope="module")
def keys(dev_var):
    return ensure_dev_keys(dev_var)


@pytest.fixture(scope="module")
def private_key(keys):
    return pooled_key(0)


@pytest.fixture
def verifier(keys):
    return TokenVerifier.from_config([{
        "issuer": DEV_ISSUER,
        "kind": "staff",
        "audience": DEV_AUDIENCE,
        "algorithms": ["RS256"],
        "jwks_file": str(keys.jwks_path),
        "required_acr": "idporten-loa-high",
        "claim_map": {"agency": "agency_org"},
    }])


@pytest.fixture
def sign(keys, private_key):
    """Sign with the dev key; extra headers override the defaults (None removes one)."""
    def _sign(payload: dict, key=None, **headers) -> str:
        hdr = {"typ": "JWT", "kid": keys.kid}
        hdr.update(headers)
        hdr = {k: v for k, v in hdr.items() if v is not None}
        return jwt.encode(payload, key or private_key, algorithm="RS256", headers=hdr)
    return _sign


def rejected(verifier: TokenVerifier, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        verifier.verify(token)
    # The detail must never leak the token (or any part of it).
    detail = info.value.detail
    assert detail and token not in detail
    for part in token.split("."):
        if len(part) > 8:
            assert part not in detail
    return info.value


# --- accepted ------------------------------------------------------------------------------

def test_valid_token_passes(verifier, sign):
    result = verifier.verify(sign(claims()))
    assert isinstance(result, VerifiedToken)
    assert result.claims["sub"] == "staff-1"
    assert result.claims["name"] == "Kari Lærer"
    assert result.issuer.kind == "staff"
    assert result.issuer.required_acr == "idporten-loa-high"
    assert result.issuer.claim_map == {"agency": "agency_org"}


def test_minted_persona_token_passes(dev_var, verifier):
    persona = {"sub": "guardian-1", "pid": "01010112345", "acr": "idporten-loa-high"}
    result = verifier.verify(mint(dev_var, persona))
    assert result.claims["pid"] == "01010112345"
    assert result.claims["iss"] == DEV_ISSUER


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt", "AT+JWT", None])
def test_allowed_typ(verifier, sign, typ):
    assert verifier.verify(sign(claims(), typ=typ)).claims["sub"] == "staff-1"


# --- rejected: algorithm -------------------------------------------------------------------

def test_alg_none_rejected(verifier, keys):
    token = jwt.encode(claims(), None, algorithm="none", headers={"kid": keys.kid})
    assert rejected(verifier, token).detail == "algorithm not allowed"


def test_alg_none_with_bogus_signature_rejected(verifier, keys):
    token = f"{b64json({'alg': 'none', 'kid': keys.kid})}.{b64json(claims())}.AAAA"
    rejected(verifier, token)


def test_hs256_signed_with_public_key_pem_rejected(verifier, keys, private_key):
    # Classic key-confusion attack: HMAC with the (public) RSA PEM as the shared secret.
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': keys.kid})}.{b64json(claims())}"
    sig = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert rejected(verifier, f"{signing_input}.{b64url(sig)}").detail == "algorithm not allowed"


def test_hs256_rejected_even_if_in_config():
    with pytest.raises(ValueError):
        IssuerConfig(issuer="x", kind="staff", audience="a", algorithms=("HS256",),
                     jwks_file="j.json")
    with pytest.raises(ValueError):
        IssuerConfig(issuer="x", kind="staff", audience="a", algorithms=("none",),
                     jwks_file="j.json")


# --- rejected: headers ---------------------------------------------------------------------

def test_unknown_kid_rejected(verifier, sign):
    assert rejected(verifier, sign(claims(), kid="not-a-known-kid")).detail == "unknown signing key"


def test_missing_kid_rejected(verifier, sign):
    rejected(verifier, sign(claims(), kid=None))


@pytest.mark.parametrize("name,value", [
    ("jku", "https://evil.example/jwks.json"),
    ("x5u", "https://evil.example/cert.pem"),
    ("jwk", {"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
    ("x5c", ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
    ("x5t", "dGh1bWJwcmludA"),
    ("crit", ["exp"]),
])
def test_forbidden_headers_rejected(verifier, keys, private_key, name, value):
    # Built by hand: PyJWT's encoder may itself refuse some of these headers.
    header = {"alg": "RS256", "typ": "JWT", "kid": keys.kid, name: value}
    signing_input = f"{b64json(header)}.{b64json(claims())}"
    sig = jwt.get_algorithm_by_name("RS256").sign(signing_input.encode(), private_key)
    token = f"{signing_input}.{b64url(sig)}"
    assert rejected(verifier, token).detail == f"header not allowed: {name}"


@pytest.mark.parametrize("typ", ["JWE", "secevent+jwt", "dpop+jwt", "logout+jwt"])
def test_wrong_typ_rejected(verifier, sign, typ):
    assert rejected(verifier, sign(claims(), typ=typ)).detail == "unsupported token type"


# --- rejected: claims ----------------------------------------------------------------------

def test_exp_missing_rejected(verifier, sign):
    assert rejected(verifier, sign(claims(exp=None))).detail == "missing claim: exp"


def test_exp_passed_rejected(verifier, sign):
    now = int(time.time())
    assert rejected(verifier, sign(claims(iat=now - 7200, exp=now - 3600))).detail == "token expired"


def test_exp_within_leeway_accepted(verifier, sign):
    now = int(time.time())
    verifier.verify(sign(claims(iat=now - 600, exp=now - 5)))


def test_nbf_in_future_rejected(verifier, sign):
    now = int(time.time())
    assert rejected(verifier, sign(claims(nbf=now + 600))).detail == "token not yet valid"


def test_iat_in_future_rejected(verifier, sign):
    now = int(time.time())
    rejected(verifier, sign(claims(iat=now + 600, exp=now + 1200)))


def test_iat_missing_rejected(verifier, sign):
    assert rejected(verifier, sign(claims(iat=None))).detail == "missing claim: iat"


def test_wrong_aud_rejected(verifier, sign):
    assert rejected(verifier, sign(claims(aud="some-other-api"))).detail == "invalid audience"


def test_missing_sub_rejected(verifier, sign):
    assert rejected(verifier, sign(claims(sub=None))).detail == "missing claim: sub"


def test_empty_sub_rejected(verifier, sign):
    rejected(verifier, sign(claims(sub="")))


@pytest.mark.parametrize("iss", [
    DEV_ISSUER[:-1],                  # prefix of the real issuer
    DEV_ISSUER + "x",                 # real issuer as prefix of a longer one
    DEV_ISSUER + "/",                 # trailing slash
    "https://evil.example" + DEV_ISSUER.split("//")[1],  # real issuer's tail as suffix
    "evil" + DEV_ISSUER,              # real issuer as suffix
    DEV_ISSUER[len("http://"):],      # a proper suffix of the real issuer
    DEV_ISSUER[1:],                   # the shortest proper suffix but one
    DEV_ISSUER.upper(),               # case variant
])
def test_issuer_variants_rejected(verifier, sign, iss):
    assert rejected(verifier, sign(claims(iss=iss))).detail == "unknown issuer"


def test_missing_iss_rejected(verifier, sign):
    rejected(verifier, sign(claims(iss=None)))


# --- rejected: structure and signature -----------------------------------------------------

def test_json_serialisation_rejected(verifier, sign):
    header, payload, sig = sign(claims()).split(".")
    token = json.dumps({"payload": payload, "signatures": [{"protected": header, "signature": sig}]})
    assert rejected(verifier, token).detail == "malformed token"


def test_flattened_json_serialisation_rejected(verifier, sign):
    header, payload, sig = sign(claims()).split(".")
    rejected(verifier, json.dumps({"payload": payload, "protected": header, "signature": sig}))


def test_jwe_five_parts_rejected(verifier, sign):
    header, payload, sig = sign(claims()).split(".")
    rejected(verifier, ".".join([header, "", payload, "AAAA", sig]))
    rejected(verifier, ".".join([header, "AAAA", payload, "AAAA", sig]))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a..c", "a.b.c.d", "a b.c.d", "é.b.c", "a.b.c\n"])
def test_garbage_rejected(verifier, token):
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_token_over_8k_rejected(verifier, sign):
    token = sign(claims(padding="x" * MAX_TOKEN_BYTES))
    assert len(token) > MAX_TOKEN_BYTES
    assert rejected(verifier, token).detail == "token too large"


def test_different_key_same_kid_rejected(verifier, sign):
    attacker = pooled_key(1)
    assert rejected(verifier, sign(claims(), key=attacker)).detail == "invalid signature"


def test_tampered_payload_rejected(verifier, sign):
    header, _, sig = sign(claims()).split(".")
    rejected(verifier, f"{header}.{b64json(claims(sub='someone-else'))}.{sig}")


def test_ps256_with_key_published_for_rs256_rejected(tmp_path, keys, private_key):
    # Pinned algorithms allow PS256, but the JWKS says this key is RS256-only.
    v = TokenVerifier([IssuerConfig(issuer=DEV_ISSUER, kind="staff", audience=DEV_AUDIENCE,
                                    algorithms=("RS256", "PS256"),
                                    jwks_file=str(keys.jwks_path))])
    token = jwt.encode(claims(), private_key, algorithm="PS256",
                       headers={"typ": "JWT", "kid": keys.kid})
    assert rejected(v, token).detail == "algorithm not allowed"


# --- config --------------------------------------------------------------------------------

def test_from_dict_converts_and_validates(keys):
    cfg = IssuerConfig.from_dict({"issuer": "https://idporten.no", "kind": "citizen",
                                  "audience": "stafett", "algorithms": ["RS256", "PS256"],
                                  "jwks_url": "https://idporten.no/jwks.json"})
    assert cfg.algorithms == ("RS256", "PS256")
    assert cfg.leeway_seconds == 30
    with pytest.raises(ValueError):
        IssuerConfig.from_dict({"issuer": "x", "kind": "staff", "audience": "a",
                                "jwks_file": "f", "requierd_acr": "high"})
    with pytest.raises(ValueError):
        IssuerConfig.from_dict({"issuer": "x", "kind": "root", "audience": "a",
                                "jwks_file": "f"})
    with pytest.raises(ValueError):  # neither or both key sources
        IssuerConfig.from_dict({"issuer": "x", "kind": "staff", "audience": "a"})


def test_duplicate_issuer_rejected(keys):
    cfg = {"issuer": DEV_ISSUER, "kind": "staff", "audience": "a",
           "jwks_file": str(keys.jwks_path)}
    with pytest.raises(ValueError):
        TokenVerifier.from_config([cfg, cfg])


def test_issuer_selection_among_several(tmp_path, keys, sign):
    other = dev_keys_in(tmp_path / "other", 1)
    v = TokenVerifier.from_config([
        {"issuer": "https://idp.example/other", "kind": "citizen", "audience": "x",
         "jwks_file": str(other.jwks_path)},
        {"issuer": DEV_ISSUER, "kind": "staff", "audience": DEV_AUDIENCE,
         "jwks_file": str(keys.jwks_path)},
    ])
    assert v.verify(sign(claims())).issuer.issuer == DEV_ISSUER
    # Right kid for the dev issuer, but the token claims the other issuer: its JWKS lacks it.
    rejected(v, sign(claims(iss="https://idp.example/other", aud="x")))


# --- JWKS cache ----------------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


#: keys for JWKS tests, other than the dev keys (pool 0 and 1), four in turn: consecutive
#: calls in a test give distinct keys
_JWK_KEYS = itertools.cycle(range(2, 6))


def new_jwk() -> tuple[rsa.RSAPrivateKey, dict]:
    key = pooled_key(next(_JWK_KEYS))
    return key, rsa_public_jwk(key.public_key())


def test_pooled_keys_are_distinct_and_kept():
    assert pooled_key(0) is pooled_key(0)
    kids = {rsa_public_jwk(pooled_key(n).public_key())["kid"] for n in range(6)}
    assert len(kids) == 6


def write_jwks(path: Path, *jwks: dict) -> None:
    path.write_text(json.dumps({"keys": list(jwks)}))


def test_jwks_refetch_rate_limited_and_last_good_survives(tmp_path):
    _, jwk_a = new_jwk()
    _, jwk_b = new_jwk()
    path = tmp_path / "jwks.json"
    write_jwks(path, jwk_a)
    clock = FakeClock()
    cache = JwksCache(jwks_file=path, min_refetch_seconds=30, clock=clock)
    fetches = []
    real_fetch = cache._fetch
    cache._fetch = lambda: fetches.append(clock.now) or real_fetch()

    assert cache.key_for(jwk_a["kid"]) is not None
    assert len(fetches) == 1
    assert cache.key_for(jwk_a["kid"]) is not None       # cached: no refetch
    assert len(fetches) == 1

    write_jwks(path, jwk_a, jwk_b)                         # issuer rotates in key B
    clock.now += 10
    assert cache.key_for(jwk_b["kid"]) is None             # too soon to refetch
    assert cache.key_for("random-kid-1") is None
    assert len(fetches) == 1

    clock.now += 25                                        # 35 s since last fetch
    assert cache.key_for(jwk_b["kid"]) is not None
    assert len(fetches) == 2

    path.unlink()                                          # issuer goes away
    clock.now += 31
    assert cache.key_for("random-kid-2") is None           # fetch attempted and failed...
    assert len(fetches) == 3
    assert cache.key_for(jwk_a["kid"]) is not None         # ...last good set survives
    assert cache.key_for(jwk_b["kid"]) is not None
    assert cache.key_for("random-kid-3") is None           # failed attempt also rate limited
    assert len(fetches) == 3

    path.write_text("{not json")                           # corrupt and empty sets too
    clock.now += 31
    assert cache.key_for("random-kid-4") is None
    write_jwks(path)
    clock.now += 31
    assert cache.key_for("random-kid-5") is None
    assert len(fetches) == 5
    assert cache.key_for(jwk_a["kid"]) is not None


def test_jwks_url_fetch_timeout_and_failure(monkeypatch):
    _, jwk_a = new_jwk()
    calls = []

    class Resp:
        def raise_for_status(self) -> None:
            pass

        def json(self) -> dict:
            return {"keys": [jwk_a]}

    def fake_get(url, timeout=None, **kwargs):
        calls.append((url, timeout))
        if len(calls) > 1:
            raise OSError("connection refused")
        return Resp()

    monkeypatch.setattr("gateway.auth.requests.get", fake_get)
    clock = FakeClock()
    cache = JwksCache(jwks_url="https://idp.example/jwks", clock=clock)
    assert cache.key_for(jwk_a["kid"]) is not None
    assert calls == [("https://idp.example/jwks", 3.0)]
    clock.now += 60
    assert cache.key_for("unknown") is None
    assert len(calls) == 2
    assert cache.key_for(jwk_a["kid"]) is not None


def test_jwks_ignores_symmetric_and_private_keys(tmp_path):
    priv, jwk_a = new_jwk()
    private_jwk = dict(jwt.algorithms.RSAAlgorithm.to_jwk(priv, as_dict=True), kid="priv")
    oct_jwk = {"kty": "oct", "kid": "hmac", "k": b64url(b"secret")}
    enc_jwk = dict(jwk_a, kid="enc", use="enc")
    path = tmp_path / "jwks.json"
    write_jwks(path, oct_jwk, private_jwk, enc_jwk, jwk_a)
    cache = JwksCache(jwks_file=path, clock=FakeClock())
    assert cache.key_for(jwk_a["kid"]) is not None
    assert cache.key_for("hmac") is None
    assert cache.key_for("priv") is None
    assert cache.key_for("enc") is None


def test_verifier_picks_up_rotated_key(tmp_path, private_key):
    keys = dev_keys_in(tmp_path)  # its own: the key set is rewritten
    v = TokenVerifier.from_config([{"issuer": DEV_ISSUER, "kind": "staff",
                                    "audience": DEV_AUDIENCE, "jwks_file": str(keys.jwks_path)}],
                                  min_refetch_seconds=0)
    v.verify(jwt.encode(claims(), private_key, algorithm="RS256", headers={"kid": keys.kid}))
    new_key, new = new_jwk()
    write_jwks(keys.jwks_path, json.loads(keys.jwks_path.read_text())["keys"][0], new)
    token = jwt.encode(claims(), new_key, algorithm="RS256", headers={"kid": new["kid"]})
    assert v.verify(token).claims["sub"] == "staff-1"


# --- dev issuer ----------------------------------------------------------------------------

def test_ensure_dev_keys_idempotent(tmp_path):
    first = ensure_dev_keys(tmp_path)  # the one test that generates a dev key
    pem = first.private_key_path.read_bytes()
    jwks = first.jwks_path.read_text()
    second = ensure_dev_keys(tmp_path)
    assert second == first
    assert second.private_key_path.read_bytes() == pem
    assert second.jwks_path.read_text() == jwks
    assert stat.S_IMODE(os.stat(first.private_key_path).st_mode) == 0o600
    assert first.private_key_path == tmp_path / "dev-issuer" / "private.pem"
    assert first.jwks_path == tmp_path / "dev-issuer" / "jwks.json"
    published = json.loads(jwks)["keys"]
    assert len(published) == 1 and published[0]["kid"] == first.kid
    assert published[0]["alg"] == "RS256" and "d" not in published[0]


def test_ensure_dev_keys_restores_missing_jwks(tmp_path):
    first = dev_keys_in(tmp_path)
    first.jwks_path.unlink()
    assert ensure_dev_keys(tmp_path).kid == first.kid
    assert json.loads(first.jwks_path.read_text())["keys"][0]["kid"] == first.kid


def test_kid_is_rfc7638_thumbprint():
    # Example from RFC 7638 section 3.1.
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSo"
         "c_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGj"
         "QR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-b"
         "FTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    public = rsa.RSAPublicNumbers(
        e=65537, n=int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big"),
    ).public_key()
    assert rsa_public_jwk(public)["kid"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_mint_requires_sub(tmp_path):
    with pytest.raises(ValueError):
        mint(tmp_path, {"name": "no subject"})


def test_mint_header_and_claims(tmp_path):
    dev_keys_in(tmp_path)
    token = mint(tmp_path, {"sub": "u1", "iss": "https://spoof", "exp": 1}, ttl_seconds=120)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": ensure_dev_keys(tmp_path).kid}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["iss"] == DEV_ISSUER and payload["aud"] == DEV_AUDIENCE
    assert payload["exp"] - payload["iat"] == 120


@pytest.fixture
def fake_demo(monkeypatch):
    module = types.ModuleType("stafett.dev.demo")
    module.PERSONAS = {
        "laerer": {"description": "Teacher at Bakken skole", "sub": "staff-laerer",
                   "roles": ["teacher"]},
        "mor": {"description": "Guardian", "sub": "guardian-mor", "pid": "01010112345"},
    }
    monkeypatch.setitem(sys.modules, "stafett.dev.demo", module)
    return module


def test_cli_list(fake_demo, capsys, tmp_path):
    assert devissuer.main(["--var", str(tmp_path), "--list"]) == 0
    out = capsys.readouterr().out
    assert "laerer\tTeacher at Bakken skole" in out
    assert "mor\tGuardian" in out


def test_cli_mint(fake_demo, capsys, dev_var, verifier):
    # ``verifier`` trusts dev_var's dev keys, which the CLI reuses.
    assert devissuer.main(["--var", str(dev_var), "--ttl", "60", "laerer"]) == 0
    token = capsys.readouterr().out.strip()
    result = verifier.verify(token)
    assert result.claims["sub"] == "staff-laerer"
    assert result.claims["roles"] == ["teacher"]
    assert "description" not in result.claims
    assert result.claims["exp"] - result.claims["iat"] == 60
    assert "description" in fake_demo.PERSONAS["laerer"]  # persona catalogue not mutated


def test_cli_unknown_persona(fake_demo, capsys, tmp_path):
    assert devissuer.main(["--var", str(tmp_path), "nobody"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "nobody" in captured.err


def test_trailing_newline_rejected(verifier, sign):
    rejected(verifier, sign(claims()) + "\n")


def test_citizen_and_staff_issuers_require_high_assurance_unless_configured(keys):
    base = {"issuer": "https://idp.example", "audience": "stafett",
            "jwks_file": "jwks.json"}  # read lazily: the file need not exist here
    for kind in ("citizen", "staff"):
        assert IssuerConfig(kind=kind, **base).required_acr == "idporten-loa-high"
        assert IssuerConfig(kind=kind, required_acr="idporten-loa-substantial,idporten-loa-high",
                            **base).required_acr.endswith("high")
        with pytest.raises(ValueError):
            IssuerConfig(kind=kind, required_acr=" ", **base)
    assert IssuerConfig(kind="system", **base).required_acr is None


def test_required_acr_may_be_a_yaml_list_or_a_comma_list(keys):
    from gateway.access import accepted_acr

    base = {"issuer": "https://idp.example", "kind": "staff", "audience": "stafett",
            "jwks_file": "jwks.json"}
    as_list = IssuerConfig.from_dict({**base, "required_acr": ["idporten-loa-substantial",
                                                               "idporten-loa-high"]})
    as_text = IssuerConfig.from_dict({**base, "required_acr": "idporten-loa-substantial, "
                                                              "idporten-loa-high"})
    for cfg in (as_list, as_text):
        assert accepted_acr(cfg.required_acr) == ("idporten-loa-substantial",
                                                  "idporten-loa-high")


# --- claims to identity ----------------------------------------------------------------------

ORG = "974760673"  # a valid organisation number (mod 11), the register's own


def staff_issuer(**extra) -> IssuerConfig:
    return IssuerConfig.from_dict({"issuer": "https://idp.example", "kind": "staff",
                                   "audience": "stafett", "jwks_file": "jwks.json", **extra})


def test_claim_map_renames_the_claims_we_read():
    from gateway.identity import identity_from

    cfg = staff_issuer(claim_map={"agency": "org_no", "name": "navn", "roles": "groups"})
    identity = identity_from(VerifiedToken(cfg, {
        "sub": "s-1", "org_no": ORG, "navn": "Kari", "groups": ["staff", "auditor"],
        "agency": "000000000", "acr": "idporten-loa-high"}))
    assert (identity["agency"], identity["name"], identity["roles"]) == (
        ORG, "Kari", ["staff", "auditor"])
    citizen = IssuerConfig.from_dict({"issuer": "https://id.example", "kind": "citizen",
                                      "audience": "stafett", "jwks_file": "j",
                                      "claim_map": {"pid": "fnr"}})
    assert identity_from(VerifiedToken(citizen, {"sub": "c", "fnr": "x", "pid": "y"}))[
        "pid"] == "x"


@pytest.mark.parametrize("claim_map", [{"agnecy": "org_no"}, {"agency": ""},
                                       {"agency": ["org_no"]}])
def test_a_claim_map_that_renames_nothing_we_read_fails_at_start(claim_map):
    with pytest.raises(ValueError):
        staff_issuer(claim_map=claim_map)


def system_issuer() -> IssuerConfig:
    return IssuerConfig.from_dict({"issuer": "https://maskinporten.example/", "kind": "system",
                                   "audience": "stafett", "jwks_file": "jwks.json"})


def test_a_system_token_names_its_agency_by_iso6523_consumer():
    from gateway.identity import identity_from

    identity = identity_from(VerifiedToken(system_issuer(), {
        "sub": "client", "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{ORG}"},
        "scope": "stafett:logs.read stafett:webhooks"}))
    assert identity["agency"] == ORG
    assert identity["scopes"] == ["stafett:logs.read", "stafett:webhooks"]


@pytest.mark.parametrize("consumer", [
    None, "0192:" + ORG, {}, {"ID": ORG}, {"ID": "anything"}, {"ID": "0192:anything"},
    {"ID": "0192:974760674"},          # wrong check digit
    {"ID": "0088:" + ORG},             # another register
    {"ID": f"0192:{ORG}x"}, {"ID": f"x0192:{ORG}"}, {"ID": 974760673},
])
def test_a_system_token_without_a_valid_organisation_is_refused(consumer):
    from gateway.identity import identity_from

    claims_ = {"sub": "client", "scope": "stafett:logs.read"}
    if consumer is not None:
        claims_["consumer"] = consumer
    with pytest.raises(Unauthorized):
        identity_from(VerifiedToken(system_issuer(), claims_))


@pytest.mark.parametrize("agency", [None, "", "anything", "974760674", "97476067"])
def test_a_staff_token_without_a_valid_organisation_is_refused(agency):
    from gateway.identity import identity_from

    with pytest.raises(Unauthorized):
        identity_from(VerifiedToken(staff_issuer(), {"sub": "s", "agency": agency}))


def test_rejection_reasons_are_short_metric_labels():
    from gateway.access import rejection_reason

    assert rejection_reason(Unauthorized("header not allowed: jku")) == "header_not_allowed_jku"
    assert rejection_reason(Unauthorized("missing claim: iat")) == "missing_claim_iat"


# --- JWKS: age, and a real HTTP server ------------------------------------------------------------

def test_jwks_older_than_its_max_age_is_fetched_again(tmp_path):
    """A key the issuer has withdrawn stops working within the max age."""
    _, jwk_a = new_jwk()
    _, jwk_b = new_jwk()
    path = tmp_path / "jwks.json"
    write_jwks(path, jwk_a)
    clock = FakeClock()
    cache = JwksCache(jwks_file=path, min_refetch_seconds=30, max_age_seconds=300,
                      clock=clock)
    assert cache.key_for(jwk_a["kid"]) is not None
    write_jwks(path, jwk_b)                                # A withdrawn, B published
    clock.now += 299
    assert cache.key_for(jwk_a["kid"]) is not None         # still within the max age
    clock.now += 1
    assert cache.key_for(jwk_a["kid"]) is None             # refetched: A is gone
    assert cache.key_for(jwk_b["kid"]) is not None
    path.unlink()                                          # the issuer is down
    clock.now += 300
    assert cache.key_for(jwk_b["kid"]) is not None         # last good set kept


@pytest.fixture
def jwks_server():
    with jwks_endpoint() as endpoint:
        yield endpoint


def test_jwks_by_url_from_a_real_server_keeps_the_last_good_set_on_errors(jwks_server):
    _, jwk_a = new_jwk()
    _, jwk_b = new_jwk()
    jwks_server.serve(jwk_a)
    clock = FakeClock()
    cache = JwksCache(jwks_url=jwks_server.url, min_refetch_seconds=30, clock=clock)
    assert cache.key_for(jwk_a["kid"]) is not None
    assert jwks_server.requests == 1
    # an error status with a body that parses as a key set is still a failed fetch
    jwks_server.serve(jwk_b, status=500)
    clock.now += 31
    assert cache.key_for(jwk_b["kid"]) is None
    assert jwks_server.requests == 2
    assert cache.key_for(jwk_a["kid"]) is not None
    jwks_server.serve(jwk_b)
    clock.now += 31
    assert cache.key_for(jwk_b["kid"]) is not None
    assert cache.key_for(jwk_a["kid"]) is None               # the new set replaced it


# --- Maskinporten-shaped tokens: no sub (issue 12, point 7) ----------------------------------

#: the claims of a Maskinporten access token as Digdir publishes them: no ``sub``
#: (https://docs.digdir.no/docs/Maskinporten/maskinporten_protocol_token)
def maskinporten_claims(**overrides) -> dict:
    now = int(time.time())
    base = {"iss": DEV_ISSUER, "client_amr": "virksomhetssertifikat", "token_type": "Bearer",
            "aud": DEV_AUDIENCE, "scope": "stafett:logs.read",
            "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{ORG}"},
            "iat": now, "exp": now + 600, "jti": "IYRtIEzOYb8fHiIMEaqVHq_tXYGWe6OEOjOdsK-P_30",
            "client_id": "oidc_difi_delegering_altinn"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def verifier_of(keys, kind: str) -> TokenVerifier:
    return TokenVerifier.from_config([{"issuer": DEV_ISSUER, "kind": kind,
                                       "audience": DEV_AUDIENCE,
                                       "jwks_file": str(keys.jwks_path)}])


def test_a_system_issuers_token_needs_no_sub_and_its_client_keys_the_identity(keys, sign):
    from gateway.identity import identity_from

    verified = verifier_of(keys, "system").verify(sign(maskinporten_claims()))
    assert "sub" not in verified.claims
    identity = identity_from(verified)
    assert identity["agency"] == ORG and identity["scopes"] == ["stafett:logs.read"]
    assert identity["client"] == "oidc_difi_delegering_altinn"
    assert identity["sub"] == "client:oidc_difi_delegering_altinn"


def test_a_system_token_without_client_id_is_the_agencys_own(keys, sign):
    from gateway.identity import identity_from

    identity = identity_from(verifier_of(keys, "system").verify(
        sign(maskinporten_claims(client_id=None))))
    assert identity["client"] is None and identity["sub"] == f"consumer:{ORG}"
    # an issuer that names the client in sub: that is the client
    named = identity_from(verifier_of(keys, "system").verify(
        sign(maskinporten_claims(client_id=None, sub="fagsystem-1"))))
    assert named["client"] == "fagsystem-1" and named["sub"] == "client:fagsystem-1"


@pytest.mark.parametrize("client_id", ["", "x" * 64, "a b", "a\u0000b", 17, ["c"]])
def test_a_system_token_with_an_unusable_client_id_is_refused(keys, sign, client_id):
    from gateway.identity import identity_from

    verified = verifier_of(keys, "system").verify(sign(maskinporten_claims(client_id=client_id)))
    with pytest.raises(Unauthorized) as refused:
        identity_from(verified)
    assert refused.value.detail == "the token names no valid client"


@pytest.mark.parametrize("kind", ["citizen", "staff"])
def test_person_issuers_still_require_sub(keys, sign, kind):
    assert rejected(verifier_of(keys, kind), sign(maskinporten_claims())).detail == (
        "missing claim: sub")


def test_a_system_token_with_an_empty_sub_is_refused(keys, sign):
    assert rejected(verifier_of(keys, "system"), sign(maskinporten_claims(sub=""))).detail == (
        "missing claim: sub")


def test_a_system_actor_names_its_client_in_access_records():
    from stafett.actor import SYSTEM, Actor

    assert Actor(kind=SYSTEM, agency=ORG, client="c-1").ref == f"system:{ORG}/c-1"
    assert Actor(kind=SYSTEM, agency=ORG).ref == f"system:{ORG}"
    assert len(Actor(kind=SYSTEM, agency=ORG, client="x" * 63).ref) == 80  # actor_ref columns
    assert Actor.from_context(Actor(kind=SYSTEM, agency=ORG, client="c-1").to_context()
                              ).client == "c-1"


# --- failed authentication per client address (issue 12, point 7) ---------------------------

def request_from(peer: str, *forwarded: str):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    headers = [("X-Forwarded-For", value) for value in forwarded]
    return Request(EnvironBuilder(headers=headers,
                                  environ_base={"REMOTE_ADDR": peer}).get_environ())


def test_the_client_is_the_socket_peer_unless_it_is_a_trusted_proxy():
    from gateway.access import client_address, networks

    proxies = networks("10.0.0.0/8, fd00::/8")
    # no trusted proxies: X-Forwarded-For is the client's to write, so it is ignored
    assert client_address(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"
    assert client_address(request_from("203.0.113.7", "198.51.100.1"), proxies) == (
        "203.0.113.7")  # the peer is no proxy of ours
    # behind our proxy: the nearest address it did not write itself, read from the right
    assert client_address(request_from("10.1.2.3", "198.51.100.1, 203.0.113.9, 10.9.9.9"),
                          proxies) == "203.0.113.9"
    assert client_address(request_from("10.1.2.3", "198.51.100.1", "203.0.113.9"),
                          proxies) == "203.0.113.9"  # two headers are one list
    assert client_address(request_from("10.1.2.3", "garbage, 203.0.113.9"), proxies) == (
        "203.0.113.9")
    assert client_address(request_from("10.1.2.3", "203.0.113.9, garbage"), proxies) == (
        "10.1.2.3")  # our proxy wrote no such thing: stay with what is known
    assert client_address(request_from("10.1.2.3"), proxies) == "10.1.2.3"
    # IPv6 by its /64 (one host holds all of it), an IPv4-mapped address as IPv4
    assert client_address(request_from("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64"
    assert client_address(request_from("::ffff:203.0.113.7")) == "203.0.113.7"


def test_trusted_proxies_must_be_networks():
    from gateway.access import networks

    assert networks("") == () and networks(["10.0.0.0/8"])[0].prefixlen == 8
    with pytest.raises(ValueError):
        networks("10.0.0.0/33")


def test_failures_are_limited_per_address_and_refill_over_the_window():
    from gateway.access import FailureLimiter

    clock = FakeClock()
    limiter = FailureLimiter(3, 60, clock=clock)
    assert [limiter.fail("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.fail("a") == pytest.approx(20)   # one failure back every 60/3 s
    assert limiter.fail("b") == 0                   # another address is unaffected
    clock.now += 20
    assert limiter.fail("a") == 0 and limiter.fail("a") > 0
    clock.now += 60
    assert [limiter.fail("a") for _ in range(3)] == [0, 0, 0]


def test_the_failure_table_is_bounded():
    from gateway.access import FailureLimiter

    clock = FakeClock()
    limiter = FailureLimiter(2, 60, clock=clock, max_addresses=10)
    for n in range(10):
        limiter.fail(f"old-{n}")
    clock.now += 120                                 # all of them full again
    limiter.fail("busy"), limiter.fail("busy")
    for n in range(50):
        limiter.fail(f"new-{n}")
    assert len(limiter.buckets) <= 10
    assert not any(name.startswith("old-") for name in limiter.buckets)
    assert limiter.fail("busy") > 0  # the one still failing is the one kept
