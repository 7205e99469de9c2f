"""From verified token claims to the identity the consent service resolves to an actor.

Claim names are configurable per issuer (``claim_map``), e.g. an agency IdP that puts the
organisation number in ``org_no``. Machine tokens name their agency Maskinporten-style in
``consumer.ID`` ("0192:<org number>") and their rights in ``scope``.
"""
from __future__ import annotations

from gateway.auth import VerifiedToken

DEFAULT_CLAIMS = {"pid": "pid", "acr": "acr", "name": "name", "agency": "agency",
                  "roles": "roles", "scope": "scope", "consumer": "consumer"}


def identity_from(token: VerifiedToken) -> dict:
    issuer, claims = token.issuer, token.claims
    names = {**DEFAULT_CLAIMS, **(issuer.claim_map or {})}

    def claim(key, default=None):
        return claims.get(names[key], default)

    identity = {"kind": issuer.kind, "issuer": issuer.issuer, "sub": claims["sub"],
                "acr": claim("acr"), "roles": [], "scopes": [], "agency": None}
    if issuer.kind == "citizen":
        identity["pid"] = str(claim("pid") or "")
    elif issuer.kind == "staff":
        identity["name"] = claim("name") or ""
        identity["agency"] = str(claim("agency") or "") or None
        roles = claim("roles") or []
        identity["roles"] = [str(r) for r in (roles if isinstance(roles, list) else [roles])]
    else:  # system
        consumer = claim("consumer") or {}
        org = str(consumer.get("ID", "")) if isinstance(consumer, dict) else ""
        identity["agency"] = org.split(":")[-1] or None
        identity["scopes"] = str(claim("scope") or "").split()
    return identity
