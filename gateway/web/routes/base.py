"""What every page does first: the session, the actor, CSRF, rendering, the form flow."""
from __future__ import annotations

from gateway.actor_cache import credential_key
from gateway.web import viewmodels as vm
from gateway.web.forms import Form
from gateway.web.pages import ERRORS, CsrfFailed, LoginRequired, render, safe_next
from gateway.web.session import ANONYMOUS, COOKIE_NAME, csrf_ok
from stafett.actor import Actor
from stafett.config import flag
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ValidationFailed)

#: how a child in a protected case is shown to those with no direct role in it
PROTECTED_CHILD = "Barn med skjermet adresse"
#: refusals a form shows next to its fields (or over it); anything else is an error page
FORM_ERRORS = (ValidationFailed, Conflict, Forbidden, PreconditionFailed, PreconditionRequired)


class WebBase:
    def _web_session(self, request):
        if not getattr(self, "_web_loaded", False):
            self._web_store = self.web_sessions.store(self.db)
            self._web_current = self._web_store.load(request.cookies.get(COOKIE_NAME))
            self._web_loaded = True
        return self._web_current

    def _web_anonymous(self, request):
        """A session for someone not logged in yet (the login form needs a CSRF token)."""
        session = self._web_session(request)
        if session is None:
            session = self._web_current = self._web_store.create(ANONYMOUS, {})
        return session

    def _web_actor(self, request) -> Actor:
        session = self._web_session(request)
        if session is None or not session.authenticated:
            raise LoginRequired(safe_next(request.full_path.rstrip("?"))
                                if request.method == "GET" else None)
        labels = getattr(self, "caller_labels", None)
        if labels is not None:
            labels.identified(request, session.identity)
        limiter = getattr(self, "rate_limit", None)
        if limiter is not None:
            limiter.take(session.identity)
        actor = self._resolved_actor(session.identity,
                                     credential_key("session", session.id_hash))
        if labels is not None:
            labels.resolved(request, session.identity, actor)
        self.actor_context.set(actor)
        self._web_me = actor
        return actor

    def _web_not_found(self, request):
        """The one page for an unknown address, a missing log and lost access: 404, with
        the person's navigation and what they can do next; the same words whatever the
        cause, so it tells nobody that a log exists."""
        title, text = ERRORS[404]
        return self._web_render(request, "error.html", 404, title=title, text=text,
                                next_steps=True)

    def _web_form(self, request):
        """The posted form, after the CSRF check (403 page otherwise)."""
        request.max_content_length = self.auth.max_body
        formdata = request.form
        if not csrf_ok(self._web_session(request), formdata.get("csrf_token")):
            raise CsrfFailed()
        return formdata

    def _web_dev_on(self) -> bool:
        return flag(self.config.get("DEV_ISSUER"), False, "DEV_ISSUER")

    def _web_cookie_headers(self) -> dict:
        session = getattr(self, "_web_current", None)
        if session is not None and session.new_cookie:
            return {"Set-Cookie": self.web_sessions.cookie(session.new_cookie)}
        return {}

    def _web_render(self, request, template: str, status: int = 200, **context):
        session = self._web_session(request)
        me = None
        if session is not None and session.authenticated:
            me = {"name": session.data.get("name"), "kind": session.identity.get("kind")}
        return render(template, status, self._web_cookie_headers(),
                      form_action_origins=self.oidc.form_action_origins(), me=me,
                      csrf_token=session.csrf_token if session else "",
                      melding=vm.message(request.args.get("melding")), **context)

    def _web_form_flow(self, request, make_form, load, submit, show, aliases=None):
        """GET shows ``make_form(load())``. POST reads the form (CSRF first), calls
        ``submit(form)`` (which redirects); a refusal re-renders the form with the typed
        values kept and the messages next to the fields, with status 422. ``load`` runs
        only when a form is shown, so a successful POST reads nothing extra."""
        if request.method == "GET":
            data = load()
            return show(make_form(data), data, 200)
        typed = make_form(None).read(self._web_form(request))
        if typed.ok:
            try:
                return submit(typed)
            except FORM_ERRORS as exc:
                typed.take_service_errors(exc, aliases)
        data = load()
        shown = make_form(data)
        shown.values.update(typed.values)
        shown.errors, shown.general = typed.errors, typed.general
        return show(shown, data, 422)

    def _web_form_page(self, request, form: Form, status: int, title: str, action: str,
                       submit: str, back: str, intro: str | None = None, active: str = "logger"):
        return self._web_render(request, "form.html", status, form=form, title=title,
                                action=action, submit=submit, back=back, intro=intro,
                                active=active)

    def _web_child_names(self, child_ids, no_direct_role=()) -> dict:
        """Names of children the actor already reached through their own logs or handovers;
        a child in a protected case (protective address code) is not named to an actor with
        no direct role in it (``no_direct_role``: e.g. a receiver before acceptance)."""
        names = {}
        for child_id in dict.fromkeys(c for c in child_ids if c):
            try:
                parties = self.consent.child_parties(child_id)
            except NotFound:
                names[child_id] = "Ukjent barn"
                continue
            names[child_id] = (PROTECTED_CHILD if parties.get("protected")
                               and child_id in no_direct_role else parties["child"]["name"])
        return names


def audience_of(log_view: dict | None) -> str | None:
    """Whose view the logs service gave (staff, guardian, child): the wording of the
    family's forms (None: not known yet)."""
    return (log_view or {}).get("audience")
