"""One row of the gateway's route table (gateway/routes/table.py, gateway/web/routes/table.py).

A ``Route`` names a plain function ``fn(ctx, **path_values)`` (gateway/context.py), called
once ``ctx.authenticate()`` has found the caller (unless the row is ``public``), and how
it is served: ``api`` (JSON under /api/v1, problem+json errors, in the OpenAPI document with
its contract), ``http`` (a document of the gateway's own, e.g. /openapi.json) or ``page``
(the web client's HTML, gateway/web/pages.py). gateway/service.py turns each row into a
nameko entrypoint; gateway/openapi.py documents the ``api`` rows. The row's function name
is its ``operationId`` and the method name on the service, so it is unique.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

API_PREFIX = "/api/v1"
API, HTTP, PAGE = "api", "http", "page"


@dataclass(frozen=True)
class Contract:
    """What the OpenAPI document says about a route (gateway/openapi.py): schemas by their
    component name, the success status, and the HTTP conventions the route follows."""
    summary: str
    request: str | None = None         # request body schema
    response: str | tuple | None = None  # success body schema (of each item, for a listing)
    status: int = 200
    listing: bool = False              # {"items": [...], "next_cursor"}, ?limit and ?cursor
    paged: bool = False                # ?limit and ?cursor on a page schema of its own
    if_match: bool = False             # an update: ETag out, If-Match in (428 / 412)
    etag: bool = False                 # the response carries an ETag
    media_type: str = "application/json"
    query: tuple = ()                  # further query parameters (OpenAPI parameter objects)


@dataclass(frozen=True, eq=False)
class Route:
    method: str                 # "GET", or "GET,POST" for a page with a form
    path: str                   # a werkzeug rule; API paths without API_PREFIX
    fn: Callable
    kind: str = API
    #: what an agency system's token must carry to call this route (API routes without
    #: one are closed to agency systems: gateway/access.py)
    scope: str | None = None
    contract: Contract | None = None
    tags: tuple[str, ...] = ()
    #: served without authenticating first (the gateway's documents, the login pages);
    #: every other route's caller is authenticated before its function runs
    public: bool = False
    options: dict = field(default_factory=dict)  # further entrypoint arguments

    @property
    def name(self) -> str:
        """The function's name: the service's method name and the ``operationId``."""
        return self.fn.__name__

    @property
    def url(self) -> str:
        return API_PREFIX + self.path if self.kind == API else self.path

    @property
    def openapi_path(self) -> str:
        return self.path.replace("<", "{").replace(">", "}")

    @property
    def idempotent(self) -> bool:
        """Takes an Idempotency-Key (``@idempotent``, gateway/idempotency.py)."""
        return getattr(self.fn, "takes_idempotency_key", False)


def resource_of(fn: Callable) -> str:
    """The resource a route function belongs to: its module (gateway/routes/<resource>.py)."""
    return fn.__module__.rpartition(".")[2]


def api(method: str, path: str, fn: Callable, summary: str, *, scope: str | None = None,
        tags: tuple[str, ...] | None = None, request: str | None = None,
        response: str | tuple | None = None, status: int = 200, listing: bool = False,
        paged: bool = False, if_match: bool = False, etag: bool | None = None,
        media_type: str = "application/json", query=()) -> Route:
    """A public API route and its contract (``etag`` defaults to ``if_match``; a listing
    is paged)."""
    contract = Contract(summary, request, response, status, listing, paged or listing,
                        if_match, if_match if etag is None else etag, media_type,
                        tuple(query))
    return Route(method, path, fn, API, scope, contract,
                 tuple(tags) if tags is not None else (resource_of(fn),))


def http(method: str, path: str, fn: Callable) -> Route:
    """A document the gateway serves itself, to anyone (not in the OpenAPI document)."""
    return Route(method, path, fn, HTTP, public=True)


def page(method: str, path: str, fn: Callable, public: bool = False, **options) -> Route:
    """A page of the web client; ``public``: also for someone not logged in
    (``serves_unknown_paths=True``: the not-found page)."""
    return Route(method, path, fn, PAGE, public=public, options=options)


def api_routes(routes) -> list[tuple[str, str, str, Route]]:
    """``(METHOD, /path/{param}, operationId, route)`` of every public API route in
    ``routes``, sorted by path: what the OpenAPI document and the authorization matrix
    cover."""
    found = [(route.method, route.openapi_path, route.name, route)
             for route in routes if route.kind == API]
    return sorted(found, key=lambda row: (row[1], row[0]))
