"""The web client's pages: one mixin per owning service, like gateway/routes/ for the API.

Each page does what an API route does: session → identity → (a citizen's number:
``consent.resolve_citizen``) → ``consent.resolve_actor`` → ``self.actor_context.set(actor)``
→ the owning service's RPC, which decides access. The gateway only renders; a 404 from a
service is "Fant ikke siden" (gateway/web/pages.py).

URLs are Norwegian: ``/`` (login or Mine logger), ``/logg-inn``, ``/logg-inn/dev``,
``/logg-inn/<provider>``, ``/auth/callback``, ``/logg-ut``, ``/logger``,
``/logger/<log_id>`` and its forms, ``/innboks``, ``/samtykker``, ``/overganger``
(docs/web.md has the table).
"""
from gateway.web.routes.base import WebBase
from gateway.web.routes.consent import ConsentPages
from gateway.web.routes.handovers import HandoverPages
from gateway.web.routes.inbox import InboxPages
from gateway.web.routes.login import LoginPages
from gateway.web.routes.logs import LogPages


class WebRoutes(LoginPages, LogPages, HandoverPages, InboxPages, ConsentPages, WebBase):
    """The mixin GatewayService takes: every page of the web client."""
