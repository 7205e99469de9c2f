"""What a route function is given: one ``RequestContext`` per request.

A route is a plain function ``def get_log(ctx, log_id)`` (gateway/routes/, listed in
gateway/routes/table.py); the gateway service builds its context from the worker nameko
made for the request (gateway/service.py) and authenticates the caller before the route
runs (``ctx.authenticate()``, once; ``ctx.actor``, ``ctx.identity``). The context holds
the request, the RPC proxies to the owning services (``ctx.logs``, ``ctx.consent``, ...)
and the HTTP conventions every route shares: the JSON body, paging, If-Match. Nothing is
passed between routes through the worker: what a route needs, it asks its context for.
"""
from __future__ import annotations

import re
from dataclasses import replace

from gateway.access import TOKEN_EXPIRES_KEY
from gateway.actor_cache import credential_key
from gateway.http import MAX_IF_MATCH, json_body, raw_body
from stafett.actor import STAFF, SYSTEM, Actor
from stafett.errors import BadRequest, Forbidden, PreconditionRequired
from stafett.paging import MAX_CURSOR, MAX_LIMIT, not_ours, page

ETAG = re.compile(r'(?:W/)?"?([0-9]{1,18})"?', re.ASCII)
LIMIT = re.compile(r"[0-9]{1,4}", re.ASCII)


def _proxy(service: str) -> property:
    """The worker's RPC proxy to ``service`` (read through the worker, so that the
    broker-access scan sees each call as ``ctx.<service>.<method>``)."""
    return property(lambda ctx: getattr(ctx._worker, service))


class RequestContext:
    """One request to the gateway, and the worker's dependencies it may use."""

    def __init__(self, worker, request, routes=()):
        self.request = request
        self._worker = worker
        #: the table the serving class was built from (/openapi.json is generated from it)
        self.routes = routes
        self.config = worker.config
        self.db = worker.db
        self.request_key_context = worker.request_key_context
        self.actor: Actor | None = None
        #: the verified token's claims the gateway keeps (issuer, sub, ...), once known
        self.identity: dict | None = None

    # -- the owning services (each call carries the actor and the request key) --------------

    consent = _proxy("consent")
    logs = _proxy("logs")
    handover = _proxy("handover")
    notifications = _proxy("notifications")

    # -- who is calling -----------------------------------------------------------------------

    def authenticate(self) -> Actor:
        """The verified caller as an actor, set for every RPC this request makes (once)."""
        if self.actor is not None:
            return self.actor
        worker, request = self._worker, self.request
        identity = self.identity = worker.auth.identity(request)
        worker.caller_labels.identified(request, identity)
        worker.rate_limit.take(identity)
        token = request.headers["Authorization"].partition(" ")[2].strip()
        actor = self.resolved_actor(identity, credential_key("token", token),
                                    request.environ.get(TOKEN_EXPIRES_KEY))
        worker.caller_labels.resolved(request, identity, actor)
        return self.act_as(actor)

    def act_as(self, actor: Actor) -> Actor:
        """``actor`` is the caller: every RPC of this request carries it."""
        self.actor = actor
        self._worker.actor_context.set(actor)
        return actor

    def resolved_actor(self, identity: dict, credential: str | None = None,
                       expires_at: float | None = None) -> Actor:
        """The actor the consent service resolves the verified identity to (API and web),
        kept per ``credential`` (gateway/actor_cache.py) until ``expires_at`` at the latest.
        A citizen's national identity number goes only to ``consent.resolve_citizen``;
        ``resolve_actor`` gets the person id it gave."""
        worker = self._worker
        worker.agency_scope.admit(identity)  # an agency's own gateway: that agency only
        cached = worker.actor_cache.get(credential)
        if cached is not None:
            return cached
        generation = worker.actor_cache.generation
        actor = self._resolve(identity)
        worker.actor_cache.put(credential, actor, generation, expires_at)
        return actor

    def _resolve(self, identity: dict) -> Actor:
        if "pid" in identity:
            pid, identity = identity["pid"], {k: v for k, v in identity.items() if k != "pid"}
            identity["person_id"] = self.consent.resolve_citizen(
                "login", {"national_id": pid})["person_id"]
        actor = Actor.from_context(self.consent.resolve_actor(identity))
        if actor.kind == SYSTEM and identity.get("client"):
            actor = replace(actor, client=identity["client"])  # named in access records
        if actor.kind in (STAFF, SYSTEM) and actor.agency_type is None:
            # a valid organisation number, but not one of the agencies on this platform
            raise Forbidden("your organisation is not an agency on this platform")
        return actor

    # -- what the request carries ---------------------------------------------------------------

    @property
    def max_body(self) -> int:
        return self._worker.auth.max_body

    def body(self) -> dict:
        """The body as a JSON object (gateway/http.py's limits)."""
        return json_body(self.request, self.max_body)

    def raw_body(self) -> bytes:
        return raw_body(self.request, self.max_body)

    def arg(self, name: str, default=None):
        """A query parameter, as sent (None or ``default`` when absent)."""
        return self.request.args.get(name, default)

    def if_match_header(self) -> str | None:
        """The If-Match header, bounded: at most ``MAX_IF_MATCH`` visible ASCII characters
        (400 otherwise); None if absent."""
        value = self.request.headers.get("If-Match")
        if not value:
            return None
        value = value.strip()
        if len(value) > MAX_IF_MATCH or not value.isascii() or not value.isprintable():
            raise BadRequest("If-Match must be an ETag we gave out")
        return value

    def if_match(self) -> int | None:
        """The version a client last read, from ``If-Match: "<version>"`` (None if absent);
        only digits of ours, never int() of whatever was sent."""
        value = self.if_match_header()
        if value is None:
            return None
        match = ETAG.fullmatch(value)
        if match is None:
            raise BadRequest("If-Match must be an ETag we gave out")
        return int(match.group(1))

    def required_if_match(self) -> int:
        """For updates whose service leaves the version optional to internal callers: API
        clients always send the version they read (428 without it)."""
        version = self.if_match()
        if version is None:
            raise PreconditionRequired("send If-Match with the version (ETag) you last read")
        return version

    def paging(self) -> dict:
        """``limit`` (digits, 1 to MAX_LIMIT) and ``cursor`` (at most MAX_CURSOR visible
        ASCII characters; the owning service decodes it), 400 otherwise."""
        raw = self.request.args.get("limit", "50").strip()
        if not LIMIT.fullmatch(raw):
            raise BadRequest("limit must be a number")
        limit = int(raw)
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        cursor = self.request.args.get("cursor") or None
        if cursor is not None and (len(cursor) > MAX_CURSOR or not cursor.isascii()
                                   or not cursor.isprintable()):
            raise not_ours()
        return {"limit": limit, "cursor": cursor}

    def listing(self, items: list) -> dict:
        """One page of a list a service gives whole, with the same opaque cursor as the
        lists their services page in the database (every list of the logs service,
        handovers, the inbox, webhook deliveries). What bounds each list given whole is
        docs/architecture.md, "The public API contract"."""
        return page(items, **self.paging())
