"""Rendering: Jinja2 templates in bokmål, the page entrypoint, static files.

``PageEntrypoint`` is the kernel's HTTP entrypoint (``stafett.web.HttpEntrypoint``, so
the gateway keeps one web server) with HTML errors instead of problem+json: a 404 or 403
from a service, and any unknown address, is the one "Fant ikke siden" page (rendered in
the request, with the person's navigation: gateway/service.py), a service that does not
answer is a 503 page with Retry-After, a failed CSRF check a 403 page, and a page that
needs a login sends the browser to ``/logg-inn``. Nothing about the internals is ever
shown. gateway/service.py makes one for each page of gateway/web/routes/table.py.
"""
from __future__ import annotations

import hashlib
import logging
import mimetypes
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from gateway.web import labels
from stafett.errors import (EXPECTED, Forbidden, NotFound, ServiceUnavailable, StafettError,
                            Unauthorized)
from stafett.web import HttpEntrypoint

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


class LoginRequired(Exception):
    """The page needs a logged-in person; ``next_path`` is where to come back to."""

    def __init__(self, next_path: str | None = None):
        super().__init__("login required")
        self.next_path = next_path


class CsrfFailed(Exception):
    """A form came without the session's CSRF token (or without a session)."""


def content_security_policy(form_action_origins=()) -> str:
    form_action = " ".join(["'self'", *form_action_origins])
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"font-src 'self'; connect-src 'self'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'")


@lru_cache(maxsize=None)
def _asset_version(name: str) -> str:
    path = STATIC / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.exists() else "0"


def static_url(name: str) -> str:
    return f"/static/{quote(name)}?v={_asset_version(name)}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["label"] = labels.label
    env.filters["outcome"] = labels.outcome
    env.filters["dato"] = labels.norsk_date
    env.filters["tidspunkt"] = labels.norsk_datetime
    env.globals["static_url"] = static_url
    return env


ENV = _environment()


def render(template: str, status: int = 200, headers: dict | None = None,
           form_action_origins=(), **context) -> Response:
    body = ENV.get_template(template).render(**context)
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = content_security_policy(form_action_origins)
    # pages carry personal data: never cached, never kept in the back/forward cache's disk
    response.headers["Cache-Control"] = "no-store"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    for header, value in (headers or {}).items():
        response.headers[header] = value
    return response


def redirect(location: str, headers: dict | None = None) -> Response:
    response = Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})
    for header, value in (headers or {}).items():
        response.headers.add(header, value)
    return response


ERRORS = {
    400: ("Noe var feil i forespørselen", "Gå tilbake og prøv igjen."),
    403: ("Du har ikke tilgang", "Du har ikke lov til å gjøre dette."),
    404: ("Fant ikke siden", "Siden finnes ikke, eller du har ikke tilgang til den."),
    409: ("Det lot seg ikke gjøre", "Saken er endret i mellomtiden. Last siden på nytt."),
    429: ("For mange forespørsler", "Det har kommet mange forespørsler på kort tid. Vent "
                                    "litt og prøv igjen."),
    413: ("Skjemaet er for stort", "Teksten du sendte, er for lang. Gjør den kortere og "
                                   "prøv igjen."),
    503: ("Tjenesten er midlertidig utilgjengelig",
          "Tjenesten er midlertidig utilgjengelig, prøv igjen om litt."),
    500: ("Noe gikk galt", "Noe gikk galt hos oss. Prøv igjen om litt."),
}
CSRF_TEXT = ("Skjemaet kunne ikke sendes, fordi det er for gammelt eller ikke kom fra Stafett. "
             "Gå tilbake, last siden på nytt og prøv igjen.")


def error_page(status: int, text: str | None = None, headers: dict | None = None) -> Response:
    title, default = ERRORS.get(status, ERRORS[500])
    return render("error.html", status=status, headers=headers, title=title,
                  text=text or default, me=None)


class PageEntrypoint(HttpEntrypoint):
    def __init__(self, method, url, serves_unknown_paths: bool = False, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED + (LoginRequired, CsrfFailed))
        #: this page answers every path no route knows (stafett.web), outside /api/
        self.serves_unknown_paths = serves_unknown_paths
        super().__init__(method, url, **kwargs)

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        raise TypeError("a page returns a Response")

    def response_from_exception(self, exc):
        if isinstance(exc, (LoginRequired, Unauthorized)):
            target = "/logg-inn"
            next_path = getattr(exc, "next_path", None)
            if next_path:
                target += "?neste=" + quote(next_path, safe="/")
            return redirect(target)
        if isinstance(exc, CsrfFailed):
            return error_page(403, CSRF_TEXT)
        if isinstance(exc, ServiceUnavailable):
            return error_page(503, headers={"Retry-After": str(exc.retry_after)})
        if isinstance(exc, (NotFound, Forbidden)):   # one page for both (gateway/service.py)
            return error_page(404)
        if isinstance(exc, RequestEntityTooLarge):
            return error_page(413)
        if isinstance(exc, StafettError) and exc.status in ERRORS:
            retry = getattr(exc, "retry_after_seconds", None)
            return error_page(exc.status, headers={"Retry-After": str(retry)} if retry else None)
        if isinstance(exc, HTTPException):
            return error_page(exc.code if exc.code in ERRORS else 400)
        log.error("unhandled error in a web page", extra={"error": type(exc).__name__})
        return error_page(500)


def static_file(filename: str) -> Response:
    path = safe_join(str(STATIC), filename)
    if path is None or not Path(path).is_file():
        return error_page(404)
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if mimetype.startswith("text/") or mimetype == "application/javascript":
        mimetype += "; charset=utf-8"
    response = Response(Path(path).read_bytes(), content_type=mimetype)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def safe_next(value: str | None) -> str | None:
    """Only a path of our own pages may be where a login returns to (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ch in value for ch in "\r\n\t") or len(value) > 300:
        return None
    allowed = ("/logger", "/innboks", "/samtykker", "/overganger")
    return value if value == "/" or value.startswith(allowed) else None
