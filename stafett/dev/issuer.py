"""Development token issuer.

Mints RS256 tokens for demo personas with a locally generated key, so the gateway can be
exercised without a real identity provider. It only has effect if the gateway is configured
to trust ``DEV_ISSUER`` with ``var_dir/dev-issuer/jwks.json``; it is never on by default.

    python -m stafett.dev.issuer --list
    python -m stafett.dev.issuer [--var var] [--ttl 3600] PERSONA
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEV_ISSUER = "http://127.0.0.1:8000/dev-issuer"
DEV_AUDIENCE = "stafett-api"


def dev_issuer_url(kind: str) -> str:
    """One dev issuer per identity kind (citizen, staff, system), as in production."""
    return f"{DEV_ISSUER}/{kind}"


def dev_issuer_configs(var_dir: str | Path) -> list[dict]:
    """Issuer configs for the gateway when ``DEV_ISSUER`` is on; keys created if missing."""
    keys = ensure_dev_keys(var_dir)
    return [{"issuer": dev_issuer_url(kind), "kind": kind, "audience": DEV_AUDIENCE,
             "algorithms": ["RS256"], "jwks_file": str(keys.jwks_path),
             "required_acr": "idporten-loa-high" if kind != "system" else None}
            for kind in ("citizen", "staff", "system")]


@dataclass(frozen=True)
class DevKeys:
    private_key_path: Path
    jwks_path: Path
    kid: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rsa_public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """Public JWK for an RSA key, with ``kid`` = its RFC 7638 SHA-256 thumbprint."""
    jwk: dict[str, str] = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    # RFC 7638: the required members only, lexicographic order, no whitespace.
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]},
                           separators=(",", ":"), sort_keys=True)
    kid = _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": jwk["n"], "e": jwk["e"]}


def _load_or_create_private_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            # O_EXCL + 0600 at creation: never a moment where the key is world-readable,
            # and a concurrent creator wins cleanly (we then load theirs).
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            return key
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return loaded


def ensure_dev_keys(var_dir: str | Path) -> DevKeys:
    """Create (if missing) the dev issuer's key pair under ``var_dir/dev-issuer``. Idempotent."""
    base = Path(var_dir) / "dev-issuer"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = base / "private.pem"
    jwks_path = base / "jwks.json"

    key = _load_or_create_private_key(private_path)
    public_jwk = rsa_public_jwk(key.public_key())
    wanted = {"keys": [public_jwk]}

    # Rewrite the JWKS only if missing or out of sync with the private key; atomic replace
    # so a gateway reading it concurrently never sees a half-written file.
    current: Any = None
    if jwks_path.exists():
        try:
            current = json.loads(jwks_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
    if current != wanted:
        tmp = jwks_path.with_suffix(f".json.tmp{os.getpid()}")
        tmp.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, jwks_path)

    return DevKeys(private_key_path=private_path, jwks_path=jwks_path, kid=public_jwk["kid"])


def mint(
    var_dir: str | Path,
    claims: dict[str, Any],
    ttl_seconds: int = 3600,
    issuer: str = DEV_ISSUER,
    audience: str = DEV_AUDIENCE,
) -> str:
    """Sign an RS256 token with the dev key. ``claims`` must contain ``sub``."""
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise ValueError("claims must include a non-empty 'sub'")
    keys = ensure_dev_keys(var_dir)
    private_key = serialization.load_pem_private_key(keys.private_key_path.read_bytes(),
                                                     password=None)
    now = int(time.time())
    # Registered claims are set last so a persona can never produce an off-policy token.
    payload = {**claims, "iss": issuer, "aud": audience, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(payload, private_key, algorithm="RS256",
                      headers={"typ": "JWT", "kid": keys.kid})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stafett.dev.issuer",
                                     description="Mint development tokens for demo personas.")
    parser.add_argument("--var", default="var", help="state directory (default: var)")
    parser.add_argument("--ttl", type=int, default=3600, help="token lifetime in seconds")
    parser.add_argument("--list", action="store_true", help="list persona names and exit")
    parser.add_argument("persona", nargs="?", help="persona to mint a token for")
    args = parser.parse_args(argv)

    # Lazy: the persona catalogue lives in the demo module and is only needed here.
    from stafett.dev.demo import PERSONAS

    if args.list:
        for name in sorted(PERSONAS):
            print(f"{name}\t{PERSONAS[name].get('description', '')}")
        return 0
    if not args.persona:
        parser.print_usage(sys.stderr)
        print("error: PERSONA is required (or --list)", file=sys.stderr)
        return 2
    if args.persona not in PERSONAS:
        print(f"unknown persona {args.persona!r}; try --list", file=sys.stderr)
        return 2
    if args.ttl <= 0:
        print("--ttl must be positive", file=sys.stderr)
        return 2

    claims = dict(PERSONAS[args.persona])
    claims.pop("description", None)
    kind = claims.pop("issuer_kind", None)
    issuer = dev_issuer_url(kind) if kind else DEV_ISSUER
    print(mint(args.var, claims, ttl_seconds=args.ttl, issuer=issuer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
