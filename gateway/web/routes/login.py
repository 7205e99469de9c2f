"""Start, login (the dev persona picker and OpenID Connect), logout, static files."""
from __future__ import annotations

import logging

from gateway.identity import identity_from
from gateway.web.oidc import LoginFailed, acr_ok
from gateway.web.pages import page, redirect, safe_next, static_file
from stafett.errors import NotFound

log = logging.getLogger(__name__)


class LoginPages:
    @page("GET", "/")
    def web_start(self, request):
        session = self._web_session(request)
        if session is not None and session.authenticated:
            return self._web_logs_page(request)
        return self._web_login_page(request)

    @page("GET", "/logg-inn")
    def web_login(self, request):
        return self._web_login_page(request)

    @page("GET", "/logg-inn/dev")
    def web_dev_personas(self, request):
        if not self._web_dev_on():
            raise NotFound("the dev issuer is off")
        return self._web_login_page(request, only_dev=True)

    @page("POST", "/logg-inn/dev")
    def web_dev_login(self, request):
        if not self._web_dev_on():
            raise NotFound("the dev issuer is off")
        formdata = self._web_form(request)
        from stafett.dev.demo import PERSONAS
        from stafett.dev.issuer import dev_issuer_url, mint

        persona = PERSONAS.get(formdata.get("persona") or "")
        if persona is None or persona["issuer_kind"] == "system":
            return self._web_login_page(request, status=400, only_dev=True,
                                        error="Velg en av personene i listen.")
        claims = {k: v for k, v in persona.items() if k not in ("description", "issuer_kind")}
        token = mint(self.config.get("DEV_ISSUER_DIR", "var"), claims, ttl_seconds=300,
                     issuer=dev_issuer_url(persona["issuer_kind"]))
        verified = self.auth.verifier.verify(token)
        identity = identity_from(verified)
        if not acr_ok(verified.issuer.required_acr, identity.get("acr")):
            return self._web_login_page(request, status=403, only_dev=True,
                                        error="Innloggingen må skje på høyt sikkerhetsnivå.")
        name = persona.get("name") or persona["description"].split(",")[0]
        session = self._web_store.login(self._web_session(request), identity, name, "dev")
        return redirect(safe_next(formdata.get("neste")) or "/",
                        {"Set-Cookie": self.web_sessions.cookie(session.new_cookie)})

    @page("GET", "/logg-inn/<provider>")
    def web_oidc_start(self, request, provider):
        chosen = self.oidc.provider(provider)
        if chosen is None:
            raise NotFound("no such login provider")
        try:
            url, pending = self.oidc.begin(chosen)
        except LoginFailed as exc:
            return self._web_login_page(request, status=503, error=exc.message)
        pending["next"] = safe_next(request.args.get("neste"))
        session = self._web_session(request)
        if session is not None and session.authenticated:
            self._web_store.delete(session)
            session = self._web_current = None
        session = self._web_anonymous(request)
        self._web_store.update(session, {**session.data, "pending": pending})
        return redirect(url, self._web_cookie_headers())

    @page("GET", "/auth/callback")
    def web_oidc_callback(self, request):
        session = self._web_session(request)
        pending = (session.data.get("pending") if session and not session.authenticated
                   else None)
        if session is not None and pending:
            self._web_store.update(session, {k: v for k, v in session.data.items()
                                             if k != "pending"})  # single use
        if request.args.get("error"):
            return self._web_login_page(request, status=400,
                                        error="Innloggingen ble avbrutt. Prøv igjen.")
        try:
            provider, verified, tokens = self.oidc.complete(
                pending, request.args.get("state"), request.args.get("code"))
        except LoginFailed as exc:
            log.warning("web login refused", extra={"reason": str(exc)})
            return self._web_login_page(request, status=400, error=exc.message)
        identity = identity_from(verified)
        name = identity.get("name") or f"innlogget med {provider.label}"
        new = self._web_store.login(session, identity, name, provider.name, tokens)
        return redirect(pending.get("next") or "/",
                        {"Set-Cookie": self.web_sessions.cookie(new.new_cookie)})

    @page("POST", "/logg-ut")
    def web_logout(self, request):
        self._web_form(request)
        session = self._web_session(request)
        target = "/logg-inn?utlogget=1"
        if session.authenticated and session.provider not in (None, "dev"):
            target = self.oidc.logout_url(
                session.provider, (session.data.get("tokens") or {}).get("id_token"),
                self.oidc.public_url + "/logg-inn?utlogget=1") or target
        self._web_store.delete(session)
        return redirect(target, {"Set-Cookie": self.web_sessions.clear_cookie()})

    def _web_login_page(self, request, status: int = 200, error: str | None = None,
                        only_dev: bool = False):
        session = self._web_session(request)
        if session is not None and session.authenticated and not error:
            return redirect("/")
        personas = []
        if self._web_dev_on():
            from stafett.dev.demo import PERSONAS
            self._web_anonymous(request)
            personas = [(key, p) for key, p in PERSONAS.items() if p["issuer_kind"] != "system"]
        return self._web_render(
            request, "login.html", status, title="Logg inn", error=error,
            providers=[] if only_dev else list(self.oidc.providers.values()),
            citizens=[(k, p) for k, p in personas if p["issuer_kind"] == "citizen"],
            staff=[(k, p) for k, p in personas if p["issuer_kind"] == "staff"],
            neste=safe_next(request.args.get("neste")) or "",
            logged_out=request.args.get("utlogget") == "1", only_dev=only_dev)

    @page("GET", "/fant-ikke-siden", serves_unknown_paths=True)
    def web_not_found(self, request):
        """Every address no route knows (outside /api/) is answered here: stafett.web."""
        return self._web_not_found(request)

    @page("GET", "/static/<path:filename>")
    def web_static(self, request, filename):
        return static_file(filename)
