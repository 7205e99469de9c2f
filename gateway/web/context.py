"""What a page function is given: the API's request context (gateway/context.py) with the
web client's session, CSRF check and rendering.

A page authenticates with ``ctx.authenticate()`` as an API route does, from the session
cookie instead of a bearer token: session → identity → (a citizen's number:
``consent.resolve_citizen``) → ``consent.resolve_actor`` → every RPC of the request
carries the actor, and the owning service decides access.
"""
from __future__ import annotations

from gateway.actor_cache import credential_key
from gateway.context import RequestContext
from gateway.web import viewmodels as vm
from gateway.web.pages import ERRORS, CsrfFailed, LoginRequired, render, safe_next
from gateway.web.session import ANONYMOUS, COOKIE_NAME, csrf_ok
from stafett.actor import Actor
from stafett.config import flag
from stafett.errors import StafettError


class WebContext(RequestContext):
    def __init__(self, worker, request, routes=()):
        super().__init__(worker, request, routes)
        self.web_sessions = worker.web_sessions
        self.oidc = worker.oidc
        self.auth = worker.auth
        #: the session store of this request (gateway/web/session.py), once loaded
        self.store = None
        self._session = None

    # -- the session ----------------------------------------------------------------------------

    def session(self):
        """The browser's session (None: none, or one that ended)."""
        if self.store is None:
            self.store = self.web_sessions.store(self.db)
            self._session = self.store.load(self.request.cookies.get(COOKIE_NAME))
        return self._session

    def anonymous(self):
        """A session for someone not logged in yet (the login form needs a CSRF token)."""
        session = self.session()
        if session is None:
            session = self._session = self.store.create(ANONYMOUS, {})
        return session

    def end_session(self, session) -> None:
        """Delete ``session`` (a new login starts from an anonymous one)."""
        self.store.delete(session)
        self._session = None

    def cookie_headers(self) -> dict:
        session = self._session
        if session is not None and session.new_cookie:
            return {"Set-Cookie": self.web_sessions.cookie(session.new_cookie)}
        return {}

    # -- who is calling -----------------------------------------------------------------------

    def authenticate(self) -> Actor:
        """The logged-in person as an actor (a login first, if there is none)."""
        if self.actor is not None:
            return self.actor
        worker, request = self._worker, self.request
        session = self.session()
        if session is None or not session.authenticated:
            raise LoginRequired(safe_next(request.full_path.rstrip("?"))
                                if request.method == "GET" else None)
        worker.caller_labels.identified(request, session.identity)
        worker.rate_limit.take(session.identity)
        actor = self.resolved_actor(session.identity,
                                    credential_key("session", session.id_hash))
        worker.caller_labels.resolved(request, session.identity, actor)
        return self.act_as(actor)

    def dev_on(self) -> bool:
        return flag(self.config.get("DEV_ISSUER"), False, "DEV_ISSUER")

    # -- forms and pages ------------------------------------------------------------------------

    def form(self):
        """The posted form, after the CSRF check (403 page otherwise)."""
        self.request.max_content_length = self.max_body
        formdata = self.request.form
        if not csrf_ok(self.session(), formdata.get("csrf_token")):
            raise CsrfFailed()
        return formdata

    def render(self, template: str, status: int = 200, **context):
        session = self.session()
        me = None
        if session is not None and session.authenticated:
            me = {"name": session.data.get("name"), "kind": session.identity.get("kind"),
                  "roles": session.identity.get("roles") or [],
                  "unread": context.get("unread") if "unread" in context
                  else self.unread()}
        return render(template, status, self.cookie_headers(),
                      form_action_origins=self.oidc.form_action_origins(), me=me,
                      csrf_token=session.csrf_token if session else "",
                      melding=vm.message(self.request.args.get("melding")),
                      melding_link=vm.made_link(self.request.args.get("ny")), **context)

    def unread(self) -> int:
        """Unread notifications, for the navigation (0 before the actor is known, or when
        the notifications service does not answer: the page is shown all the same)."""
        if self.actor is None:
            return 0
        try:
            return self.notifications.inbox_page(1, None, True).get("unread", 0)
        except StafettError:
            return 0

    def not_found(self):
        """The one page for an unknown address, a missing log and lost access: 404, with
        the person's navigation and what they can do next; the same words whatever the
        cause, so it tells nobody that a log exists."""
        title, text = ERRORS[404]
        return self.render("error.html", 404, title=title, text=text, next_steps=True)
