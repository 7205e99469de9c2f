"""The gateway's own documents: /openapi.json (generated from the route table), its
readable page (vendored Swagger UI, no CDN) and /problems (every error code)."""
from __future__ import annotations

import json
from pathlib import Path

from werkzeug.wrappers import Response

from gateway.openapi import openapi_document
from gateway.problems import problems_page
from stafett.errors import NotFound

APIDOCS = Path(__file__).parents[1] / "apidocs"
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
               "init.js": "text/javascript"}
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'")


def openapi(ctx):
    """The document of the table the serving gateway was built from (``ctx.routes``)."""
    return Response(json.dumps(openapi_document(ctx.routes)),
                    content_type="application/json")


def api_docs(ctx):
    """A readable page for /openapi.json, from vendored Swagger UI assets (no CDN)."""
    html = (APIDOCS / "index.html").read_text(encoding="utf-8")
    return Response(html, content_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": DOCS_CSP})


def problems(ctx):
    """Every error code (problem+json ``type`` is ``<PUBLIC_URL>/problems#<code>``)."""
    return Response(problems_page(), content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


def api_docs_asset(ctx, name):
    if name not in DOCS_ASSETS:
        raise NotFound("no such asset")
    return Response((APIDOCS / name).read_bytes(), content_type=DOCS_ASSETS[name],
                    headers={"Cache-Control": "public, max-age=86400"})
