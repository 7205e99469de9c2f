"""HTTP plumbing shared by every component: nameko's web server, answering problem+json.

nameko's own server answers an unknown path or method with werkzeug's HTML page; ours
answers RFC 9457 problem+json like every other error (outside ``/api/``, an entrypoint
marked ``serves_unknown_paths`` answers instead: the web client's own page), and adds the
security headers every response should carry (``Strict-Transport-Security`` too when the
component's ``PUBLIC_URL`` is https). All HTTP entrypoints in a container must use this
``http`` (one server per port).

Path parameters are ids: a value longer than ``MAX_PATH_VALUE`` or with any character
outside ``PATH_VALUE`` answers 404 as a missing object would, before any worker runs, so
a 10 KB or NUL-laden "id" never reaches a service or a database.
"""
from __future__ import annotations

import json
import re
import socket
import time

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from stafett import errors, metrics
from stafett.errors import ServiceUnavailable, StafettError

PROBLEM_JSON = "application/problem+json"
MAX_HEADER_LINE = 16 * 1024
#: eventlet answers a longer request line with a bare 414 before our code runs; below it,
#: an over-long id, cursor or limit gets our own 404/400 problem+json
MAX_REQUEST_LINE = 32 * 1024

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
#: HSTS when served as https (RFC 6797): two years, subdomains included; browsers ignore
#: it over plain http, and we never send it when PUBLIC_URL is http
HSTS = "max-age=63072000; includeSubDomains"

#: what an id in a path may be (uuids, organisation numbers, asset and provider names)
MAX_PATH_VALUE = 128
PATH_VALUE = re.compile(r"[A-Za-z0-9._~:@/+-]{1,%d}" % MAX_PATH_VALUE)


BEARER_CHALLENGE = 'Bearer realm="stafett"'


def json_text(payload) -> str:
    """JSON as UTF-8 text; with ASCII escapes if something in it (a lone surrogate echoed
    back in an error) has no UTF-8 form, so an answer can always be sent."""
    text = json.dumps(payload, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload, ensure_ascii=True)
    return text


#: the member of an RPC result that carries its whole body as JSON text, made once by the
#: service that owns it: the gateway sends that text as it is (gateway.http.json_result)
#: instead of decoding a large view from the broker's message and encoding it again
JSON_BODY = "$json"


def preencoded(payload: dict, *keep: str) -> dict:
    """``payload`` as JSON text under ``JSON_BODY``, with the members named in ``keep``
    beside it for the gateway to read (the version for an ETag)."""
    return {JSON_BODY: json_text(payload), **{k: payload[k] for k in keep if k in payload}}


def body_text(payload) -> str:
    """The JSON text of a result: the service's own text of a ``preencoded`` one."""
    if isinstance(payload, dict) and isinstance(payload.get(JSON_BODY), str):
        return payload[JSON_BODY]
    return json_text(payload)


def problem_response(error: StafettError, headers: dict | None = None) -> Response:
    headers = dict(headers or {})
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    if error.status == 401:  # RFC 6750: how to authenticate (and why a token failed)
        headers["WWW-Authenticate"] = getattr(error, "challenge", None) or BEARER_CHALLENGE
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return Response(json_text(error.to_problem()), status=error.status,
                    headers=headers, content_type=PROBLEM_JSON)


def hsts_for(public_url) -> str | None:
    """The Strict-Transport-Security value for a component served at ``public_url``."""
    return HSTS if str(public_url or "").strip().lower().startswith("https://") else None


class ProblemWsgiApp(WsgiApp):
    def __init__(self, server):
        super().__init__(server)
        config = server.container.config
        self.transport_security = hsts_for(config.get("PUBLIC_URL"))
        errors.configure_problem_page(config.get("PUBLIC_URL"))
        self.service = server.container.service_name
        # a gateway that serves one agency names it on its own metrics (and only there)
        self.agency = str(config.get("AGENCY_ORG_NUMBER") or "").strip()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request = Request(environ, shallow=True)
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            # liveness in the server's own greenthread: never waits on a worker slot
            # (all of them may be waiting on a dead service) and makes no RPC
            response = Response(json_text({"status": "ok", "service": self.service}),
                                content_type="application/json")
            for header, value in SECURITY_HEADERS.items():
                response.headers.setdefault(header, value)
            return response(environ, start_response)
        adapter = self.url_map.bind_to_environ(environ)
        route = None
        try:
            provider, values = adapter.match()
            route = getattr(provider, "url", None)
            request.path_values = values
            if all(PATH_VALUE.fullmatch(str(value)) for value in values.values()):
                response = provider.handle_request(request)
            else:  # no id looks like that: as missing as any other, in the route's own form
                fallback = self._unknown_paths(request)
                if fallback is not None and type(fallback) is type(provider):
                    request.path_values = {}
                    response = fallback.handle_request(request)
                else:
                    response = provider.response_from_exception(
                        errors.NotFound("no such resource"))
        except MethodNotAllowed as exc:
            response = problem_response(
                errors.MethodNotAllowed("this resource does not take that method"),
                {"Allow": ", ".join(sorted(exc.valid_methods or []))})
        except NotFound:
            fallback = self._unknown_paths(request)
            if fallback is not None:
                request.path_values = {}
                response = fallback.handle_request(request)
            else:
                response = problem_response(errors.NotFound("no such resource"))
        except HTTPException as exc:
            response = problem_response(errors.BadRequest(exc.description or exc.name))
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if self.transport_security:
            response.headers.setdefault("Strict-Transport-Security", self.transport_security)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        metrics.observe_http(self.service, route, request.method, response.status_code,
                             environ, time.perf_counter() - started, self.agency)
        return response(environ, start_response)


    def _unknown_paths(self, request):
        """The entrypoint that answers paths no route knows (a web client's own "not found"
        page: ``serves_unknown_paths``), outside ``/api/``; None: problem+json."""
        if request.path.startswith("/api/"):
            return None
        return next((p for p in self.server._providers
                     if getattr(p, "serves_unknown_paths", False)), None)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def start(self):
        # eventlet refuses header lines over 8 KiB with a bare 400 before our code runs;
        # allow 16 KiB so an oversized token is refused by the verifier, as problem+json
        from eventlet import wsgi

        wsgi.MAX_HEADER_LINE = max(wsgi.MAX_HEADER_LINE, MAX_HEADER_LINE)
        super().start()

    def get_wsgi_server(self, sock, wsgi_app, **kwargs):
        server = super().get_wsgi_server(sock, wsgi_app, **kwargs)
        server.url_length_limit = max(server.url_length_limit, MAX_REQUEST_LINE)
        return server

    def process_request(self, sock, address):
        # eventlet sends a response's headers and a body larger than its write buffer as
        # two sends; with Nagle on, a body below one segment then waits for the client's
        # delayed ACK of the headers (40 ms on Linux) on every kept-alive request
        # (tests/integration/test_keepalive.py)
        set_nodelay(sock)
        return super().process_request(sock, address)


def set_nodelay(sock) -> None:
    """``TCP_NODELAY`` on an accepted TCP socket (a no-op for other kinds)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not TCP (a unix socket in a test), or already closed by the peer
        pass


class HttpEntrypoint(HttpRequestHandler):
    server = ProblemWebServer()

    def response_from_exception(self, exc):
        """A typed error keeps its status as problem+json; anything else is a bare 500."""
        if isinstance(exc, StafettError):
            return problem_response(exc)
        outage = errors.unavailable(exc)  # the broker or a database is away: 503
        if outage is not None:
            return problem_response(outage)
        return problem_response(StafettError("an unexpected error occurred"))


http = HttpEntrypoint.decorator
