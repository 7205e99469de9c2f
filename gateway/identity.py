"""From verified token claims to the identity the consent service resolves to an actor.

Claim names are configurable per issuer (``claim_map``), e.g. an agency IdP that puts the
organisation number in ``org_no``. Machine tokens name their agency Maskinporten-style in
``consumer.ID`` ("0192:<org number>", ISO 6523 code 0192 being the Norwegian register of
legal entities) and their rights in ``scope``. An organisation number that is not one
(wrong form or check digit) makes the token unusable: 401, never an agency named
"anything".

A Maskinporten access token has no ``sub``: the client is ``client_id`` (else ``sub``, for
issuers that name the client there), and that client stands where a person's subject
stands: it scopes Idempotency-Keys and is named in access records (``Actor.client``).
Digdir plans to drop ``client_id``; a token without either is the agency's own
(``consumer:<org>``; a client is ``client:<id>``). The client is never used to decide
access: the agency and the scopes are.
"""
from __future__ import annotations

import re

from gateway.auth import CLAIM_NAMES, VerifiedToken
from services.consent.identity_numbers import InvalidOrganisationNumber, validate_org_number
from stafett.errors import Unauthorized

DEFAULT_CLAIMS = {name: name for name in CLAIM_NAMES}
#: Maskinporten's consumer: {"authority": "iso6523-actorid-upis", "ID": "0192:<org>"}
CONSUMER_ID = re.compile(r"0192:(\d{9})")
#: a client id as issuers give them (uuids, names such as "oidc_difi_delegering_altinn");
#: at most 63, so an actor ref "system:<org>/<client>" fits the 80 of an actor_ref column
CLIENT_ID = re.compile(r"[A-Za-z0-9._:@/+-]{1,63}", re.ASCII)


def identity_from(token: VerifiedToken) -> dict:
    issuer, claims = token.issuer, token.claims
    names = {**DEFAULT_CLAIMS, **(issuer.claim_map or {})}

    def claim(key, default=None):
        return claims.get(names[key], default)

    identity = {"kind": issuer.kind, "issuer": issuer.issuer, "sub": claims.get("sub"),
                "acr": claim("acr"), "roles": [], "scopes": [], "agency": None}
    if issuer.kind == "citizen":
        identity["pid"] = str(claim("pid") or "")
    elif issuer.kind == "staff":
        identity["name"] = claim("name") or ""
        identity["agency"] = _organisation(str(claim("agency") or ""))
        roles = claim("roles") or []
        identity["roles"] = [str(r) for r in (roles if isinstance(roles, list) else [roles])]
    else:  # system
        consumer = claim("consumer") or {}
        match = CONSUMER_ID.fullmatch(str(consumer.get("ID", ""))
                                      if isinstance(consumer, dict) else "")
        identity["agency"] = _organisation(match.group(1) if match else "")
        identity["scopes"] = str(claim("scope") or "").split()
        client = claim("client_id", identity["sub"])
        if client is not None and not (isinstance(client, str) and CLIENT_ID.fullmatch(client)):
            raise Unauthorized("the token names no valid client")
        identity["client"] = client
        # prefixed, so no client id can pose as another agency's own key
        identity["sub"] = f"client:{client}" if client else f"consumer:{identity['agency']}"
    return identity


def _organisation(number: str) -> str:
    try:
        return validate_org_number(number)
    except InvalidOrganisationNumber:
        raise Unauthorized("the token names no valid organisation number") from None
