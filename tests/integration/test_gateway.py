"""The gateway over a real broker: 503 when a service is down, problem+json for bad input,
identity only from verified tokens, probes and metrics on every component."""
import time

import pytest
import requests
from kombu import Connection

from stafett.actor import Actor
from tests.support.platform import COMPONENTS, wait_for


@pytest.mark.parametrize("service,path", [
    ("consent", "/api/v1/children/00000000-0000-4000-8000-000000000000/consents"),
    ("logs", "/api/v1/logs"), ("handover", "/api/v1/handovers"),
    ("notifications", "/api/v1/notifications")])
def test_a_stopped_service_gives_503_with_retry_after_within_the_timeout(
        container_factory, amqp_uri, database_urls, tmp_path, service, path):
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path, RPC_TIMEOUT=1)
    platform.start()
    platform.seed()
    teacher = platform.client("teacher")
    assert teacher.get(path).status_code in (200, 404)

    platform.stop(service)  # its request queue stays, nobody consumes it
    started = time.monotonic()
    response = teacher.get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert service in response.json()["detail"] and "Traceback" not in response.text
    assert elapsed < 2.5  # within the timeout (1 s), never hanging

    # the abandoned request expires in the queue instead of running later
    def queue_empty():
        with Connection(amqp_uri) as connection:
            _, count, _ = connection.default_channel.queue_declare(f"rpc-{service}",
                                                                   passive=True)
        return count == 0
    wait_for(queue_empty, timeout=5, message="the abandoned request to expire")
    platform.close()


def test_a_service_that_never_ran_gives_503_at_once(container_factory, amqp_uri,
                                                    database_urls, tmp_path):
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start(["consent", "logs", "notifications", "gateway"])  # no handover
    platform.seed()
    started = time.monotonic()
    response = platform.client("teacher").get("/api/v1/handovers")
    assert response.status_code == 503
    assert time.monotonic() - started < 1.5
    platform.close()


def test_identity_headers_from_clients_are_ignored(seeded_platform):
    platform = seeded_platform
    spoofed = Actor(kind="staff", person_id="x", agency="999999999").to_context()
    anonymous = requests.get(platform.url() + "/api/v1/me", timeout=10,
                             headers={"nameko-actor": spoofed, "Nameko.Actor": spoofed,
                                      "X-Actor": spoofed})
    assert anonymous.status_code == 401
    guardian = platform.client("guardian")
    me = guardian.get("/api/v1/me", headers={"nameko-actor": spoofed})
    assert me.status_code == 200
    assert me.json()["kind"] == "citizen" and me.json()["agency"] is None


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer not.a.jwt"])
def test_missing_or_bad_tokens_are_401_problems(seeded_platform, header):
    platform = seeded_platform
    headers = {"Authorization": header} if header else {}
    response = requests.get(platform.url() + "/api/v1/logs", headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_an_expired_token_is_refused(seeded_platform):
    platform = seeded_platform
    client = platform.client("teacher", ttl_seconds=-3600)
    assert client.get("/api/v1/logs").status_code == 401


def test_bad_input_is_a_clear_problem_and_writes_nothing(platform):
    platform.seed()
    teacher = platform.client("teacher")
    not_json = teacher.post("/api/v1/logs", data="{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["detail"] == "the body is not valid JSON"
    too_big = teacher.post("/api/v1/logs", json={"child_id": "x" * 70000})
    assert too_big.status_code == 413
    invalid = teacher.post("/api/v1/logs", json={"level": 7})
    assert invalid.status_code == 422
    assert set(invalid.json()["errors"]) == {"child_id", "level"}
    bad_number = teacher.post("/api/v1/children/search", json={"national_id": "12345678901"})
    assert bad_number.status_code == 422
    assert "12345678901" not in bad_number.text
    assert teacher.get("/api/v1/logs").json()["items"] == []


def test_every_component_has_probes_and_red_metrics(seeded_platform):
    platform = seeded_platform
    platform.client("teacher").get("/api/v1/logs")
    for component in COMPONENTS:
        base = platform.url(component)
        assert requests.get(base + "/healthz", timeout=5).json()["status"] == "ok"
        ready = requests.get(base + "/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["broker"] == "ok"
        if component != "gateway":
            assert ready.json()["checks"]["database"] == "ok"
    metrics = requests.get(platform.url("logs") + "/metrics", timeout=5).text
    assert 'stafett_requests_total{entrypoint="my_logs",kind="rpc",service="logs"}' in metrics
    assert "stafett_request_duration_seconds_bucket" in metrics
    assert 'stafett_outbox_pending{service="logs"}' in metrics
    gateway_metrics = requests.get(platform.url() + "/metrics", timeout=5).text
    assert 'entrypoint="my_logs",kind="http",service="gateway"' in gateway_metrics


def test_readyz_reports_an_unreachable_database(container_factory, amqp_uri, tmp_path):
    from tests.support.platform import Platform

    urls = {"notifications": "postgresql+psycopg2://nobody@127.0.0.1:1/none"}
    platform = Platform(container_factory, amqp_uri, urls, tmp_path, MIGRATE_ON_START="false")
    platform.start(["notifications"])
    ready = requests.get(platform.url("notifications") + "/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unreachable")
    platform.close()


def test_unknown_paths_and_methods_are_problems_too(seeded_platform):
    platform = seeded_platform
    missing = requests.get(platform.url() + "/api/v1/nothing-here", timeout=5)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    wrong = requests.delete(platform.url() + "/api/v1/logs", timeout=5)
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]
    assert wrong.json()["status"] == 405
    assert missing.headers["X-Content-Type-Options"] == "nosniff"
    assert missing.headers["Cache-Control"] == "no-store"
