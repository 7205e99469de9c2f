"""The actor a credential resolved to, kept for a short while in each gateway replica.

``consent.resolve_actor`` (and, for citizens, ``resolve_citizen``) ran on every request:
two RPCs before any work. The actor is a function of the verified identity and the consent
service's registry (who is a registered child or guardian, which agencies exist, the staff
member's person id), so each replica keeps it per credential (the bearer token, or the
web session) for ``ACTOR_CACHE_SECONDS`` (60 s) or the credential's remaining lifetime,
whichever is shorter, and drops every entry at once when the consent service says
something changed that an actor may depend on (``INVALIDATING``, received by every
replica: ``gateway.service.GatewayService.on_consent_event``).

Access itself is never cached here: the actor says who is asking, and the service that
owns the data decides on every call what they may see (a withdrawn consent is enforced
by the logs service on the very next request, cache or no cache).

A resolution that was in flight while an invalidation arrived is not stored (the
``generation`` check), so an event can never be overtaken by an older answer.
"""
from __future__ import annotations

import hashlib
import time

from cachetools import TLRUCache
from nameko.extensions import DependencyProvider

#: the consent events after which a cached actor may be wrong (or a credential's access
#: has narrowed, which the owning services enforce anyway): every entry goes. The event
#: types are the wire contract (services/consent/events.py; the gateway imports no service
#: code, tests/unit/test_layering.py): tests/unit/test_actor_cache.py checks the names
INVALIDATING = frozenset({
    "consent.withdrawn", "consent.expired", "consent.superseded",
    "consent.child_registered", "consent.guardianship_changed", "consent.protection_changed",
})


def credential_key(kind: str, credential: str) -> str:
    """What an entry is filed under: a digest, so no token is kept as a key."""
    return hashlib.sha256(f"{kind}\0{credential}".encode()).hexdigest()


class ActorCache(DependencyProvider):
    """``self.actor_cache``: one cache per gateway container, shared by its workers."""

    def __init__(self, clock=time.monotonic, wall_clock=time.time):
        self.clock = clock
        self.wall_clock = wall_clock

    def setup(self):
        config = self.container.config
        self.seconds = float(config.get("ACTOR_CACHE_SECONDS", 60))
        self.entries = TLRUCache(maxsize=int(config.get("ACTOR_CACHE_SIZE", 10000)),
                                 ttu=lambda key, value, now: value[1], timer=self.clock)
        self.generation = 0
        self.hits = self.misses = self.invalidations = 0

    def get_dependency(self, worker_ctx):
        return self

    def get(self, key: str | None):
        if key is None or self.seconds <= 0:
            return None
        entry = self.entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        return entry[0]

    def put(self, key: str | None, actor, generation: int, expires_at: float | None) -> None:
        """Keep ``actor`` until ``expires_at`` (the credential's expiry, epoch seconds) or
        ``ACTOR_CACHE_SECONDS``, whichever comes first; not at all if an invalidation came
        since ``generation`` was read, or the credential expires within a second."""
        if key is None or self.seconds <= 0 or generation != self.generation:
            return
        lifetime = self.seconds
        if expires_at is not None:
            lifetime = min(lifetime, float(expires_at) - self.wall_clock())
        if lifetime < 1:
            return
        self.entries[key] = (actor, self.clock() + lifetime)

    def invalidate(self, event_type: str) -> bool:
        """Drop every entry if ``event_type`` may change an actor; True if it did."""
        if event_type not in INVALIDATING:
            return False
        self.generation += 1
        self.invalidations += 1
        self.entries.clear()
        return True

    def __len__(self) -> int:
        self.entries.expire()
        return len(self.entries)
