"""Outages answer 503 with Retry-After (never 500), and /healthz never waits (issue 14)."""
import time

import eventlet
import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from stafett.config import component_config
from tests.support.platform import Platform, wait_for


def problem_503(response):
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    return response.json()


@pytest.mark.parametrize("database_backend", ["postgres"], indirect=True)
def test_a_service_whose_database_is_down_answers_503_with_retry_after(platform,
                                                                        database_urls):
    platform.seed()
    teacher = platform.client("teacher")
    assert teacher.get("/api/v1/logs").status_code == 200
    url = make_url(database_urls["logs"])
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"),
                               {"name": name})
        problem = problem_503(teacher.get("/api/v1/logs"))
        assert "database" in problem["detail"] and "logs" in problem["detail"]
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()
    # back without a restart (the pool pre-pings)
    wait_for(lambda: teacher.get("/api/v1/logs").status_code == 200, timeout=10,
             message="the logs service to reach its database again")


def test_the_gateway_worker_count_is_configurable_with_a_sound_default():
    assert component_config("gateway", environ={})["max_workers"] == 64
    assert component_config("gateway", environ={"GATEWAY_MAX_WORKERS": "8"})[
        "max_workers"] == 8


def test_healthz_answers_while_every_worker_waits_on_a_service(
        container_factory, amqp_uri, database_urls, tmp_path, monkeypatch):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path, max_workers=2)
    platform.start()
    try:
        platform.seed()
        teacher = platform.client("teacher")
        assert teacher.get("/api/v1/me").status_code == 200
        from services.consent.service import ConsentService

        opened, held = eventlet.event.Event(), []
        original = ConsentService.list_agencies

        def hanging(service):  # a service that answers nothing for a while
            held.append(1)
            with eventlet.Timeout(15, False):
                opened.wait()
            return original(service)

        monkeypatch.setattr(ConsentService, "list_agencies", hanging)
        busy = [eventlet.spawn(teacher.get, "/api/v1/agencies") for _ in range(2)]
        wait_for(lambda: len(held) == 2, timeout=10, message="both gateway workers to wait")
        # every worker is taken: an API request waits for a slot ...
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(platform.url() + "/api/v1/me", timeout=1,
                         headers={"Authorization": f"Bearer {platform.token('teacher')}"})
        # ... but liveness answers at once, without a worker and without RPC
        started = time.monotonic()
        health = requests.get(platform.url() + "/healthz", timeout=2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert time.monotonic() - started < 1
        opened.send(True)
        assert all(response.wait().status_code == 200 for response in busy)
    finally:
        platform.close()


def test_the_gateway_answers_503_while_it_cannot_reach_the_broker(
        container_factory, amqp_uri, database_urls, tmp_path):
    from urllib.parse import urlsplit

    from tests.support.tcp_proxy import TcpProxy

    upstream = urlsplit(str(amqp_uri))
    proxy = TcpProxy((upstream.hostname, upstream.port or 5672))

    class Cut(Platform):
        def config(self, component):
            config = super().config(component)
            if component == "gateway":  # the gateway reaches the broker through the proxy
                config["AMQP_URI"] = proxy.uri(config["AMQP_URI"])
            return config

    platform = Cut(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start()
    try:
        platform.seed()
        teacher = platform.client("teacher")
        # the teacher's logs: an RPC every time (``/me`` is answered from the actor cache)
        assert teacher.get("/api/v1/logs").status_code == 200
        proxy.cut()
        started = time.monotonic()
        problem = problem_503(teacher.get("/api/v1/logs"))
        assert "broker" in problem["detail"] or "answer" in problem["detail"], problem
        assert time.monotonic() - started < 15
        proxy.restore()
        wait_for(lambda: teacher.get("/api/v1/logs").status_code == 200, timeout=15,
                 interval=0.5, message="the gateway to reconnect")
    finally:
        proxy.restore()  # a container stopped while its broker is cut waits for it
        platform.close()
        proxy.close()
