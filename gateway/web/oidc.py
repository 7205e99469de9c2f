"""OpenID Connect login for the web client: authorization code flow with PKCE (S256).

Configured per provider in ``OIDC_PROVIDERS`` (stafett/stafett.yaml, docs/web.md). The
gateway is a confidential client when it has a ``client_secret`` (sent with HTTP Basic,
``client_secret_basic``) and a public one with PKCE only otherwise.

1. ``/logg-inn/<name>``: a fresh ``state``, ``nonce`` and PKCE verifier are kept in the
   (pre-login) server-side session; the browser goes to the authorization endpoint with
   the S256 challenge.
2. ``/auth/callback``: ``state`` must match the pending login (single use, 10 minutes);
   the code is exchanged at the token endpoint with the verifier; the ID token is verified
   by ``gateway.auth.TokenVerifier`` against the provider's JWKS (pinned algorithms, exact
   issuer, audience = our client id, exp/iat/sub required), then its ``nonce`` and ``azp``
   are checked here. Its claims become the identity (``gateway.identity``), exactly as an
   API token's would.

Tokens never reach the browser: the session stores the identity and, sealed, the ID token
(only to name the session at the provider's logout endpoint).
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests
from nameko.extensions import DependencyProvider

from gateway.auth import IssuerConfig, TokenVerifier, VerifiedToken
from stafett.config import flag
from stafett.errors import Unauthorized

log = logging.getLogger(__name__)

CALLBACK_PATH = "/auth/callback"
PENDING_SECONDS = 600
HTTP_TIMEOUT = 5.0
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class LoginFailed(Exception):
    """A login that did not go through; ``message`` is shown to the person (bokmål)."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(reason or message)
        self.message = message


@dataclass
class Provider:
    name: str                       # the path segment: /logg-inn/<name>
    label: str                      # the button: "Logg inn med <label>"
    issuer: str
    client_id: str
    kind: str                       # citizen (ID-porten) | staff (the agency's IdP)
    client_secret: str | None = None
    scope: str = "openid profile"
    acr_values: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    claim_map: dict = field(default_factory=dict)
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None

    KEYS = ("name", "label", "issuer", "client_id", "kind", "client_secret", "scope",
            "acr_values", "algorithms", "claim_map", "authorization_endpoint",
            "token_endpoint", "jwks_uri", "end_session_endpoint")

    @classmethod
    def from_dict(cls, raw: dict, allow_http: bool) -> "Provider":
        unknown = set(raw) - set(cls.KEYS)
        if unknown:
            raise ValueError(f"unknown OIDC provider keys: {sorted(unknown)}")
        data = {k: v for k, v in raw.items() if v not in (None, "")}
        if isinstance(data.get("algorithms"), str):
            data["algorithms"] = (data["algorithms"],)
        provider = cls(**data)
        if not _NAME.match(provider.name) or provider.name == "dev":
            raise ValueError(f"OIDC provider name {provider.name!r}: lowercase letters, "
                             "digits and '-', and not 'dev'")
        if provider.kind not in ("citizen", "staff"):
            raise ValueError(f"OIDC provider {provider.name}: kind is citizen or staff")
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                    "end_session_endpoint"):
            url = getattr(provider, key)
            if url and not (url.startswith("https://") or (allow_http and url.startswith("http://"))):
                raise ValueError(f"OIDC provider {provider.name}: {key} must be https")
        return provider

    @property
    def origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge), RFC 7636."""
    verifier = secrets.token_urlsafe(48)  # 64 characters, within 43..128
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


class OidcClients(DependencyProvider):
    """``self.oidc``: the configured providers, their metadata and ID-token verifiers."""

    def setup(self):
        config = self.container.config
        allow_http = flag(config.get("OIDC_ALLOW_HTTP"), False, "OIDC_ALLOW_HTTP")
        providers = [Provider.from_dict(dict(p), allow_http)
                     for p in (config.get("OIDC_PROVIDERS") or [])]
        names = [p.name for p in providers]
        if len(names) != len(set(names)):
            raise ValueError("OIDC provider names must be unique")
        self.providers = {p.name: p for p in providers}
        self.public_url = str(config.get("PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/")
        self._metadata: dict[str, dict] = {}
        self._verifiers: dict[str, TokenVerifier] = {}

    def get_dependency(self, worker_ctx):
        return self

    @property
    def redirect_uri(self) -> str:
        return self.public_url + CALLBACK_PATH

    def provider(self, name: str) -> Provider | None:
        return self.providers.get(name)

    # -- metadata and keys ----------------------------------------------------------------

    def metadata(self, provider: Provider) -> dict:
        """Endpoints from the configuration, else from the provider's discovery document."""
        cached = self._metadata.get(provider.name)
        if cached is not None:
            return cached
        configured = {k: getattr(provider, k) for k in (
            "authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint")}
        if not all(configured[k] for k in ("authorization_endpoint", "token_endpoint",
                                           "jwks_uri")):
            url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                response = requests.get(url, timeout=HTTP_TIMEOUT,
                                        headers={"Accept": "application/json"})
                response.raise_for_status()
                document = response.json()
            except (requests.RequestException, ValueError) as exc:
                log.warning("OIDC discovery failed", extra={"provider": provider.name,
                                                            "error": type(exc).__name__})
                raise LoginFailed("Innloggingstjenesten svarer ikke akkurat nå. Prøv igjen "
                                  "om litt.", "discovery failed")
            if document.get("issuer") != provider.issuer:
                raise LoginFailed("Innloggingstjenesten er feil satt opp.", "issuer mismatch")
            for key in configured:
                configured[key] = configured[key] or document.get(key)
        self._metadata[provider.name] = configured
        return configured

    def verifier(self, provider: Provider) -> TokenVerifier:
        verifier = self._verifiers.get(provider.name)
        if verifier is None:
            jwks = self.metadata(provider)["jwks_uri"]
            verifier = TokenVerifier([IssuerConfig(
                issuer=provider.issuer, kind=provider.kind, audience=provider.client_id,
                algorithms=tuple(provider.algorithms), jwks_url=jwks,
                required_acr=provider.acr_values, claim_map=dict(provider.claim_map))])
            self._verifiers[provider.name] = verifier
        return verifier

    # -- the flow -------------------------------------------------------------------------

    def begin(self, provider: Provider) -> tuple[str, dict]:
        """The authorization URL, and what the session keeps until the callback."""
        endpoint = self.metadata(provider)["authorization_endpoint"]
        verifier, challenge = pkce_pair()
        pending = {"provider": provider.name, "state": secrets.token_urlsafe(32),
                   "nonce": secrets.token_urlsafe(32), "verifier": verifier,
                   "started": int(time.time())}
        params = {"response_type": "code", "client_id": provider.client_id,
                  "redirect_uri": self.redirect_uri, "scope": provider.scope,
                  "state": pending["state"], "nonce": pending["nonce"],
                  "code_challenge": challenge, "code_challenge_method": "S256",
                  "ui_locales": "nb"}
        if provider.acr_values:
            params["acr_values"] = provider.acr_values
        separator = "&" if "?" in endpoint else "?"
        return endpoint + separator + urlencode(params), pending

    def complete(self, pending: dict | None, state: str | None, code: str | None
               ) -> tuple[Provider, VerifiedToken, dict]:
        """Check the callback against the pending login, exchange the code, verify."""
        if not pending or not state or not secrets.compare_digest(
                str(pending.get("state", "")), str(state)):
            raise LoginFailed("Innloggingen kunne ikke fullføres. Start innloggingen på nytt.",
                              "state mismatch")
        if time.time() - int(pending.get("started", 0)) > PENDING_SECONDS:
            raise LoginFailed("Innloggingen tok for lang tid. Start på nytt.", "pending expired")
        provider = self.provider(pending.get("provider", ""))
        if provider is None or not code:
            raise LoginFailed("Innloggingen kunne ikke fullføres. Start innloggingen på nytt.",
                              "no provider or code")
        tokens = self._exchange(provider, code, pending["verifier"])
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise LoginFailed("Innloggingen kunne ikke fullføres.", "no id_token")
        try:
            verified = self.verifier(provider).verify(id_token)
        except Unauthorized as exc:
            raise LoginFailed("Innloggingen kunne ikke bekreftes.", f"id token: {exc.detail}")
        claims = verified.claims
        if not secrets.compare_digest(str(claims.get("nonce", "")), pending["nonce"]):
            raise LoginFailed("Innloggingen kunne ikke bekreftes.", "nonce mismatch")
        azp = claims.get("azp")
        if azp is not None and azp != provider.client_id:
            raise LoginFailed("Innloggingen kunne ikke bekreftes.", "azp mismatch")
        if provider.acr_values and not acr_ok(provider.acr_values, claims.get("acr")):
            raise LoginFailed("Innloggingen må skje på høyt sikkerhetsnivå.", "acr too low")
        return provider, verified, {"id_token": id_token}

    def _exchange(self, provider: Provider, code: str, verifier: str) -> dict:
        endpoint = self.metadata(provider)["token_endpoint"]
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.redirect_uri, "code_verifier": verifier}
        auth = None
        if provider.client_secret:
            auth = (provider.client_id, provider.client_secret)
        else:
            form["client_id"] = provider.client_id
        try:
            response = requests.post(endpoint, data=form, auth=auth, timeout=HTTP_TIMEOUT,
                                     headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            log.warning("OIDC token request failed", extra={"provider": provider.name,
                                                            "error": type(exc).__name__})
            raise LoginFailed("Innloggingstjenesten svarer ikke akkurat nå. Prøv igjen om litt.",
                              "token endpoint unreachable")
        if response.status_code != 200:
            raise LoginFailed("Innloggingen kunne ikke fullføres. Start innloggingen på nytt.",
                              f"token endpoint answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise LoginFailed("Innloggingen kunne ikke fullføres.", "token response not JSON")
        return body

    def logout_url(self, provider_name: str | None, id_token: str | None,
                   after: str) -> str | None:
        """The provider's end-session URL (RP-initiated logout), if it has one."""
        provider = self.provider(provider_name or "")
        if provider is None:
            return None
        try:
            endpoint = self.metadata(provider).get("end_session_endpoint")
        except LoginFailed:
            return None
        if not endpoint:
            return None
        params = {"post_logout_redirect_uri": after, "client_id": provider.client_id}
        if id_token:
            params["id_token_hint"] = id_token
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)

    def form_action_origins(self) -> list[str]:
        """Origins a form may lead to (logout redirects to the provider): for the CSP."""
        return sorted({p.origin for p in self.providers.values()})


def acr_ok(required: str | None, acr) -> bool:
    if not required:
        return True
    accepted = {a for a in re.split(r"[\s,]+", required) if a}
    return isinstance(acr, str) and acr in accepted
