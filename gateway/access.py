"""Who is calling, what they may call, and how often: the gateway's front door.

- ``Authenticator`` verifies bearer tokens (gateway/auth.py), requires the configured
  assurance level (``acr``) for personal data, and checks that an agency system's token
  carries the scope the route demands.
- ``RateLimiter`` keeps a token bucket per agency (per person for citizens), so one
  agency's burst cannot starve the others; over the limit answers 429 with Retry-After.
  Buckets live in each gateway replica: the limit is per replica.
"""
from __future__ import annotations

import math
import re
import time
from threading import Lock

from nameko.extensions import DependencyProvider

from gateway.auth import TokenVerifier
from gateway.identity import identity_from
from stafett.config import comma_list
from stafett.devissuer import dev_issuer_configs
from stafett.errors import Forbidden, TooManyRequests, Unauthorized
from stafett.metrics import AUTH_REJECTIONS
from stafett.web import BEARER_CHALLENGE

SCOPE_ENVIRON_KEY = "stafett.required_scope"


class Authenticator(DependencyProvider):
    """Verifies bearer tokens against the configured issuers (and the dev issuer if on)."""

    def setup(self):
        config = self.container.config
        issuers = list(config.get("ISSUERS") or [])
        if str(config.get("DEV_ISSUER", "false")).lower() == "true":
            issuers += dev_issuer_configs(config.get("DEV_ISSUER_DIR", "var"))
        self.verifier = TokenVerifier.from_config(issuers)
        self.max_body = int(config.get("MAX_BODY_BYTES", 65536))

    def get_dependency(self, worker_ctx):
        return self

    def identity(self, request) -> dict:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send a bearer token in the Authorization header")
        try:
            verified = self.verifier.verify(token.strip())
            identity = identity_from(verified)
        except Unauthorized as refused:
            # forged, expired or foreign tokens, counted by reason for the operators
            AUTH_REJECTIONS.labels(reason=rejection_reason(refused)).inc()
            refused.challenge = f'{BEARER_CHALLENGE}, error="invalid_token"'
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
