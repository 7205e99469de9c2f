"""The actor: who is asking, as established by the gateway.

The gateway verifies the token, resolves the person and puts the actor into nameko
context data (``worker_ctx.data["actor"]``), which RPC proxies forward as an AMQP header
inside the cluster. It is never read from a client's HTTP headers. The actor carries
pseudonymous ids only: no names, no national identity numbers.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from nameko.extensions import DependencyProvider

CONTEXT_KEY = "actor"

STAFF, CITIZEN, SYSTEM, SERVICE = "staff", "citizen", "system", "service"


@dataclass(frozen=True)
class Actor:
    kind: str                           # staff | citizen | system | service
    person_id: str | None = None        # the parties registry's id of the person, if known
    agency: str | None = None           # acting agency's organisation number (staff, system)
    agency_type: str | None = None
    roles: tuple[str, ...] = field(default_factory=tuple)
    scopes: tuple[str, ...] = field(default_factory=tuple)
    acr: str | None = None
    client: str | None = None           # an agency system's client (its token's client_id)
    #: a citizen's login meets the assurance level the consent service requires of them to
    #: see their case (its CONSENT_CITIZEN_ACR, CONSENT_CHILD_ACR): consent's decision,
    #: made in ``resolve_actor``; the other services use this flag, never ``acr`` itself
    assured: bool = False

    @property
    def ref(self) -> str:
        """What events and access records name as the actor."""
        if self.person_id:
            return f"person:{self.person_id}"
        if self.kind == SYSTEM and self.agency:
            suffix = f"/{self.client}" if self.client else ""
            return f"system:{self.agency}{suffix}"
        return self.kind

    def to_context(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_context(cls, raw) -> "Actor | None":
        if not raw:
            return None
        data = json.loads(raw) if isinstance(raw, (str, bytes)) else dict(raw)
        data["roles"] = tuple(data.get("roles") or ())
        data["scopes"] = tuple(data.get("scopes") or ())
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


#: the actor services use for their own timers and event handlers
SYSTEM_ACTOR = Actor(kind=SERVICE)


class CurrentActor(DependencyProvider):
    """``self.actor``: the Actor from context data, or None when the call carried none."""

    def get_dependency(self, worker_ctx):
        return Actor.from_context(worker_ctx.data.get(CONTEXT_KEY))


class ActorContext(DependencyProvider):
    """Gateway side: ``self.actor_context.set(actor)`` before making RPC calls."""

    class _Setter:
        def __init__(self, worker_ctx):
            self._worker_ctx = worker_ctx

        def set(self, actor: Actor) -> None:
            self._worker_ctx.data[CONTEXT_KEY] = actor.to_context()

        def clear(self) -> None:
            self._worker_ctx.data.pop(CONTEXT_KEY, None)

    def get_dependency(self, worker_ctx):
        return self._Setter(worker_ctx)
