"""``/problems``: every error code the platform answers with, generated from each owner's
registry (``stafett/errors.py`` and ``services/<svc>/errors.py``, ``gateway/errors.py``).

A problem+json answer's ``type`` is ``<PUBLIC_URL>/problems#<code>``: each code is an
anchor on this page. The registries are contracts, like the marshmallow schemas the
gateway reads for /openapi.json: data, no service code runs here."""
from __future__ import annotations

from html import escape

import gateway.errors  # noqa: F401  (declares the gateway's codes)
import services.consent.errors  # noqa: F401
import services.handover.errors  # noqa: F401
import services.logs.errors  # noqa: F401
import services.notifications.errors  # noqa: F401
from stafett import errors

OWNERS = ("kernel", "gateway", "consent", "logs", "handover", "notifications")


def declared() -> dict[str, tuple[str, str]]:
    """Every declared code -> (owner, English text)."""
    return dict(errors.REGISTRY)


def problems_page() -> str:
    rows = sorted(declared().items(), key=lambda item: (OWNERS.index(item[1][0])
                                                        if item[1][0] in OWNERS else 99,
                                                        item[0]))
    sections, current = [], None
    for code, (owner, text) in rows:
        if owner != current:
            if current is not None:
                sections.append("</dl>")
            sections.append(f"<h2>{escape(owner)}</h2>\n<dl>")
            current = owner
        sections.append(f'<dt id="{escape(code)}"><code>{escape(code)}</code></dt>'
                        f"<dd>{escape(text)}</dd>")
    if current is not None:
        sections.append("</dl>")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Stafett problem codes</title></head><body>\n"
            "<h1>Problem codes</h1>\n"
            "<p>Every error answer is <code>application/problem+json</code> with a stable "
            "<code>code</code> (<code>&lt;object&gt;.&lt;reason&gt;</code>) and "
            "<code>type</code> = this page's address + <code>#code</code>. Decide by "
            "<code>code</code>, never by <code>detail</code> (English, for developers, and "
            "free to change). A 422 also has <code>errors</code> (messages) and "
            "<code>error_codes</code> (<code>{field: [code]}</code>), sometimes "
            "<code>error_params</code>. See docs/architecture.md, \"Error codes\".</p>\n"
            + "\n".join(sections) + "\n</body></html>\n")
