"""The gateway: authenticates, builds the actor, forwards to the owning service.

It holds no domain data (only the web client's sessions and Idempotency-Key records,
gateway/models.py) and decides no data access: the service that owns the data does.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from werkzeug.wrappers import Response

from gateway.access import TOKEN_EXPIRES_KEY, Authenticator, CallerLabels, RateLimiter
from gateway.actor_cache import ActorCache, credential_key
from gateway.agency import AgencyScope
from gateway.idempotency import RequestKeyContext
from gateway.http import MAX_IF_MATCH, api, json_body, raw_body
from gateway.openapi import openapi_document
from gateway.problems import problems_page
from gateway.routes.audit import AuditRoutes
from gateway.routes.consent import ConsentRoutes
from gateway.routes.handover import HandoverRoutes
from gateway.routes.logs import LogsRoutes
from gateway.routes.notifications import NotificationsRoutes
from gateway.web.oidc import OidcClients
from gateway.web.routes import WebRoutes
from gateway.web.session import WebSessions
from stafett.actor import STAFF, SYSTEM, Actor, ActorContext
from stafett.db import Database
from stafett.errors import BadRequest, Forbidden, NotFound, PreconditionRequired
from stafett.events import broadcast_event_handler
from stafett.paging import MAX_CURSOR, MAX_LIMIT, not_ours, page
from stafett.rpc import TimeoutRpcProxy
from stafett.service import ServiceBase
from stafett.web import http


APIDOCS = Path(__file__).parent / "apidocs"
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
               "init.js": "text/javascript"}
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'")

ETAG = re.compile(r'(?:W/)?"?([0-9]{1,18})"?', re.ASCII)
LIMIT = re.compile(r"[0-9]{1,4}", re.ASCII)


class GatewayService(ConsentRoutes, LogsRoutes, HandoverRoutes, NotificationsRoutes,
                     AuditRoutes, WebRoutes, ServiceBase):
    name = "gateway"

    # the web client's server-side sessions (gateway/web, docs/web.md); no domain data
    db = Database(Path(__file__).parent / "migrations")
    web_sessions = WebSessions()
    oidc = OidcClients()

    auth = Authenticator()
    rate_limit = RateLimiter()
    caller_labels = CallerLabels()
    agency_scope = AgencyScope()
    actor_context = ActorContext()
    request_key_context = RequestKeyContext()  # stafett.request_key on every RPC
    actor_cache = ActorCache()
    consent = TimeoutRpcProxy("consent")
    logs = TimeoutRpcProxy("logs")
    handover = TimeoutRpcProxy("handover")
    notifications = TimeoutRpcProxy("notifications")

    def _authenticate(self, request) -> Actor:
        """The verified caller as an actor, set for every RPC this worker makes (once)."""
        if getattr(self, "_actor", None) is not None:
            return self._actor
        identity = self._identity = self.auth.identity(request)
        self.caller_labels.identified(request, identity)
        self.rate_limit.take(identity)
        token = request.headers["Authorization"].partition(" ")[2].strip()
        actor = self._actor = self._resolved_actor(
            identity, credential_key("token", token), request.environ.get(TOKEN_EXPIRES_KEY))
        self.caller_labels.resolved(request, identity, actor)
        self.actor_context.set(actor)
        return actor

    def _resolved_actor(self, identity: dict, credential: str | None = None,
                        expires_at: float | None = None) -> Actor:
        """The actor the consent service resolves the verified identity to (API and web),
        kept per ``credential`` (gateway/actor_cache.py) until ``expires_at`` at the latest.
        A citizen's national identity number goes only to ``consent.resolve_citizen``;
        ``resolve_actor`` gets the person id it gave."""
        self.agency_scope.admit(identity)  # an agency's own gateway: that agency only
        cached = self.actor_cache.get(credential)
        if cached is not None:
            return cached
        generation = self.actor_cache.generation
        actor = self._resolve(identity)
        self.actor_cache.put(credential, actor, generation, expires_at)
        return actor

    @broadcast_event_handler("consent", "consent.*")
    def on_consent_event(self, envelope: dict) -> None:
        """Every gateway replica hears every consent event: one that may change an actor
        empties this replica's actor cache at once."""
        self.actor_cache.invalidate(str((envelope or {}).get("type", "")))

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

    def _body(self, request) -> dict:
        return json_body(request, self.auth.max_body)

    def _raw_body(self, request) -> bytes:
        return raw_body(request, self.auth.max_body)

    @staticmethod
    def _if_match_header(request) -> str | None:
        """The If-Match header, bounded: at most ``MAX_IF_MATCH`` visible ASCII characters
        (400 otherwise); None if absent."""
        value = request.headers.get("If-Match")
        if not value:
            return None
        value = value.strip()
        if len(value) > MAX_IF_MATCH or not value.isascii() or not value.isprintable():
            raise BadRequest("If-Match must be an ETag we gave out")
        return value

    def _if_match(self, request) -> int | None:
        """The version a client last read, from ``If-Match: "<version>"`` (None if absent);
        only digits of ours, never int() of whatever was sent."""
        value = self._if_match_header(request)
        if value is None:
            return None
        match = ETAG.fullmatch(value)
        if match is None:
            raise BadRequest("If-Match must be an ETag we gave out")
        return int(match.group(1))

    def _required_if_match(self, request) -> int:
        """For updates whose service leaves the version optional to internal callers: API
        clients always send the version they read (428 without it)."""
        version = self._if_match(request)
        if version is None:
            raise PreconditionRequired("send If-Match with the version (ETag) you last read")
        return version

    @staticmethod
    def _paging(request) -> dict:
        """``limit`` (digits, 1 to MAX_LIMIT) and ``cursor`` (at most MAX_CURSOR visible
        ASCII characters; the owning service decodes it), 400 otherwise."""
        raw = request.args.get("limit", "50").strip()
        if not LIMIT.fullmatch(raw):
            raise BadRequest("limit must be a number")
        limit = int(raw)
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        cursor = request.args.get("cursor") or None
        if cursor is not None and (len(cursor) > MAX_CURSOR or not cursor.isascii()
                                   or not cursor.isprintable()):
            raise not_ours()
        return {"limit": limit, "cursor": cursor}

    def _listing(self, request, items: list) -> dict:
        """One page of a list a service gives whole, with the same opaque cursor as the
        lists their services page in the database (every list of the logs service,
        handovers, the inbox, webhook deliveries). What bounds each list given whole is
        docs/architecture.md, "The public API contract"."""
        return page(items, **self._paging(request))

    # -- documents --------------------------------------------------------------------------

    @http("GET", "/openapi.json")
    def openapi(self, request):
        return Response(json.dumps(openapi_document(GatewayService)),
                        content_type="application/json")

    @http("GET", "/api-docs")
    def api_docs(self, request):
        """A readable page for /openapi.json, from vendored Swagger UI assets (no CDN)."""
        html = (APIDOCS / "index.html").read_text(encoding="utf-8")
        return Response(html, content_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": DOCS_CSP})

    @http("GET", "/problems")
    def problems(self, request):
        """Every error code (problem+json ``type`` is ``<PUBLIC_URL>/problems#<code>``)."""
        return Response(problems_page(), content_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    @http("GET", "/api-docs/assets/<name>")
    def api_docs_asset(self, request, name):
        if name not in DOCS_ASSETS:
            raise NotFound("no such asset")
        return Response((APIDOCS / name).read_bytes(), content_type=DOCS_ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})

    # -- who am I ---------------------------------------------------------------------------

    @api("GET", "/me", "The authenticated actor: kind, person, agency, roles and scopes",
         response="Me")
    def me(self, request):
        actor = self._authenticate(request)
        return {"kind": actor.kind, "person_id": actor.person_id, "agency": actor.agency,
                "agency_type": actor.agency_type, "roles": list(actor.roles),
                "scopes": list(actor.scopes)}
