"""Attacks on the gateway that must fail: a JWT negative matrix (each 401 problem+json with
no RPC reaching any service), assurance level, system scopes, per-agency rate limits."""
import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stafett import metrics
from stafett.dev.demo import PERSONAS
from stafett.dev.issuer import DEV_AUDIENCE, dev_issuer_url, ensure_dev_keys, rsa_public_jwk
from tests.support.jwks import jwks_endpoint
from tests.support.platform import Platform, wait_for

SERVICES = ("consent", "logs", "handover", "notifications")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rpc_calls() -> dict:
    """RPCs each service has handled in this process, by the RED metrics."""
    calls = {}
    for family in metrics.REQUESTS.collect():
        for sample in family.samples:
            if (sample.name == "stafett_requests_total" and sample.labels["kind"] == "rpc"
                    and sample.labels["service"] in SERVICES):
                calls[(sample.labels["service"], sample.labels["entrypoint"])] = sample.value
    return calls


def forged_tokens(var_dir) -> dict[str, tuple[str, str]]:
    """case → (token, the reason the gateway must give for refusing it)."""
    keys = ensure_dev_keys(var_dir)
    private = serialization.load_pem_private_key(keys.private_key_path.read_bytes(), None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    issuer = dev_issuer_url("staff")
    teacher = {k: v for k, v in PERSONAS["teacher"].items()
               if k not in ("description", "issuer_kind")}
    good = {**teacher, "iss": issuer, "aud": DEV_AUDIENCE, "iat": now, "exp": now + 600}
    system = {**{k: v for k, v in PERSONAS["school-system"].items()
                 if k not in ("description", "issuer_kind")},
              "iss": dev_issuer_url("system"), "aud": DEV_AUDIENCE, "iat": now,
              "exp": now + 600}

    def signed(claims=None, headers=None, key=private, algorithm="RS256"):
        header = {"typ": "JWT", "kid": keys.kid, **(headers or {})}
        return jwt.encode(claims or good, key, algorithm=algorithm, headers=header)

    def without(claim):
        return {k: v for k, v in good.items() if k != claim}

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsigned = (b64(json.dumps({"alg": "none", "typ": "JWT", "kid": keys.kid}).encode()) + "."
                + b64(json.dumps(good).encode()) + ".")
    header, payload, signature = signed().split(".")
    # HS256 "signed" with the RSA public key as the shared secret (PyJWT refuses to do it)
    hs_header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keys.kid}).encode())
    hs_signature = b64(hmac.new(public_pem, f"{hs_header}.{payload}".encode(),
                                hashlib.sha256).digest())
    jwk = json.loads(keys.jwks_path.read_text())["keys"][0]
    tampered = b64(json.dumps({**good, "agency": "999999999"}).encode())
    return {
        "alg none": (unsigned, "algorithm not allowed"),
        "HS256 with the RSA public key": (f"{hs_header}.{payload}.{hs_signature}",
                                          "algorithm not allowed"),
        "unknown kid": (signed(headers={"kid": "not-a-known-key"}), "unknown signing key"),
        "another key, same kid": (signed(key=other_key), "invalid signature"),
        "jku header": (signed(headers={"jku": "http://127.0.0.1:9/jwks.json"}),
                       "header not allowed: jku"),
        "x5u header": (signed(headers={"x5u": "http://127.0.0.1:9/cert.pem"}),
                       "header not allowed: x5u"),
        "jwk header": (signed(headers={"jwk": jwk}), "header not allowed: jwk"),
        "x5c header": (signed(headers={"x5c": ["MIIB"]}), "header not allowed: x5c"),
        "crit header": (signed(headers={"crit": ["exp"]}), "header not allowed: crit"),
        "exp missing": (signed(without("exp")), "missing claim: exp"),
        "exp passed": (signed({**good, "exp": now - 120, "iat": now - 700}), "token expired"),
        "nbf in the future": (signed({**good, "nbf": now + 600}), "token not yet valid"),
        "wrong aud": (signed({**good, "aud": "someone-else"}), "invalid audience"),
        "iss as a prefix": (signed({**good, "iss": issuer[:-3]}), "unknown issuer"),
        "iss as a suffix": (signed({**good, "iss": issuer[len("http://"):]}),
                            "unknown issuer"),
        "iss with more after it": (signed({**good, "iss": issuer + "x"}), "unknown issuer"),
        "sub missing": (signed(without("sub")), "missing claim: sub"),
        "iat missing": (signed(without("iat")), "missing claim: iat"),
        "wrong typ": (signed(headers={"typ": "JWE"}), "unsupported token type"),
        "non-compact (JSON) serialisation": (json.dumps(
            {"protected": header, "payload": payload, "signature": signature}),
            "malformed token"),
        "over 8 KB": (signed({**good, "padding": "x" * 9000}), "token too large"),
        "tampered payload": (f"{header}.{tampered}.{signature}", "invalid signature"),
        "staff token, no valid organisation number": (
            signed({**good, "agency": "123456789"}),
            "the token names no valid organisation number"),
        "system token, consumer not an organisation": (
            signed({**system, "consumer": {"ID": "0192:anything"}}),
            "the token names no valid organisation number"),
    }


def rejections() -> dict:
    return {sample.labels["reason"]: sample.value
            for family in metrics.AUTH_REJECTIONS.collect() for sample in family.samples
            if sample.name == "stafett_auth_rejections_total"}


def test_every_forged_token_is_a_401_problem_and_reaches_no_service(seeded_platform):
    platform = seeded_platform
    served = (("consent", "resolve_actor"), ("logs", "my_logs"))

    def one_valid_call() -> dict:
        """A valid call, then its services' metrics: a barrier, for they are recorded
        just after the reply, and the calls before it were answered before it. A fresh
        token each time: the gateway keeps the actor per token (gateway/actor_cache.py)."""
        earlier = rpc_calls()
        valid = platform.client("teacher", jti=uuid.uuid4().hex)
        assert valid.get("/api/v1/logs").status_code == 200
        return wait_for(lambda: all((c := rpc_calls()).get(k, 0) == earlier.get(k, 0) + 1
                                    for k in served) and c,
                        message="the valid call's metrics")

    before = one_valid_call()  # the matrix has a true positive
    refused_before = rejections()
    failures = {}
    forged = forged_tokens(platform.var_dir)
    for case, (token, reason) in forged.items():
        response = requests.get(platform.url() + "/api/v1/logs", timeout=10,
                                headers={"Authorization": f"Bearer {token}"})
        if (response.status_code != 401
                or response.headers.get("Content-Type") != "application/problem+json"
                or response.json().get("detail") != reason
                or not response.headers.get("WWW-Authenticate", "").startswith("Bearer ")):
            failures[case] = (response.status_code, response.text)
    assert failures == {}
    after = one_valid_call()
    assert after == {**before, **{k: before.get(k, 0) + 1 for k in served}}, (
        "a forged token made a service do work")
    # operations see each refusal, by its reason
    counted = {reason: n - refused_before.get(reason, 0) for reason, n in rejections().items()
               if n != refused_before.get(reason, 0)}
    assert sum(counted.values()) == len(forged)
    assert counted["header_not_allowed_jku"] == 1 and counted["unknown_issuer"] == 3


def test_no_token_is_a_401_with_a_bearer_challenge(seeded_platform):
    platform = seeded_platform
    response = requests.get(platform.url() + "/api/v1/logs", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="stafett"'
    assert response.headers["Content-Type"] == "application/problem+json"


def test_personal_data_needs_the_configured_assurance_level(seeded_platform):
    platform = seeded_platform
    for persona, path in (("guardian", "/api/v1/children"), ("teacher", "/api/v1/logs")):
        substantial = platform.client(persona, acr="idporten-loa-substantial")
        response = substantial.get(path)
        assert response.status_code == 403, (persona, response.text)
        assert "idporten-loa-high" in response.json()["detail"]
        assert platform.client(persona).get(path).status_code == 200


def test_an_identity_provider_configured_with_its_own_keys_url_level_and_claims(
        container_factory, amqp_uri, database_urls, tmp_path):
    """An issuer from ISSUERS (not the dev issuer): keys fetched from its JWKS URL (a real
    HTTP server on loopback), a list of accepted levels, its own name for the pid claim.
    The consent service, which checks the level again, is configured alike."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = rsa_public_jwk(key.public_key())
    issuer = "https://login.kommune.example/"
    with jwks_endpoint() as keys:
        keys.serve(jwk)
        platform = Platform(container_factory, amqp_uri, database_urls, tmp_path, ISSUERS=[{
            "issuer": issuer, "kind": "citizen", "audience": "stafett-api",
            "jwks_url": keys.url, "claim_map": {"pid": "fnr"},
            "required_acr": ["idporten-loa-substantial", "idporten-loa-high"]}],
            CONSENT_CITIZEN_ACR="idporten-loa-substantial,idporten-loa-high")
        platform.start()
        try:
            platform.seed()
            now = int(time.time())
            mother = PERSONAS["guardian"]

            def get(acr, **extra):
                claims = {"iss": issuer, "aud": "stafett-api", "sub": "k-1", "iat": now,
                          "exp": now + 300, "fnr": mother["pid"], "acr": acr, **extra}
                token = jwt.encode(claims, key, algorithm="RS256",
                                   headers={"kid": jwk["kid"], "typ": "JWT"})
                return requests.get(platform.url() + "/api/v1/children", timeout=10,
                                    headers={"Authorization": f"Bearer {token}"})

            ok = get("idporten-loa-substantial")
            assert ok.status_code == 200, ok.text
            assert [c["name"] for c in ok.json()["items"]]  # fnr was read as the pid
            assert get("idporten-loa-low").status_code == 403
            assert get("idporten-loa-high", aud="stafett").status_code == 401
            assert keys.requests == 1  # cached
        finally:
            platform.close()


def test_a_system_of_an_organisation_that_is_no_agency_here_is_refused(seeded_platform):
    platform = seeded_platform
    stranger = platform.client("school-system",
                               consumer={"authority": "iso6523-actorid-upis",
                                         "ID": "0192:974760673"})  # valid, not registered
    response = stranger.get("/api/v1/logs")
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"] == "application/problem+json"


def test_agency_systems_only_reach_routes_their_scopes_open(seeded_platform):
    platform = seeded_platform
    system = platform.client("school-system")
    assert system.get("/api/v1/logs").status_code == 200          # stafett:logs.read
    assert system.post("/api/v1/logs", json={"child_id": "x"}).status_code == 403
    assert system.get("/api/v1/children").status_code == 403
    no_scope = platform.client("school-system", scope="")
    assert no_scope.get("/api/v1/logs").status_code == 403


def test_one_agency_hitting_the_rate_limit_does_not_starve_another(
        container_factory, amqp_uri, database_urls, tmp_path):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        RATE_LIMIT_PER_MINUTE=6, RATE_LIMIT_BURST=5)
    platform.start()
    platform.seed()
    teacher, nav = platform.client("teacher"), platform.client("nav")
    statuses = [teacher.get("/api/v1/logs").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = teacher.get("/api/v1/logs")
    assert limited.status_code == 429
    assert limited.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    assert nav.get("/api/v1/logs").status_code == 200  # another agency is unaffected
    platform.close()


# -- tokens as issuers issue them, HSTS, failed authentication per address (issue 12, pt 7) --

def test_a_maskinporten_access_token_without_sub_reads_what_its_agency_may(
        container_factory, amqp_uri, database_urls, tmp_path):
    """A token built from Digdir's published example of a Maskinporten access token
    (https://docs.digdir.no/docs/Maskinporten/maskinporten_guide_apitilbyder, "Eksempel på
    token"; the claims as listed in
    https://docs.digdir.no/docs/Maskinporten/maskinporten_protocol_token): iss, client_amr, token_type, aud, scope, consumer, iat, exp, jti, client_id and no
    ``sub``. Only what makes it ours is changed: our audience (an audience-restricted
    token), our scope, the school as consumer, fresh times, and the signature, by the
    test's own key, served as the issuer's JWKS on loopback. Persons' issuers still need
    ``sub``."""
    from sqlalchemy import create_engine, select

    from stafett.audit import access_table
    from stafett.dev.demo import AGENCIES

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = rsa_public_jwk(key.public_key())
    maskinporten, idporten = "https://test.maskinporten.no/", "https://test.idporten.no"
    with jwks_endpoint() as keys:
        keys.serve(jwk)
        platform = Platform(container_factory, amqp_uri, database_urls, tmp_path, ISSUERS=[
            {"issuer": maskinporten, "kind": "system", "audience": "https://stafett.test/api",
             "jwks_url": keys.url},
            {"issuer": idporten, "kind": "citizen", "audience": "https://stafett.test/api",
             "jwks_url": keys.url}])
        platform.start()
        try:
            platform.seed()
            emma_log = platform.seed_stories()["emma"]
            now = int(time.time())
            published = {  # Digdir's example, as published
                "aud": "unspecified", "scope": "difitest:test2",
                "iss": "https://ver2.maskinporten.no/", "client_amr": "virksomhetssertifikat",
                "token_type": "Bearer", "exp": 1584694565, "iat": 1584693565,
                "jti": "IYRtIEzOYb8fHiIMEaqVHq_tXYGWe6OEOjOdsK-P_30",
                "consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:991825827"}}
            claims = {**published, "iss": maskinporten, "aud": "https://stafett.test/api",
                      "scope": "stafett:logs.read", "iat": now, "exp": now + 120,
                      "consumer": {"authority": "iso6523-actorid-upis",
                                   "ID": "0192:" + AGENCIES["school"]["org_number"]},
                      "client_id": "2a1f7b3c-5d2e-4f60-9a8b-0c1d2e3f4a5b"}
            assert "sub" not in claims

            def get(path, claims_):
                token = jwt.encode(claims_, key, algorithm="RS256",
                                   headers={"kid": jwk["kid"], "typ": "JWT"})
                return requests.get(platform.url() + path, timeout=10,
                                    headers={"Authorization": f"Bearer {token}"})

            listed = get("/api/v1/logs", claims)
            assert listed.status_code == 200, listed.text
            assert emma_log in [item["id"] for item in listed.json()["items"]]
            assert get(f"/api/v1/logs/{emma_log}", claims).status_code == 200
            # its scope opens the read routes, and only those
            assert get("/api/v1/children", claims).status_code == 403
            # the client is named in the access records where a person's id would be
            engine = create_engine(database_urls["logs"])
            with engine.connect() as connection:
                refs = set(connection.execute(select(access_table.c.actor_ref).where(
                    access_table.c.actor_kind == "system")).scalars())
            engine.dispose()
            assert refs == {f"system:{AGENCIES['school']['org_number']}/"
                            "2a1f7b3c-5d2e-4f60-9a8b-0c1d2e3f4a5b"}
            # what an ID-porten token must carry still holds: no sub, no entry
            citizen = {"iss": idporten, "aud": "https://stafett.test/api", "iat": now,
                       "exp": now + 120, "pid": PERSONAS["guardian"]["pid"],
                       "acr": "idporten-loa-high"}
            refused = get("/api/v1/children", citizen)
            assert refused.status_code == 401 and refused.json()["detail"] == (
                "missing claim: sub")
            assert get("/api/v1/children", {**citizen, "sub": "k-1"}).status_code == 200
        finally:
            platform.close()


def test_strict_transport_security_on_every_answer_when_public_url_is_https(
        container_factory, amqp_uri, database_urls, tmp_path):
    answers = {"API error": ("GET", "/api/v1/logs"), "unknown path": ("GET", "/nowhere"),
               "wrong method": ("DELETE", "/openapi.json"), "document": ("GET", "/openapi.json"),
               "web page": ("GET", "/logg-inn"), "web redirect": ("GET", "/logger"),
               "web 404": ("GET", "/logger/%00"), "API 404": ("GET", "/api/v1/logs/%00"),
               "missing asset": ("GET", "/api-docs/assets/nope")}
    for public_url, expected in (("https://stafett.test", True), ("http://127.0.0.1:8000", False)):
        platform = Platform(container_factory, amqp_uri, database_urls,
                            tmp_path / public_url.split(":")[0], PUBLIC_URL=public_url)
        platform.start(["gateway"])
        try:
            for name, (method, path) in answers.items():
                response = requests.request(method, platform.url() + path, timeout=10,
                                            allow_redirects=False)
                assert response.status_code < 500, (name, response.status_code)
                if name.endswith("404") or name.startswith("missing"):
                    assert response.status_code == 404, (name, response.status_code)
                hsts = response.headers.get("Strict-Transport-Security")
                if not expected:
                    assert hsts is None, (public_url, name)
                    continue
                directives = [d.strip().lower() for d in (hsts or "").split(";")]
                assert "includesubdomains" in directives, (name, hsts)
                max_age = next(int(d.split("=")[1]) for d in directives
                               if d.startswith("max-age="))
                assert max_age >= 365 * 24 * 3600, (name, hsts)
        finally:
            platform.close()


class FromAddress(requests.adapters.HTTPAdapter):
    """Connect from another loopback address (127.0.0.2): another socket peer."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_failed_authentication_is_limited_per_client_address(
        container_factory, amqp_uri, database_urls, tmp_path):
    """Three refused tokens a minute per address: the fourth is a 429 with Retry-After, for
    that address only. Behind the trusted proxy (127.0.0.1) the address is the one it
    names in X-Forwarded-For; from anywhere else X-Forwarded-For is ignored and the address
    is the socket peer. A valid token, and an expired one (signed by the issuer: a cue to
    renew), from the limited address still get their own answers."""
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        FAILED_AUTH_LIMIT=3, FAILED_AUTH_WINDOW_SECONDS=60,
                        TRUSTED_PROXIES="127.0.0.1/32")
    platform.start()
    try:
        platform.seed()
        url = platform.url() + "/api/v1/logs"
        forged = {"Authorization": "Bearer " + forged_tokens(platform.var_dir)[
            "another key, same kid"][0]}

        def via_proxy(client, headers):
            return requests.get(url, timeout=10, headers={**headers,
                                                           "X-Forwarded-For": client})

        statuses = [via_proxy("203.0.113.7", forged).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        limited = via_proxy("203.0.113.7", forged)
        assert limited.headers["Content-Type"] == "application/problem+json"
        assert 1 <= int(limited.headers["Retry-After"]) <= 20
        assert "failed authentications" in limited.json()["detail"]
        # another address behind the same proxy is unaffected
        assert via_proxy("203.0.113.8", forged).status_code == 401
        # a client's own X-Forwarded-For before the proxy's is not believed
        assert via_proxy("203.0.113.8, 203.0.113.7", forged).status_code == 429
        # a valid token from the limited address is served; an expired one learns why
        valid = {"Authorization": f"Bearer {platform.token('teacher')}"}
        assert via_proxy("203.0.113.7", valid).status_code == 200
        expired = via_proxy("203.0.113.7", {
            "Authorization": f"Bearer {platform.token('teacher', ttl_seconds=-120)}"})
        assert (expired.status_code, expired.json()["detail"]) == (401, "token expired")
        # no credentials at all is asking, not failing
        assert requests.get(url, timeout=10, headers={
            "X-Forwarded-For": "203.0.113.9"}).status_code == 401

        # not a trusted proxy: the peer is the client, whatever X-Forwarded-For says
        other_peer = requests.Session()
        other_peer.mount("http://", FromAddress("127.0.0.2"))
        peer_statuses = [other_peer.get(url, timeout=10, headers={
            **forged, "X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(4)]
        assert peer_statuses == [401, 401, 401, 429]
        assert via_proxy("198.51.100.1", forged).status_code == 401
    finally:
        platform.close()
