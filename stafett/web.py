"""HTTP plumbing shared by every component: nameko's web server, answering problem+json.

nameko's own server answers an unknown path or method with werkzeug's HTML page; ours
answers RFC 9457 problem+json like every other error, and adds the security headers
every response should carry. All HTTP entrypoints in a container must use this
``http`` (one server per port).
"""
from __future__ import annotations

import json

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from stafett import errors
from stafett.errors import ServiceUnavailable, StafettError

PROBLEM_JSON = "application/problem+json"
MAX_HEADER_LINE = 16 * 1024

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


BEARER_CHALLENGE = 'Bearer realm="stafett"'


def problem_response(error: StafettError, headers: dict | None = None) -> Response:
    headers = dict(headers or {})
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    if error.status == 401:  # RFC 6750: how to authenticate (and why a token failed)
        headers["WWW-Authenticate"] = getattr(error, "challenge", None) or BEARER_CHALLENGE
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return Response(json.dumps(error.to_problem(), ensure_ascii=False), status=error.status,
                    headers=headers, content_type=PROBLEM_JSON)


class ProblemWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except MethodNotAllowed as exc:
            response = problem_response(
                errors.MethodNotAllowed("this resource does not take that method"),
                {"Allow": ", ".join(sorted(exc.valid_methods or []))})
        except NotFound:
            response = problem_response(errors.NotFound("no such resource"))
        except HTTPException as exc:
            response = problem_response(errors.BadRequest(exc.description or exc.name))
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response(environ, start_response)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def start(self):
        # eventlet refuses header lines over 8 KiB with a bare 400 before our code runs;
        # allow 16 KiB so an oversized token is refused by the verifier, as problem+json
        from eventlet import wsgi

        wsgi.MAX_HEADER_LINE = max(wsgi.MAX_HEADER_LINE, MAX_HEADER_LINE)
        super().start()


class HttpEntrypoint(HttpRequestHandler):
    server = ProblemWebServer()


http = HttpEntrypoint.decorator
