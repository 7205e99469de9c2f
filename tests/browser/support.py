"""Helpers for the web client's tests: an HTTP client that behaves like a browser's cookie
jar for ``stafett_session``, and a tiny OpenID Connect provider on 127.0.0.1.

``requests`` never sends a ``Secure`` cookie over http, while browsers do for 127.0.0.1
and localhost; so ``WebClient`` keeps the session cookie itself and checks its flags.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import eventlet
import eventlet.wsgi
import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from stafett.dev.issuer import rsa_public_jwk
from tests.support.platform import free_port

COOKIE = "stafett_session"


class WebClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.cookie: str | None = None
        self.last_set_cookie: str | None = None

    def _headers(self, extra=None) -> dict:
        headers = dict(extra or {})
        if self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        return headers

    def _take_cookie(self, response) -> None:
        header = response.headers.get("Set-Cookie")
        if not header or not header.startswith(COOKIE + "="):
            return
        self.last_set_cookie = header
        value = header.split(";", 1)[0].split("=", 1)[1]
        self.cookie = value if value and "Max-Age=0" not in header else None

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.http.get(self._url(path), headers=self._headers(kwargs.pop("headers", None)),
                                 allow_redirects=False, timeout=30, **kwargs)
        self._take_cookie(response)
        return response

    def post(self, path: str, data=None, csrf: str | None = "auto", **kwargs) -> requests.Response:
        data = dict(data or {})
        if csrf == "auto":
            csrf = self.csrf_token()
        if csrf is not None:
            data["csrf_token"] = csrf
        response = self.http.post(self._url(path), data=data, allow_redirects=False, timeout=30,
                                  headers=self._headers(kwargs.pop("headers", None)), **kwargs)
        self._take_cookie(response)
        return response

    def follow(self, response) -> requests.Response:
        while response.status_code in (301, 302, 303, 307):
            response = self.get(response.headers["Location"])
        return response

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def csrf_token(self, path: str = "/logg-inn") -> str:
        page = self.get(path).text
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, "no CSRF token on " + path
        return match.group(1)

    def login(self, persona: str, next_path: str = "") -> requests.Response:
        token = self.csrf_token("/logg-inn/dev")
        return self.post("/logg-inn/dev", {"persona": persona, "neste": next_path}, csrf=token)


def text_of(page: str) -> str:
    """The visible text of an HTML page, whitespace collapsed (good enough for asserts)."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


class LocalOidcProvider:
    """Authorization endpoint that approves at once, a token endpoint that checks the
    client and the PKCE verifier, discovery and JWKS: just enough of OpenID Connect."""

    def __init__(self, claims: dict, client_id: str = "stafett-web",
                 client_secret: str | None = "hemmelig-test"):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id, self.client_secret = client_id, client_secret
        self.claims = dict(claims)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = rsa_public_jwk(self.key.public_key())
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.authorize_requests: list[dict] = []
        #: test knobs
        self.nonce_override: str | None = None
        self.audience_override: str | None = None
        self._server = None

    def start(self) -> "LocalOidcProvider":
        sock = eventlet.listen(("127.0.0.1", self.port))
        self._server = eventlet.spawn(eventlet.wsgi.server, sock, self.app, log_output=False)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.kill()

    def config(self, name: str = "test-id", label: str = "Test-ID", kind: str = "citizen") -> dict:
        entry = {"name": name, "label": label, "issuer": self.issuer, "kind": kind,
                 "client_id": self.client_id, "scope": "openid", "acr_values": "idporten-loa-high"}
        if self.client_secret:
            entry["client_secret"] = self.client_secret
        return entry

    # -- WSGI ---------------------------------------------------------------------------------

    def app(self, environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path == "/.well-known/openid-configuration":
            return self._json(start_response, {
                "issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token", "jwks_uri": self.issuer + "/jwks",
                "end_session_endpoint": self.issuer + "/logout",
                "code_challenge_methods_supported": ["S256"]})
        if path == "/jwks":
            return self._json(start_response, {"keys": [self.jwk]})
        if path == "/authorize":
            self.authorize_requests.append(query)
            code = secrets.token_urlsafe(16)
            self.codes[code] = query
            target = query["redirect_uri"] + "?" + urlencode({"code": code,
                                                             "state": query.get("state", "")})
            start_response("302 Found", [("Location", target)])
            return [b""]
        if path == "/token" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(length).decode()).items()}
            self.token_requests.append({**form, "authorization": environ.get("HTTP_AUTHORIZATION")})
            return self._token(start_response, form, environ.get("HTTP_AUTHORIZATION"))
        if path == "/logout":
            start_response("302 Found", [("Location", query.get("post_logout_redirect_uri", "/"))])
            return [b""]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    def _token(self, start_response, form: dict, authorization: str | None):
        if self.client_secret:
            expected = "Basic " + base64.b64encode(
                f"{self.client_id}:{self.client_secret}".encode()).decode()
            if authorization != expected:
                return self._json(start_response, {"error": "invalid_client"}, "401 Unauthorized")
        request = self.codes.pop(form.get("code", ""), None)
        if request is None or form.get("grant_type") != "authorization_code":
            return self._json(start_response, {"error": "invalid_grant"}, "400 Bad Request")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(
            form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
        if request.get("code_challenge_method") != "S256" or challenge != request.get("code_challenge"):
            return self._json(start_response, {"error": "invalid_grant",
                                               "error_description": "PKCE"}, "400 Bad Request")
        if form.get("redirect_uri") != request.get("redirect_uri"):
            return self._json(start_response, {"error": "invalid_grant"}, "400 Bad Request")
        now = int(time.time())
        id_token = jwt.encode(
            {**self.claims, "iss": self.issuer, "aud": self.audience_override or self.client_id,
             "iat": now, "exp": now + 120, "nonce": self.nonce_override or request.get("nonce"),
             "azp": self.client_id},
            self.key, algorithm="RS256", headers={"kid": self.jwk["kid"], "typ": "JWT"})
        return self._json(start_response, {"access_token": "at-" + secrets.token_urlsafe(16),
                                           "token_type": "Bearer", "expires_in": 120,
                                           "id_token": id_token})

    @staticmethod
    def _json(start_response, body, status="200 OK"):
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def emma_log(platform) -> dict:
    """Emma's log through the API, as in tests/e2e: the guardian consents for school, PPT
    and health; the teacher opens the log and adds Omar (PPT)."""
    from stafett.dev.demo import AGENCIES, EMMA as CHILD

    school, ppt = AGENCIES["school"]["org_number"], AGENCIES["ppt"]["org_number"]
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    child_id = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                    if c["name"] == CHILD["name"])
    consent = guardian.post(f"/api/v1/children/{child_id}/consents", json={
        "scope": {"agencies": [school], "agency_types": ["ppt", "health_station"]},
        "purpose": "Samarbeid om skolehverdagen"})
    assert consent.status_code == 201, consent.text
    log = teacher.post("/api/v1/logs", json={"child_id": child_id, "level": 1}).json()
    omar = teacher.get(f"/api/v1/agencies/{ppt}/staff").json()["items"][0]
    added = teacher.post(f"/api/v1/logs/{log['id']}/participants", json={"person_id": omar["id"]})
    assert added.status_code == 201, added.text
    people = {p["role"] if p["role"] != "guardian" else p["display_name"]: p["id"]
              for p in log["participants"]}
    return {"id": log["id"], "child_id": child_id, "consent_id": consent.json()["id"],
            "ppt": added.json()["id"], "teacher": people["stafettholder"],
            "ingrid": people["Ingrid Solberg"], "omar_person": omar["id"]}
