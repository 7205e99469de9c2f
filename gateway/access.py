"""Who is calling, what they may call, and how often: the gateway's front door.

- ``Authenticator`` verifies bearer tokens (gateway/auth.py), requires the configured
  assurance level (``acr``) for personal data, and checks that an agency system's token
  carries the scope the route demands.
- ``RateLimiter`` keeps a token bucket per agency (per person for citizens), so one
  agency's burst cannot starve the others; over the limit answers 429 with Retry-After.
  Buckets live in each gateway replica: the limit is per replica.
- ``FailureLimiter`` (in the Authenticator) limits failed authentications per client
  address (``client_address``: the socket peer, or behind ``TRUSTED_PROXIES`` the nearest
  address in X-Forwarded-For that is not one of them): over ``FAILED_AUTH_LIMIT`` refused
  tokens per ``FAILED_AUTH_WINDOW_SECONDS``, a refused token answers 429 with Retry-After
  instead of 401. A token is verified before its address's failures are looked at, so a
  valid one is never refused for what others at the same address did (docs/security.md).
"""
from __future__ import annotations

import ipaddress
import math
import re
import time
from threading import Lock

from nameko.extensions import DependencyProvider

from gateway.auth import TokenVerifier
from gateway.identity import identity_from
from stafett.config import comma_list
from stafett.config import flag
from stafett.dev.issuer import dev_issuer_configs
from stafett.errors import Forbidden, TooManyRequests, Unauthorized
from stafett.metrics import AUTH_REJECTIONS, label_request
from stafett.web import BEARER_CHALLENGE

SCOPE_ENVIRON_KEY = "stafett.required_scope"
#: the verified token's ``exp`` (epoch seconds), for what is kept per token (actor cache)
TOKEN_EXPIRES_KEY = "stafett.token_expires"


class Authenticator(DependencyProvider):
    """Verifies bearer tokens against the configured issuers (and the dev issuer if on)."""

    def setup(self):
        config = self.container.config
        issuers = list(config.get("ISSUERS") or [])
        if flag(config.get("DEV_ISSUER"), False, "DEV_ISSUER"):
            issuers += dev_issuer_configs(config.get("DEV_ISSUER_DIR", "var"))
        self.verifier = TokenVerifier.from_config(issuers)
        self.max_body = int(config.get("MAX_BODY_BYTES", 65536))
        self.trusted_proxies = networks(config.get("TRUSTED_PROXIES"))
        self.failures = FailureLimiter(int(config.get("FAILED_AUTH_LIMIT", 30)),
                                       float(config.get("FAILED_AUTH_WINDOW_SECONDS", 60)))

    def get_dependency(self, worker_ctx):
        return self

    def identity(self, request) -> dict:
        header = request.headers.get("Authorization")
        if header is None:  # no credentials: asking, not a failed authentication
            raise Unauthorized("send a bearer token in the Authorization header")
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("send a bearer token in the Authorization header")
            verified = self.verifier.verify(token.strip())
            identity = identity_from(verified)
        except Unauthorized as refused:
            # forged, expired or foreign tokens, counted by reason for the operators
            AUTH_REJECTIONS.labels(reason=rejection_reason(refused)).inc()
            refused.challenge = f'{BEARER_CHALLENGE}, error="invalid_token"'
            if refused.code not in SIGNED_BUT_STALE:
                address = client_address(request, self.trusted_proxies)
                wait = self.failures.fail(address)
                if wait:
                    limited = TooManyRequests("too many failed authentications from your "
                                              "address; wait before you try again")
                    limited.retry_after_seconds = max(1, math.ceil(wait))
                    raise limited from None
            raise
        accepted = accepted_acr(verified.issuer.required_acr)
        if verified.issuer.kind != "system" and accepted and identity["acr"] not in accepted:
            raise Forbidden(f"personal data needs login at level {' or '.join(accepted)}")
        if verified.issuer.kind == "system":
            required = request.environ.get(SCOPE_ENVIRON_KEY)
            if not required:
                raise Forbidden("this operation is not open to agency systems")
            if required not in identity["scopes"]:
                raise Forbidden(f"the token lacks the scope {required}")
        expires = verified.claims.get("exp")
        request.environ[TOKEN_EXPIRES_KEY] = (float(expires) if isinstance(expires, (int, float))
                                              and not isinstance(expires, bool) else None)
        return identity


def accepted_acr(required: str | None) -> tuple[str, ...]:
    """``required_acr`` may list several accepted levels, comma separated."""
    return comma_list(required)


def rejection_reason(refused: Unauthorized) -> str:
    """A metric label from the refusal's short detail: "header not allowed: jku" ->
    "header_not_allowed_jku" (a small fixed set: gateway/auth.py's details)."""
    return re.sub(r"[^a-z0-9]+", "_", str(refused.detail or "").lower()).strip("_")


class TokenBucket:
    def __init__(self, rate_per_second: float, burst: int, now: float):
        self.rate, self.capacity = rate_per_second, float(burst)
        self.tokens, self.updated = float(burst), now

    def take(self, now: float) -> float:
        """0 if a token was taken, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


#: refusals of tokens whose signature was good, only their time is not (a client's cue to
#: fetch a new token): never counted as failures, always 401, so a client behind the same
#: address as an attacker still learns to renew its token
SIGNED_BUT_STALE = frozenset({"token.expired", "token.not_yet_valid", "token.issued_in_future"})


def networks(value) -> tuple:
    """``TRUSTED_PROXIES``: CIDRs (a comma list or a YAML list); a bad one stops start-up."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in comma_list(value))


def _address(text: str):
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_key(address) -> str:
    """An IPv4 address as itself; an IPv6 address by its /64, which one host holds whole."""
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_address(request, trusted: tuple = ()) -> str:
    """Who is asking: the socket peer, unless the peer is a trusted proxy; then the
    nearest address in X-Forwarded-For, read from the right, that is not a trusted proxy
    (what is further left was written by the client, and may be anything)."""
    peer = _address(request.remote_addr or "")
    if peer is None:
        return str(request.remote_addr or "unknown")
    client = peer
    if trusted and any(peer in network for network in trusted):
        hops = ",".join(request.headers.getlist("X-Forwarded-For")).split(",")
        for hop in reversed([h for h in hops if h.strip()]):
            address = _address(hop)
            if address is None:
                break  # not an address a proxy wrote: stay with the last one that was
            client = address
            if not any(address in network for network in trusted):
                break
    return address_key(client)


class FailureLimiter:
    """Failed authentications per address: a token bucket of ``limit`` that refills over
    ``window_seconds``. Buckets of addresses that stopped failing are dropped once full
    again, and at most ``max_addresses`` are kept (the fullest go first)."""

    def __init__(self, limit: int, window_seconds: float, clock=time.monotonic,
                 max_addresses: int = 100_000):
        if limit < 1 or window_seconds <= 0:
            raise ValueError("FAILED_AUTH_LIMIT must be >= 1 and the window > 0")
        self.limit, self.rate = limit, limit / window_seconds
        self.clock, self.max_addresses = clock, max_addresses
        self.buckets: dict[str, TokenBucket] = {}
        self.lock = Lock()

    def fail(self, address: str) -> float:
        """Count a failure: 0 while under the limit, else the seconds until the next."""
        now = self.clock()
        with self.lock:
            bucket = self.buckets.get(address)
            if bucket is None:
                if len(self.buckets) >= self.max_addresses:
                    self._prune(now)
                bucket = self.buckets[address] = TokenBucket(self.rate, self.limit, now)
            return bucket.take(now)

    def _prune(self, now: float) -> None:
        def level(item):
            bucket = item[1]
            return min(bucket.capacity, bucket.tokens + (now - bucket.updated) * bucket.rate)

        kept = sorted(self.buckets.items(), key=level)[: self.max_addresses // 2]
        self.buckets = {address: bucket for address, bucket in kept
                        if level((address, bucket)) < bucket.capacity}


class RateLimiter(DependencyProvider):
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.buckets: dict[str, TokenBucket] = {}
        self.lock = Lock()

    def setup(self):
        config = self.container.config
        self.rate = float(config.get("RATE_LIMIT_PER_MINUTE", 1200)) / 60
        self.burst = int(config.get("RATE_LIMIT_BURST", 100))

    def get_dependency(self, worker_ctx):
        return self

    @staticmethod
    def key_for(identity: dict) -> str:
        if identity.get("agency"):
            return f"agency:{identity['agency']}"
        return f"{identity['kind']}:{identity['issuer']}|{identity['sub']}"

    def take(self, identity: dict) -> None:
        key, now = self.key_for(identity), self.clock()
        with self.lock:
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(self.rate, self.burst, now)
            wait = bucket.take(now)
        if wait:
            error = TooManyRequests("too many requests from your agency; slow down")
            error.retry_after_seconds = max(1, math.ceil(wait))
            raise error


class CallerLabels(DependencyProvider):
    """The caller's kind on the request's HTTP metrics (``agency_type``, stafett.metrics):
    the agency's type for staff and agency systems, ``citizen`` for citizens; never who.

    A rate-limited or refused request is labelled before any RPC resolves its actor, with
    the type this gateway learnt when the same agency's actor was last resolved
    (``unknown`` until then)."""

    #: agencies remembered (organisation number -> type); a platform has hundreds
    MAX_AGENCIES = 10_000

    def __init__(self):
        self.types: dict[str, str] = {}

    def get_dependency(self, worker_ctx):
        return self

    def identified(self, request, identity: dict) -> None:
        if identity.get("agency"):
            label_request(request.environ, self.types.get(identity["agency"], "unknown"))
        else:
            label_request(request.environ, identity.get("kind") or "unknown")

    def resolved(self, request, identity: dict, actor) -> None:
        agency_type = getattr(actor, "agency_type", None)
        if identity.get("agency") and agency_type:
            if len(self.types) < self.MAX_AGENCIES or identity["agency"] in self.types:
                self.types[identity["agency"]] = agency_type
            label_request(request.environ, agency_type)
        else:
            label_request(request.environ, actor.kind if not identity.get("agency")
                          else "unknown")
