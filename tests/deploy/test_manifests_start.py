"""Every component starts the way its manifest starts it, and becomes ready.

Each overlay is rendered with kustomize and every Deployment in it is started as a process
here (tests/support/pods.py): the installed wheel run by the image's entrypoint with the
container's args, as the manifest's non-root user without capabilities, from a directory it
cannot write, with only its emptyDir volumes (and the services' witness claim) writable,
configured only by the environment and the files its ConfigMaps and Secrets give it. The local RabbitMQ and PostgreSQL stand in
for the operators' (a vhost with each component's user, fresh databases); nothing else is
changed. Then the probes
and the metrics port are asked what the kubelet and Prometheus would ask, and a gateway of
one agency, started from the production manifest, is shown another agency's token.
"""
from __future__ import annotations

import contextlib
import os
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from nameko.standalone.rpc import ClusterRpcProxy

from stafett.actor import SYSTEM_ACTOR
from stafett.dev.issuer import rsa_public_jwk
from tests.support import pods
from tests.support.deploy import UID, Dockerfile, fresh_root, kustomize, workloads
from tests.support.jwks import jwks_endpoint
from tests.support.servers import make_database_urls

DATABASES = ("consent", "logs", "handover", "notifications", "gateway")
MASKINPORTEN_KEYS = "https://maskinporten.no/jwk"
SCHOOL, PPT = "869006025", "977354684"   # two agencies of components/agency-gateways


def secret_store(objects) -> dict[str, dict[str, str]]:
    """What the production overlay leaves to a secret store: each Secret it references, with
    the keys the dev overlay gives it (tests/deploy/test_manifests.py holds the two overlays
    and deploy/k8s/README.md to the same list), and values of the same kind."""
    referenced = {name for workload in workloads(objects)
                  for name in pods.secret_names(workload)}
    store = {}
    for secret in kustomize("dev"):
        name = secret["metadata"]["name"]
        if secret["kind"] != "Secret" or name not in referenced:
            continue
        keys = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
        values = {}
        for key in keys:
            if key.endswith((".key", "_SIGNING_KEY")):
                values[key] = os.urandom(32).hex()
            elif key.endswith("_DATABASE_URL"):
                database = key.removesuffix("_DATABASE_URL").lower()
                values[key] = (f"postgresql+psycopg2://{database}:{uuid.uuid4().hex}"
                               f"@stafett-pooler-rw:5432/{database}")
            else:
                values[key] = f"from-the-secret-store-{uuid.uuid4().hex[:8]}"
        store[name] = values
    return store


class Running:
    """One overlay's Deployments, each a process here."""

    def __init__(self, overlay, objects, cluster, signing_key):
        self.overlay, self.objects, self.cluster = overlay, objects, cluster
        self.signing_key = signing_key
        self.pods: dict[str, pods.Pod] = {}
        self.ready: dict[str, float] = {}


@pytest.fixture(scope="module")
def running_overlays(installed, broker, postgres_url):
    """Both overlays at once (their processes overlap their waits on this small machine):
    a vhost and fresh databases each, the identity provider's keys on loopback."""
    root = fresh_root("stafett-pods-")
    dockerfile = Dockerfile.read()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    started: list[pods.Pod] = []
    with contextlib.ExitStack() as stack:
        keys = stack.enter_context(jwks_endpoint())
        keys.serve(rsa_public_jwk(key.public_key()))
        stack.callback(pods.remove, root)
        stack.callback(lambda: pods.stop_all(started, timeout=10))
        # what the Topology Operator writes for each component's User: here the test
        # session's users, granted on every test vhost from the same access table
        assert broker.users, "the deployment tests need the RabbitMQ management API"
        operator = {f"stafett-{component}-user-credentials": {"username": user,
                                                              "password": password}
                    for component, (user, password) in broker.users.items()}
        overlays = {}
        for overlay in ("dev", "production"):
            objects = kustomize(overlay)
            store = secret_store(objects) if overlay != "dev" else {}
            cluster = pods.Cluster(
                objects, stack.enter_context(broker.vhost()),
                stack.enter_context(make_database_urls(postgres_url, DATABASES)),
                secret_store={**store, **operator}, external={MASKINPORTEN_KEYS: keys.url})
            stack.callback(lambda c=cluster: [pods.remove(p) for p in c.claims.values()])
            running = overlays[overlay] = Running(overlay, objects, cluster, key)
            for deployment in workloads(objects):
                name = deployment["metadata"]["name"]
                pod = pods.start(deployment, cluster, installed, root / overlay / name,
                                 dockerfile)
                started.append(pod)
                running.pods[name] = pod
        ready = pods.wait_ready(started, timeout=180)
        for running in overlays.values():
            running.ready = {name: ready[id(pod)] for name, pod in running.pods.items()}
        yield overlays


@pytest.fixture(params=["dev", "production"])
def running(request, running_overlays) -> Running:
    return running_overlays[request.param]


def test_every_deployment_starts_as_its_manifest_says_and_becomes_ready(running):
    names = {d["metadata"]["name"] for d in workloads(running.objects)}
    assert set(running.ready) == names
    expected = {"gateway", "consent", "logs", "handover", "notifications"}
    if running.overlay == "production":
        expected |= {f"gateway-agency-{SCHOOL}", f"gateway-agency-{PPT}"}
    assert names == expected
    for pod in running.pods.values():
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            answer = requests.get(pod.probe_url(probe), timeout=5)
            assert answer.status_code == 200, (pod.name, probe, answer.text)
        checks = requests.get(pod.probe_url("readinessProbe"), timeout=5).json()["checks"]
        assert checks == {"broker": "ok", "database": "ok"}, pod.name


def test_metrics_answer_on_their_own_port_only(running):
    for pod in running.pods.values():
        scraped = requests.get(pod.url("metrics") + "/metrics", timeout=5)
        assert scraped.status_code == 200, pod.name
        assert "stafett_request_duration_seconds" in scraped.text
        public = requests.get(pod.url("http") + "/metrics", timeout=5)
        assert public.status_code == 404, pod.name


def test_nothing_is_written_outside_the_declared_writable_paths(running):
    """The user could write only its emptyDir directories; the places any user could
    write on this machine got nothing from it either."""
    since = time.time() - 600
    for pod in running.pods.values():
        for directory, _, files in os.walk(pod.root / "volumes"):
            for name in files:
                path = os.path.join(directory, name)
                if os.stat(path).st_uid == UID:
                    assert any(path.startswith(str(w)) for w in pod.writable), path
    for shared in ("/tmp", "/var/tmp", "/dev/shm"):
        mine = [entry.path for entry in os.scandir(shared)
                if entry.stat(follow_symlinks=False).st_uid == UID
                and entry.stat(follow_symlinks=False).st_mtime > since]
        assert mine == [], mine


def maskinporten_token(key, audience: str, org_number: str) -> str:
    now = int(time.time())
    claims = {"iss": "https://maskinporten.no/", "aud": audience, "sub": f"system-{org_number}",
              "client_id": f"client-{org_number}", "scope": "stafett:logs.read",
              "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{org_number}"},
              "token_type": "Bearer", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key, algorithm="RS256",
                      headers={"kid": rsa_public_jwk(key.public_key())["kid"]})


def test_an_agency_gateway_from_the_manifest_refuses_another_agencys_token(running_overlays):
    """The agency gateways are in the production overlay."""
    running = running_overlays["production"]
    audience = running.cluster.config_map(
        next(o["metadata"]["name"] for o in running.objects if o["kind"] == "ConfigMap"
             and o["metadata"]["name"].startswith("stafett-config")))["STAFETT_API_AUDIENCE"]
    with ClusterRpcProxy({"AMQP_URI": running.cluster.amqp_uri},
                         context_data={"actor": SYSTEM_ACTOR.to_context()}) as rpc:
        for number, name, kind in ((SCHOOL, "Solbakken skole", "school"),
                                   (PPT, "PPT Havvik", "ppt")):
            rpc.consent.register_agency({"org_number": number, "name": name, "type": kind,
                                         "municipality": "Havvik"})
    school_gateway = running.pods[f"gateway-agency-{SCHOOL}"].url()
    shared_gateway = running.pods["gateway"].url()

    def logs(base: str, org_number: str) -> requests.Response:
        token = maskinporten_token(running.signing_key, audience, org_number)
        return requests.get(base + "/api/v1/logs", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})

    refused = logs(school_gateway, PPT)
    assert refused.status_code == 403, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"] == ("this gateway serves another agency; use your "
                                        "agency's own address or the platform's")
    own = logs(school_gateway, SCHOOL)
    assert own.status_code == 200, own.text
    assert own.json()["items"] == []
    shared = logs(shared_gateway, PPT)
    assert shared.status_code == 200, shared.text
