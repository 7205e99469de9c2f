"""Attacks on the gateway that must fail: a JWT negative matrix (each 401 problem+json with
no RPC reaching any service), assurance level, system scopes, per-agency rate limits."""
import base64
import json
import time

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stafett import metrics
from stafett.demo import PERSONAS
from stafett.devissuer import DEV_AUDIENCE, dev_issuer_url, ensure_dev_keys
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


def forged_tokens(var_dir) -> dict[str, str]:
    keys = ensure_dev_keys(var_dir)
    private = serialization.load_pem_private_key(keys.private_key_path.read_bytes(), None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    issuer = dev_issuer_url("staff")
    teacher = {k: v for k, v in PERSONAS["teacher"].items()
               if k not in ("description", "issuer_kind")}
    good = {**teacher, "iss": issuer, "aud": DEV_AUDIENCE, "iat": now, "exp": now + 600}

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
    import hashlib
    import hmac
    hs_signature = b64(hmac.new(public_pem, f"{hs_header}.{payload}".encode(),
                                hashlib.sha256).digest())
    jwk = json.loads(keys.jwks_path.read_text())["keys"][0]
    return {
        "alg none": unsigned,
        "HS256 with the RSA public key": f"{hs_header}.{payload}.{hs_signature}",
        "unknown kid": signed(headers={"kid": "not-a-known-key"}),
        "another key, same kid": signed(key=other_key),
        "jku header": signed(headers={"jku": "http://127.0.0.1:9/jwks.json"}),
        "x5u header": signed(headers={"x5u": "http://127.0.0.1:9/cert.pem"}),
        "jwk header": signed(headers={"jwk": jwk}),
        "x5c header": signed(headers={"x5c": ["MIIB"]}),
        "crit header": signed(headers={"crit": ["exp"]}),
        "exp missing": signed(without("exp")),
        "exp passed": signed({**good, "exp": now - 120, "iat": now - 700}),
        "nbf in the future": signed({**good, "nbf": now + 600}),
        "wrong aud": signed({**good, "aud": "someone-else"}),
        "iss as a prefix": signed({**good, "iss": issuer[:-3]}),
        "iss with a suffix": signed({**good, "iss": issuer + "x"}),
        "sub missing": signed(without("sub")),
        "iat missing": signed(without("iat")),
        "wrong typ": signed(headers={"typ": "JWE"}),
        "non-compact (JSON) serialisation": json.dumps(
            {"protected": header, "payload": payload, "signature": signature}),
        "over 8 KB": signed({**good, "padding": "x" * 9000}),
        "tampered payload": f"{header}.{b64(json.dumps({**good, 'agency': '999999999'}).encode())}.{signature}",
    }


def test_every_forged_token_is_a_401_problem_and_reaches_no_service(platform):
    platform.seed()
    valid = platform.client("teacher")
    key = ("logs", "my_logs")
    earlier = rpc_calls().get(key, 0)
    assert valid.get("/api/v1/logs").status_code == 200  # the matrix has a true positive
    # the worker records its metrics just after replying: wait until it has
    before = wait_for(lambda: (c := rpc_calls()).get(key, 0) == earlier + 1 and c,
                      message="the valid call's metrics")
    tokens = forged_tokens(platform.var_dir)
    failures = {}
    for case, token in tokens.items():
        response = requests.get(platform.url() + "/api/v1/logs", timeout=10,
                                headers={"Authorization": f"Bearer {token}"})
        if (response.status_code != 401
                or response.headers.get("Content-Type") != "application/problem+json"):
            failures[case] = response.status_code
    assert failures == {}
    assert rpc_calls() == before, "a forged token made a service do work"


def test_personal_data_needs_the_configured_assurance_level(platform):
    platform.seed()
    substantial = platform.client("guardian", acr="idporten-loa-substantial")
    response = substantial.get("/api/v1/children")
    assert response.status_code == 403 and "idporten-loa-high" in response.json()["detail"]


def test_agency_systems_only_reach_routes_their_scopes_open(platform):
    platform.seed()
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
