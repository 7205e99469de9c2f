"""The gateway: authenticates, builds the actor, forwards to the owning service.

It holds no domain data (only the web client's sessions and Idempotency-Key records,
gateway/models.py) and decides no data access: the service that owns the data does.

Its routes are plain functions listed in two tables (gateway/routes/table.py, the API
and the gateway's documents; gateway/web/routes/table.py, the web client's pages). nameko
finds entrypoints as decorated methods of the service class, so this module makes one
method per row, named after the row's function: it builds the request's context
(gateway/context.py) and calls the function.
"""
from __future__ import annotations

from pathlib import Path

from gateway.access import Authenticator, CallerLabels, RateLimiter
from gateway.actor_cache import ActorCache
from gateway.agency import AgencyScope
from gateway.context import RequestContext
from gateway.http import ApiEntrypoint
from gateway.idempotency import RequestKeyContext
from gateway.routes.route import API, PAGE, Route
from gateway.routes.table import ROUTES as API_ROUTES
from gateway.web.context import WebContext
from gateway.web.oidc import OidcClients
from gateway.web.pages import PageEntrypoint
from gateway.web.routes.table import PAGES
from gateway.web.session import WebSessions
from stafett.actor import ActorContext
from stafett.db import Database
from stafett.errors import Forbidden, NotFound
from stafett.events import broadcast_event_handler
from stafett.rpc import TimeoutRpcProxy
from stafett.service import ServiceBase
from stafett.web import HttpEntrypoint

#: every route the gateway serves: the API, its documents and the web client's pages
ROUTES = API_ROUTES + PAGES


class GatewayService(ServiceBase):
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

    @broadcast_event_handler("consent", "consent.*")
    def on_consent_event(self, envelope: dict) -> None:
        """Every gateway replica hears every consent event: one that may change an actor
        empties this replica's actor cache at once."""
        self.actor_cache.invalidate(str((envelope or {}).get("type", "")))


def entrypoint(route: Route):
    """The nameko entrypoint method that serves ``route``: the caller authenticated
    (unless the route is public), then ``route.fn(ctx, **values)``."""
    if route.kind == PAGE:
        def serve(self, request, **values):
            ctx = WebContext(self, request, ROUTES)
            try:
                if not route.public:
                    ctx.authenticate()  # from the session; a login first without one
                return route.fn(ctx, **values)
            except (NotFound, Forbidden):
                # a log that does not exist, one the person never had or no longer has
                # access to, a part they may not see: the one not-found page, rendered here
                # so that it keeps the person's navigation; a stranger cannot tell from it
                # that a log exists (forms catch a refusal of what was typed themselves)
                return ctx.not_found()
        register = PageEntrypoint.decorator(route.method, route.url, **route.options)
    else:
        def serve(self, request, **values):
            ctx = RequestContext(self, request, ROUTES)
            if not route.public:
                ctx.authenticate()  # the bearer token
            return route.fn(ctx, **values)
        register = (ApiEntrypoint.decorator(route.method, route.url, scope=route.scope)
                    if route.kind == API else HttpEntrypoint.decorator(route.method, route.url))
    serve.__name__ = serve.__qualname__ = route.name
    serve.__doc__ = route.fn.__doc__
    serve.route = route
    return register(serve)


for _route in ROUTES:
    if hasattr(GatewayService, _route.name):
        raise TypeError(f"two routes (or a route and the service) named {_route.name}")
    setattr(GatewayService, _route.name, entrypoint(_route))
del _route
