"""Start, login (the dev persona picker and OpenID Connect), logout, static files."""
from __future__ import annotations

import logging

from gateway.identity import identity_from
from gateway.web.oidc import LoginFailed, acr_ok
from gateway.web.pages import redirect, safe_next, static_file
from gateway.web.routes.logs import logs_page
from stafett.errors import NotFound

log = logging.getLogger(__name__)


def web_start(ctx):
    session = ctx.session()
    if session is not None and session.authenticated:
        return logs_page(ctx)
    return _login_page(ctx)


def web_login(ctx):
    return _login_page(ctx)


def web_dev_personas(ctx):
    if not ctx.dev_on():
        raise NotFound("the dev issuer is off")
    return _login_page(ctx, only_dev=True)


def web_dev_login(ctx):
    if not ctx.dev_on():
        raise NotFound("the dev issuer is off")
    formdata = ctx.form()
    from stafett.dev.demo import PERSONAS
    from stafett.dev.issuer import dev_issuer_url, mint

    persona = PERSONAS.get(formdata.get("persona") or "")
    if persona is None or persona["issuer_kind"] == "system":
        return _login_page(ctx, status=400, only_dev=True,
                           error="Velg en av personene i listen.")
    claims = {k: v for k, v in persona.items() if k not in ("description", "issuer_kind")}
    token = mint(ctx.config.get("DEV_ISSUER_DIR", "var"), claims, ttl_seconds=300,
                 issuer=dev_issuer_url(persona["issuer_kind"]))
    verified = ctx.auth.verifier.verify(token)
    identity = identity_from(verified)
    if not acr_ok(verified.issuer.required_acr, identity.get("acr")):
        return _login_page(ctx, status=403, only_dev=True,
                           error="Innloggingen må skje på høyt sikkerhetsnivå.")
    name = persona.get("name") or persona["description"].split(",")[0]
    session = ctx.store.login(ctx.session(), identity, name, "dev")
    return redirect(safe_next(formdata.get("neste")) or "/",
                    {"Set-Cookie": ctx.web_sessions.cookie(session.new_cookie)})


def web_oidc_start(ctx, provider):
    chosen = ctx.oidc.provider(provider)
    if chosen is None:
        raise NotFound("no such login provider")
    try:
        url, pending = ctx.oidc.begin(chosen)
    except LoginFailed as exc:
        return _login_page(ctx, status=503, error=exc.message)
    pending["next"] = safe_next(ctx.request.args.get("neste"))
    session = ctx.session()
    if session is not None and session.authenticated:
        ctx.end_session(session)
    session = ctx.anonymous()
    ctx.store.update(session, {**session.data, "pending": pending})
    return redirect(url, ctx.cookie_headers())


def web_oidc_callback(ctx):
    session = ctx.session()
    pending = (session.data.get("pending") if session and not session.authenticated
               else None)
    if session is not None and pending:
        ctx.store.update(session, {k: v for k, v in session.data.items()
                                   if k != "pending"})  # single use
    if ctx.request.args.get("error"):
        return _login_page(ctx, status=400,
                           error="Innloggingen ble avbrutt. Prøv igjen.")
    try:
        provider, verified, tokens = ctx.oidc.complete(
            pending, ctx.request.args.get("state"), ctx.request.args.get("code"))
    except LoginFailed as exc:
        log.warning("web login refused", extra={"reason": str(exc)})
        return _login_page(ctx, status=400, error=exc.message)
    identity = identity_from(verified)
    name = identity.get("name") or f"innlogget med {provider.label}"
    new = ctx.store.login(session, identity, name, provider.name, tokens)
    return redirect(pending.get("next") or "/",
                    {"Set-Cookie": ctx.web_sessions.cookie(new.new_cookie)})


def web_logout(ctx):
    ctx.form()
    session = ctx.session()
    target = "/logg-inn?utlogget=1"
    if session.authenticated and session.provider not in (None, "dev"):
        target = ctx.oidc.logout_url(
            session.provider, (session.data.get("tokens") or {}).get("id_token"),
            ctx.oidc.public_url + "/logg-inn?utlogget=1") or target
    ctx.store.delete(session)
    return redirect(target, {"Set-Cookie": ctx.web_sessions.clear_cookie()})


def _login_page(ctx, status: int = 200, error: str | None = None,
                only_dev: bool = False):
    session = ctx.session()
    if session is not None and session.authenticated and not error:
        return redirect("/")
    personas = []
    if ctx.dev_on():
        from stafett.dev.demo import PERSONAS
        ctx.anonymous()
        personas = [(key, p) for key, p in PERSONAS.items() if p["issuer_kind"] != "system"]
    return ctx.render(
        "login.html", status, title="Logg inn", error=error,
        providers=[] if only_dev else list(ctx.oidc.providers.values()),
        citizens=[(k, p) for k, p in personas if p["issuer_kind"] == "citizen"],
        staff=[(k, p) for k, p in personas if p["issuer_kind"] == "staff"],
        neste=safe_next(ctx.request.args.get("neste")) or "",
        logged_out=ctx.request.args.get("utlogget") == "1", only_dev=only_dev)


def web_not_found(ctx):
    """Every address no route knows (outside /api/) is answered here: stafett.web."""
    return ctx.not_found()


def web_static(ctx, filename):
    return static_file(filename)
