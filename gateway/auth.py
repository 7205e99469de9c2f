"""JWT verification for the API gateway, following RFC 8725 (JWT Best Current Practices).

Every token is checked against exactly one configured issuer, chosen by exact string
equality of its (unverified) ``iss``. Algorithms are pinned per issuer, keys come only from
that issuer's configured JWKS (never from the token's own headers), and every failure
surfaces as :class:`stafett.errors.Unauthorized` with a short detail that never echoes
the token.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import jwt
import requests

from stafett.errors import Unauthorized
from stafett.metrics import JWKS_LAST_SUCCESS, JWKS_REFRESHES

log = logging.getLogger(__name__)

#: Upper bound on the encoded token; checked before any parsing to bound work per request.
MAX_TOKEN_BYTES = 8192

#: JWKS fetch timeout (seconds) for ``jwks_url`` issuers.
JWKS_TIMEOUT_SECONDS = 3.0

ISSUER_KINDS = frozenset({"citizen", "staff", "system"})
#: the assurance level personal data needs when an issuer's config names none
DEFAULT_REQUIRED_ACR = "idporten-loa-high"

#: Headers that would let the token choose its own key, or demand extensions we do not
#: implement (``crit``, and ``b64`` from RFC 7797 which changes what is signed).
FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit", "b64")

ALLOWED_TYP = frozenset({"jwt", "at+jwt"})

#: the claims we read, each renamable per issuer (``claim_map``: ours → the issuer's)
CLAIM_NAMES = ("pid", "acr", "name", "agency", "roles", "scope", "consumer", "client_id")

#: Only public-key algorithms: keys come from a public JWKS, so an HMAC "secret" would be
#: public too (the classic RS256→HS256 confusion attack).
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "ES256K", "EdDSA",
})

# JWS compact serialisation: header.payload.signature, base64url without padding.
# The signature may be empty here so that ``alg: none`` is rejected by the alg rule
# (clearer detail) rather than as malformed.
_COMPACT_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", re.ASCII)


@dataclass
class IssuerConfig:
    issuer: str
    kind: str
    audience: str
    algorithms: tuple[str, ...] = ("RS256",)
    jwks_file: str | None = None
    jwks_url: str | None = None
    required_acr: str | list | None = None
    claim_map: dict = field(default_factory=dict)
    leeway_seconds: int = 30
    # keys are refetched when a token names an unknown kid (at most this often), and on
    # the first use after they are this old, so a key the issuer withdrew stops working
    jwks_min_refetch_seconds: float = 30
    jwks_max_age_seconds: float = 3600

    def __post_init__(self) -> None:
        # Fail at start-up on a config that would weaken verification at request time.
        self.algorithms = tuple(self.algorithms)
        if not self.issuer or not isinstance(self.issuer, str):
            raise ValueError("issuer must be a non-empty string")
        if self.kind not in ISSUER_KINDS:
            raise ValueError(f"issuer {self.issuer!r}: kind must be one of {sorted(ISSUER_KINDS)}")
        if not self.audience or not isinstance(self.audience, str):
            raise ValueError(f"issuer {self.issuer!r}: audience must be a non-empty string")
        if not self.algorithms:
            raise ValueError(f"issuer {self.issuer!r}: algorithms must not be empty")
        bad = [a for a in self.algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if bad:
            raise ValueError(f"issuer {self.issuer!r}: algorithms not allowed: {bad}")
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError(f"issuer {self.issuer!r}: set exactly one of jwks_file, jwks_url")
        if self.leeway_seconds < 0:
            raise ValueError(f"issuer {self.issuer!r}: leeway_seconds must be >= 0")
        if not 0 < self.jwks_min_refetch_seconds <= self.jwks_max_age_seconds:
            raise ValueError(f"issuer {self.issuer!r}: need 0 < jwks_min_refetch_seconds "
                             "<= jwks_max_age_seconds")
        unknown_claims = set(self.claim_map) - set(CLAIM_NAMES)
        if unknown_claims or not all(isinstance(v, str) and v
                                     for v in self.claim_map.values()):
            raise ValueError(f"issuer {self.issuer!r}: claim_map renames only "
                             f"{list(CLAIM_NAMES)}, each to a claim name; got "
                             f"{sorted(unknown_claims) or self.claim_map}")
        if isinstance(self.required_acr, (list, tuple)):  # YAML list or comma string
            self.required_acr = ",".join(str(level) for level in self.required_acr)
        # personal data needs the high assurance level unless configured otherwise (a
        # comma-separated list of accepted levels); never silently nothing
        if self.kind != "system":
            if self.required_acr is None:
                self.required_acr = DEFAULT_REQUIRED_ACR
            if not str(self.required_acr).strip():
                raise ValueError(f"issuer {self.issuer!r}: required_acr must name a level")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IssuerConfig:
        known = {f.name for f in fields(cls)}
        # Strict on purpose: a misspelt key (e.g. "requierd_acr") must not be silently ignored.
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown issuer config keys: {sorted(unknown)}")
        kwargs = dict(d)
        if "algorithms" in kwargs:
            algs = kwargs["algorithms"]
            kwargs["algorithms"] = (algs,) if isinstance(algs, str) else tuple(algs)
        if "claim_map" in kwargs:
            kwargs["claim_map"] = dict(kwargs["claim_map"] or {})
        return cls(**kwargs)


class JwksCache:
    """Public signing keys for one issuer, loaded from a file or URL.

    Keys are fetched lazily and cached. An unknown ``kid`` triggers a refetch (key
    rotation), but at most once per ``min_refetch_seconds`` so that tokens with random
    kids cannot make us hammer the issuer. A failed fetch keeps the last good set.
    """

    def __init__(
        self,
        jwks_file: str | Path | None = None,
        jwks_url: str | None = None,
        min_refetch_seconds: float = 30,
        timeout: float = JWKS_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_age_seconds: float = 3600,
        label: str | None = None,
    ) -> None:
        if (jwks_file is None) == (jwks_url is None):
            raise ValueError("set exactly one of jwks_file, jwks_url")
        self.jwks_file = Path(jwks_file) if jwks_file is not None else None
        self.jwks_url = jwks_url
        self.min_refetch_seconds = min_refetch_seconds
        self.max_age_seconds = max_age_seconds
        self.timeout = timeout
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._declared_alg: dict[str, str] = {}
        self._last_attempt: float | None = None
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        #: the issuer, on the refresh metrics (stafett_jwks_refreshes_total)
        self.label = label or self._source()

    def key_for(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            now = self._clock()
            may_fetch = (self._last_attempt is None
                         or now - self._last_attempt >= self.min_refetch_seconds)
            stale = self._fetched_at is None or now - self._fetched_at >= self.max_age_seconds
            if may_fetch and (stale or kid not in self._keys):
                self._refresh(now)
            return self._keys.get(kid)

    def declared_alg(self, kid: str) -> str | None:
        """The ``alg`` the JWKS published for ``kid``, if any (call after :meth:`key_for`)."""
        with self._lock:
            return self._declared_alg.get(kid)

    def _refresh(self, now: float) -> None:
        # Rate limit counts attempts, not successes: a failing issuer is not retried faster.
        self._last_attempt = now
        try:
            self._keys, self._declared_alg = self._parse(self._fetch())
            self._fetched_at = now
            JWKS_REFRESHES.labels(issuer=self.label, outcome="ok").inc()
            JWKS_LAST_SUCCESS.labels(issuer=self.label).set(time.time())
        except Exception as exc:  # noqa: BLE001 - any failure keeps the last good set
            JWKS_REFRESHES.labels(issuer=self.label, outcome="failed").inc()
            log.warning("JWKS fetch from %s failed, keeping %d cached keys: %s",
                        self._source(), len(self._keys), exc)

    def _source(self) -> str:
        return str(self.jwks_file) if self.jwks_file is not None else str(self.jwks_url)

    def _fetch(self) -> dict:
        if self.jwks_file is not None:
            data = json.loads(self.jwks_file.read_text(encoding="utf-8"))
        else:
            resp = requests.get(self.jwks_url, timeout=self.timeout,
                                headers={"Accept": "application/json"})
            resp.raise_for_status()
            data = resp.json()
        if not isinstance(data, dict):
            raise ValueError("JWKS is not a JSON object")
        return data

    @staticmethod
    def _parse(data: dict) -> tuple[dict[str, jwt.PyJWK], dict[str, str]]:
        raw = data.get("keys")
        if not isinstance(raw, list):
            raise ValueError("JWKS has no keys list")
        # Only public signing keys with a kid: drop symmetric ("oct") keys, anything carrying
        # private material, and keys marked for encryption.
        usable = [
            k for k in raw
            if isinstance(k, dict)
            and isinstance(k.get("kid"), str) and k["kid"]
            and k.get("kty") != "oct"
            and "d" not in k
            and k.get("use", "sig") == "sig"
        ]
        keys: dict[str, jwt.PyJWK] = {}
        declared: dict[str, str] = {}
        for k in usable:
            if k["kid"] in keys:
                continue  # first wins on duplicate kids, as in PyJWKSet.__getitem__
            try:
                keys[k["kid"]] = jwt.PyJWK(k)
            except jwt.PyJWTError:
                continue  # skip unusable keys, as PyJWKSet does
            if isinstance(k.get("alg"), str):
                declared[k["kid"]] = k["alg"]
        if not keys:
            # An empty set is treated as a failed fetch so the last good set survives.
            raise ValueError("JWKS has no usable signing keys")
        return keys, declared


@dataclass(frozen=True)
class VerifiedToken:
    issuer: IssuerConfig
    claims: dict


def _b64url_json(segment: str) -> dict | None:
    """Decode one base64url JSON-object segment, or None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _reject(detail: str, code: str = "token.invalid") -> Unauthorized:
    return Unauthorized(detail, code=code)


class TokenVerifier:
    def __init__(self, issuers: Iterable[IssuerConfig],
                 min_refetch_seconds: float | None = None) -> None:
        self._issuers: dict[str, IssuerConfig] = {}
        self._jwks: dict[str, JwksCache] = {}
        for cfg in issuers:
            if cfg.issuer in self._issuers:
                raise ValueError(f"duplicate issuer {cfg.issuer!r}")
            self._issuers[cfg.issuer] = cfg
            self._jwks[cfg.issuer] = JwksCache(
                jwks_file=cfg.jwks_file, jwks_url=cfg.jwks_url,
                min_refetch_seconds=(cfg.jwks_min_refetch_seconds if min_refetch_seconds is None
                                     else min_refetch_seconds),
                max_age_seconds=cfg.jwks_max_age_seconds, label=cfg.issuer,
            )

    @classmethod
    def from_config(cls, configs: Iterable[Mapping[str, Any]], **kwargs: Any) -> TokenVerifier:
        return cls([IssuerConfig.from_dict(c) for c in configs], **kwargs)

    @property
    def issuers(self) -> list[IssuerConfig]:
        return list(self._issuers.values())

    def verify(self, token: str) -> VerifiedToken:
        if not isinstance(token, str):
            raise _reject("malformed token")
        # Size first, before any work proportional to the input. Characters <= UTF-8 bytes,
        # and anything non-ASCII fails the compact-form check below anyway.
        if len(token) > MAX_TOKEN_BYTES:
            raise _reject("token too large")
        # Compact JWS only: rejects JSON serialisation and 5-part JWE before any parsing.
        # fullmatch, not match: "$" would accept a trailing newline.
        if not _COMPACT_RE.fullmatch(token):
            raise _reject("malformed token")

        # Parsed by hand (not via PyJWT) so policy checks below see the raw header, e.g.
        # PyJWT would refuse ``crit`` itself with a less useful error. Nothing read here is
        # trusted until jwt.decode has verified the signature.
        header_b64, payload_b64, _ = token.split(".")
        header = _b64url_json(header_b64)
        unverified = _b64url_json(payload_b64)
        if header is None or unverified is None:
            raise _reject("malformed token")

        iss = unverified.get("iss")
        if not isinstance(iss, str):
            raise _reject("missing issuer")
        # Exact match only: no prefix/suffix/case normalisation.
        cfg = self._issuers.get(iss)
        if cfg is None:
            raise _reject("unknown issuer")

        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in cfg.algorithms:
            raise _reject("algorithm not allowed")
        for name in FORBIDDEN_HEADERS:
            if name in header:
                raise _reject(f"header not allowed: {name}")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() not in ALLOWED_TYP):
            raise _reject("unsupported token type")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _reject("missing key id")

        cache = self._jwks[cfg.issuer]
        jwk = cache.key_for(kid)
        if jwk is None:
            raise _reject("unknown signing key")
        # A key published with an explicit alg may only be used with that alg.
        declared = cache.declared_alg(kid)
        if declared is not None and declared != alg:
            raise _reject("algorithm not allowed")

        try:
            claims = jwt.decode(
                token,
                key=jwk.key,
                algorithms=list(cfg.algorithms),
                audience=cfg.audience,
                issuer=cfg.issuer,
                leeway=cfg.leeway_seconds,
                options={"require": required_claims(cfg)},
            )
        except jwt.ExpiredSignatureError:
            raise _reject("token expired", code="token.expired") from None
        except jwt.ImmatureSignatureError:
            raise _reject("token not yet valid", code="token.not_yet_valid") from None
        except jwt.InvalidAudienceError:
            raise _reject("invalid audience") from None
        except jwt.InvalidIssuerError:
            raise _reject("invalid issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _reject(f"missing claim: {exc.claim}") from None
        except jwt.InvalidSignatureError:
            raise _reject("invalid signature") from None
        except Exception:  # noqa: BLE001 - any other PyJWT/crypto error
            raise _reject("invalid token") from None

        # Belt and braces: PyJWT checks these too, but the policy must not depend on it.
        now = time.time()
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or isinstance(iat, bool):
            raise _reject("invalid token")
        if iat > now + cfg.leeway_seconds:
            raise _reject("token issued in the future", code="token.issued_in_future")
        nbf = claims.get("nbf")
        if nbf is not None and (not isinstance(nbf, (int, float)) or nbf > now + cfg.leeway_seconds):
            raise _reject("token not yet valid", code="token.not_yet_valid")
        sub = claims.get("sub")
        if (cfg.kind != "system" or "sub" in claims) and (not isinstance(sub, str) or not sub):
            raise _reject("missing claim: sub")

        return VerifiedToken(issuer=cfg, claims=claims)


def required_claims(cfg: IssuerConfig) -> list[str]:
    """Claims every token must carry. A person's token names the person in ``sub``; a
    Maskinporten access token has no ``sub`` (its claims: iss, client_amr, token_type, aud,
    scope, consumer, iat, exp, jti, client_id), so a system issuer's tokens need none: the
    agency is ``consumer`` and the client ``client_id`` (gateway/identity.py)."""
    claims = ["exp", "iat", "iss", "aud"]
    return claims if cfg.kind == "system" else claims + ["sub"]
