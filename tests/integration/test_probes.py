"""Probes read the state a component already holds, and metrics have a port of their own.

Readiness must cost the broker nothing: with the test's vhost closed to new connections
(its ``max-connections`` limit), every probe still answers 200; when the broker drops the
component's own connection and refuses a new one, the probe says so (503), and why, until
the consumer reconnects by itself.
"""
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests

from tests.support.platform import Platform, free_port, wait_for


class Vhost:
    """The test's vhost through the management API."""

    def __init__(self, broker, amqp_uri: str):
        self.name = unquote(urlsplit(amqp_uri).path[1:])
        self.api = f"{broker.management_url}/api"
        self.auth = broker._auth()

    def limit_connections(self, value: int) -> None:
        requests.put(f"{self.api}/vhost-limits/{quote(self.name, safe='')}/max-connections",
                     json={"value": value}, auth=self.auth, timeout=30).raise_for_status()

    def connections(self) -> list[dict]:
        response = requests.get(f"{self.api}/vhosts/{quote(self.name, safe='')}/connections",
                                auth=self.auth, timeout=30)
        response.raise_for_status()
        return response.json()

    def close_connections(self) -> int:
        names = [connection["name"] for connection in self.connections()]
        for name in names:
            requests.delete(f"{self.api}/connections/{quote(name, safe='')}",
                            auth=self.auth, timeout=30)
        return len(names)


def readiness(platform: Platform, component: str) -> requests.Response:
    return requests.get(platform.url(component) + "/readyz", timeout=5)


@pytest.mark.parametrize("component", ["handover", "gateway"])
def test_readiness_opens_no_connection_and_follows_the_consumers_own(
        container_factory, broker, amqp_uri, database_urls, tmp_path, component):
    if not broker._management_ok():
        pytest.fail("this test needs the RabbitMQ management API (scripts/ensure-services.sh)")
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start([component])
    vhost = Vhost(broker, amqp_uri)
    wait_for(lambda: readiness(platform, component).status_code == 200, timeout=20,
             message="ready")
    wait_for(lambda: vhost.connections(), timeout=20, message="the broker lists a connection")

    # not one new connection may be opened on this vhost from here on
    vhost.limit_connections(0)
    try:
        for _ in range(20):
            ready = readiness(platform, component)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["broker"] == "ok"

        # the broker drops the component's connections; it may not open new ones
        assert vhost.close_connections() >= 1
        # (a Response is falsy when not ok: wait for its body instead)
        lost = wait_for(lambda: (r := readiness(platform, component)).status_code == 503
                        and r.json(), timeout=20, message="readiness to see the lost connection")
        assert lost["status"] == "not ready" and lost["checks"]["database"] == "ok"
        # and, once it has tried to reconnect, why it cannot
        refused = wait_for(lambda: readiness(platform, component).json()["checks"]["broker"]
                           == "disconnected: NotAllowed", timeout=20,
                           message="the refused reconnection in readiness")
        assert refused
    finally:
        vhost.limit_connections(-1)
    # the consumer reconnects by itself, and readiness follows
    wait_for(lambda: readiness(platform, component).status_code == 200, timeout=45,
             interval=0.5, message="readiness after the consumer reconnected")
    platform.close()


def test_metrics_on_their_own_port_and_not_on_the_public_one(
        container_factory, amqp_uri, database_urls, tmp_path):
    metrics_port = free_port()
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        METRICS_ADDRESS=f"127.0.0.1:{metrics_port}")
    platform.start(["logs"])
    metrics_url = f"http://127.0.0.1:{metrics_port}"

    scraped = requests.get(metrics_url + "/metrics", timeout=5)
    assert scraped.status_code == 200
    assert scraped.headers["Content-Type"].startswith("text/plain")
    assert 'stafett_outbox_pending{service="logs"}' in scraped.text
    assert "stafett_request_duration_seconds" in scraped.text

    public = requests.get(platform.url("logs") + "/metrics", timeout=5)
    assert public.status_code == 404
    assert public.headers["Content-Type"] == "application/problem+json"
    assert public.json()["detail"] == "no such resource"
    # the probes stay on the component's port; the metrics port serves /metrics only
    assert requests.get(platform.url("logs") + "/readyz", timeout=5).status_code == 200
    other = requests.get(metrics_url + "/readyz", timeout=5)
    assert other.status_code == 404 and other.json()["detail"] == "no such resource"
    posted = requests.post(metrics_url + "/metrics", timeout=5)
    assert posted.status_code == 405 and posted.headers["Allow"] == "GET, HEAD"
    platform.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(metrics_url + "/metrics", timeout=2)
