"""OpenID Connect login (authorization code + PKCE S256, state, nonce) against a tiny local
provider on 127.0.0.1: first the client alone, then through the gateway, then by clicking."""
from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from gateway.web.oidc import LoginFailed, OidcClients, pkce_pair
from stafett.dev.demo import EMMA_MOTHER
from tests.browser.support import LocalOidcProvider, WebClient, query_of, text_of

CLAIMS = {"sub": "idp-ingrid", "pid": EMMA_MOTHER["national_id"], "acr": "idporten-loa-high"}


@pytest.fixture
def provider():
    idp = LocalOidcProvider(CLAIMS).start()
    yield idp
    idp.stop()


def clients_for(idp, public_url="http://127.0.0.1:9") -> OidcClients:
    clients = OidcClients()
    clients.container = SimpleNamespace(config={
        "OIDC_PROVIDERS": [idp.config()], "OIDC_ALLOW_HTTP": "true", "PUBLIC_URL": public_url})
    clients.setup()
    return clients


def authorize(idp, url: str) -> dict:
    """What the browser does at the provider: it approves and sends us back."""
    import requests

    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return query_of(answer.headers["Location"])


def test_pkce_pair_is_s256():
    import base64
    import hashlib

    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    assert challenge == base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_code_flow_with_pkce_state_and_nonce(provider):
    clients = clients_for(provider)
    chosen = clients.provider("test-id")
    url, pending = clients.begin(chosen)
    asked = query_of(url)
    assert asked["code_challenge_method"] == "S256" and asked["response_type"] == "code"
    assert asked["state"] == pending["state"] and asked["nonce"] == pending["nonce"]
    assert asked["redirect_uri"] == "http://127.0.0.1:9/auth/callback"
    assert pending["verifier"] not in url  # only the challenge travels
    back = authorize(provider, url)
    _, verified, tokens = clients.complete(pending, back["state"], back["code"])
    assert verified.claims["pid"] == CLAIMS["pid"] and verified.issuer.kind == "citizen"
    sent = provider.token_requests[-1]
    assert sent["code_verifier"] == pending["verifier"] and sent["authorization"].startswith("Basic ")
    assert set(tokens) == {"id_token"}  # the access token is not kept at all


@pytest.mark.parametrize("spoil", ["state", "verifier", "nonce", "audience", "no_pending",
                                   "replayed_code"])
def test_a_login_that_does_not_add_up_is_refused(provider, spoil):
    clients = clients_for(provider)
    url, pending = clients.begin(clients.provider("test-id"))
    back = authorize(provider, url)
    state = back["state"]
    if spoil == "state":
        state = "someone-elses-state"
    elif spoil == "verifier":
        pending = {**pending, "verifier": pkce_pair()[0]}
    elif spoil == "nonce":
        provider.nonce_override = "another-nonce"
    elif spoil == "audience":
        provider.audience_override = "another-client"
    elif spoil == "no_pending":
        pending = None
    elif spoil == "replayed_code":
        clients.complete(pending, state, back["code"])
    with pytest.raises(LoginFailed) as refused:
        clients.complete(pending, state, back["code"])
    assert refused.value.message  # a bokmål text for the person; never the reason


def oidc_platform(container_factory, amqp_uri, database_urls, tmp_path, idp, **extra):
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        OIDC_PROVIDERS=[idp.config()], OIDC_ALLOW_HTTP="true", **extra)
    platform.overrides["PUBLIC_URL"] = platform.url()
    platform.start()
    platform.seed()
    return platform


def test_login_through_the_gateway_and_logout_at_the_provider(container_factory, amqp_uri,
                                                             database_urls, tmp_path, provider):
    platform = oidc_platform(container_factory, amqp_uri, database_urls, tmp_path, provider)
    try:
        web = WebClient(platform.url())
        start = web.get("/logg-inn?neste=/samtykker")
        assert 'href="/logg-inn/test-id?neste=/samtykker"' in start.text
        assert "Logg inn med Test-ID" in text_of(start.text)
        anonymous = web.cookie

        to_provider = web.get("/logg-inn/test-id?neste=/samtykker")
        assert to_provider.status_code == 303
        assert to_provider.headers["Location"].startswith(provider.issuer + "/authorize?")
        back = authorize(provider, to_provider.headers["Location"])
        callback = web.get("/auth/callback?" + "&".join(f"{k}={v}" for k, v in back.items()))
        assert callback.status_code == 303 and callback.headers["Location"] == "/samtykker"
        assert web.cookie and web.cookie != anonymous  # rotated at login
        for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
            assert flag in web.last_set_cookie
        consents = web.get("/samtykker")
        assert consents.status_code == 200 and "Emma Solberg" in text_of(consents.text)
        assert "eyJ" not in consents.text  # no token ever reaches the browser

        # the same callback again (a replay) does not log anyone in
        again = WebClient(platform.url())
        again.cookie = anonymous
        replay = again.get("/auth/callback?" + "&".join(f"{k}={v}" for k, v in back.items()))
        assert replay.status_code == 400 and "Innloggingen" in text_of(replay.text)

        logout = web.post("/logg-ut", csrf=web.csrf_token("/samtykker"))
        assert logout.status_code == 303
        end_session = logout.headers["Location"]
        assert urlsplit(end_session).path == "/logout"
        assert query_of(end_session)["id_token_hint"].startswith("eyJ")
        assert query_of(end_session)["post_logout_redirect_uri"] == platform.url() + "/logg-inn?utlogget=1"
        assert "Max-Age=0" in web.last_set_cookie
        web.cookie = callback.headers.get("Set-Cookie", "").split(";")[0].split("=", 1)[1]
        assert web.get("/samtykker").status_code == 303  # the old session is gone
    finally:
        platform.close()


def test_an_error_from_the_provider_is_a_clear_page(container_factory, amqp_uri, database_urls,
                                                    tmp_path, provider):
    platform = oidc_platform(container_factory, amqp_uri, database_urls, tmp_path, provider)
    try:
        web = WebClient(platform.url())
        web.get("/logg-inn/test-id")
        refused = web.get("/auth/callback?error=access_denied&state=x")
        assert refused.status_code == 400
        assert "Innloggingen ble avbrutt. Prøv igjen." in text_of(refused.text)
        assert web.get("/logg-inn/ukjent").status_code == 404
    finally:
        platform.close()


def test_logging_in_with_the_provider_by_clicking(container_factory, amqp_uri, database_urls,
                                                  tmp_path, provider, browser):
    platform = oidc_platform(container_factory, amqp_uri, database_urls, tmp_path, provider,
                             DEV_ISSUER="false")
    try:
        person = browser(platform)
        person.goto("/")
        assert person.page.get_by_role("button", name="Ingrid Solberg, Emmas mor (foresatt)").count() == 0
        person.check("login-oidc")
        person.page.get_by_role("link", name="Logg inn med Test-ID").click()
        person.page.get_by_role("heading", level=1, name="Mine logger").wait_for()
        person.check("logged-in-with-oidc")
        cookie = next(c for c in person.context.cookies() if c["name"] == "stafett_session")
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
        assert person.page.goto("/logg-inn/dev").status == 404  # the dev picker is off
    finally:
        platform.close()
