"""A client that holds one keep-alive connection gets large answers without a TCP stall.

Without ``TCP_NODELAY`` on the gateway's accepted sockets, eventlet writes a response's
headers and a body larger than its 16 KiB write buffer as two sends; a body shorter than
one segment (64 KiB on loopback) then waits, under Nagle's algorithm, for the client's
delayed ACK of the headers: 40 ms on Linux, on every request of a kept-alive connection
after the first. Measured before the fix, a 50 KB log: 60 ms a request on one kept-alive
connection against 16 ms on a fresh connection each (a fresh connection ACKs at once).
The gateway sets ``TCP_NODELAY`` on every socket it accepts
(``stafett.web.ProblemWebServer.process_request``).
"""
from __future__ import annotations

import http.client
import socket
import statistics
import time

import pytest

from stafett.web import ProblemWebServer
from tests.support.platform import Platform

#: Linux's minimum delayed-ACK timeout: a stalled response takes at least this much longer
DELAYED_ACK_MS = 40
REQUESTS = 20
WARM_UP = 3


@pytest.fixture
def accepted(monkeypatch) -> list:
    """``(client port, socket)`` of every connection the gateway's HTTP server accepts (a
    spy around the real handler)."""
    sockets: list = []
    original = ProblemWebServer.process_request

    def spy(self, sock, address):
        if self.container.service_name == "gateway":
            sockets.append((address[1], sock))
        return original(self, sock, address)

    monkeypatch.setattr(ProblemWebServer, "process_request", spy)
    return sockets


def connect(platform) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", platform.ports["gateway"],
                                            timeout=10)
    connection.connect()
    return connection


def fetch(connection, path: str, headers: dict) -> tuple[float, bytes]:
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status == 200, body[:300]
    assert not response.will_close  # the server keeps the connection
    return elapsed_ms, body


def kept_alive(platform, accepted, path: str, headers: dict | None = None):
    """``REQUESTS`` sequential GETs on one held connection (after a warm-up): their
    latencies (ms), the body, and the server's end of that connection."""
    connection = connect(platform)
    try:
        client_port = connection.sock.getsockname()[1]
        latencies, body = [], b""
        for number in range(WARM_UP + REQUESTS):
            elapsed_ms, body = fetch(connection, path, headers or {})
            assert connection.sock.getsockname()[1] == client_port  # still the same one
            if number >= WARM_UP:
                latencies.append(elapsed_ms)
        served = [sock for port, sock in accepted if port == client_port]
        assert len(served) == 1, f"{len(served)} accepted sockets for one kept-alive client"
        nodelay = served[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        connection.close()
    return latencies, body, nodelay


def test_the_api_document_on_one_kept_alive_connection_is_fast_and_unstalled(
        container_factory, amqp_uri, database_urls, tmp_path, accepted):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start(["gateway"])  # /openapi.json needs no service
    try:
        latencies, body, nodelay = kept_alive(platform, accepted, "/openapi.json")
    finally:
        platform.close()
    assert nodelay != 0, "the gateway's accepted socket has no TCP_NODELAY"
    assert len(body) > 64 * 1024
    median = statistics.median(latencies)
    # the document is built once and cached: sending 140 KB on loopback takes 1-3 ms, so a
    # loaded two-core machine has ten times that in hand before a 40 ms stall would show
    assert median < 30, f"median {median:.1f} ms: {sorted(latencies)}"


def test_a_50_kb_log_on_one_kept_alive_connection_costs_no_more_than_on_fresh_ones(
        container_factory, amqp_uri, database_urls, tmp_path, accepted):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start()
    try:
        platform.seed()
        log = f"/api/v1/logs/{platform.seed_stories()['emma']}"
        teacher = platform.client("teacher")
        for _ in range(10):  # ten 4 KB entries: the log is 50 KB, in the stalling range
            assert teacher.post(log + "/entries", json={
                "kind": "note", "text": "Lorem ipsum dolor sit amet. " * 140}).status_code == 201
        headers = {"Authorization": teacher.session.headers["Authorization"]}

        def fresh_connections() -> list[float]:
            """The control: the same GET on a new connection each time, which ACKs at once
            (quick-ACK mode), so it never waits for a delayed ACK, stall or no stall."""
            latencies = []
            for _ in range(REQUESTS // 2):
                connection = connect(platform)
                try:
                    latencies.append(fetch(connection, log, headers)[0])
                finally:
                    connection.close()
            return latencies

        # interleaved, so load on the machine falls on both alike
        control = fresh_connections()
        latencies, body, nodelay = kept_alive(platform, accepted, log, headers)
        control += fresh_connections()
    finally:
        platform.close()
    assert 16 * 1024 < len(body) < 64 * 1024, f"the log is {len(body)} bytes"
    assert nodelay != 0, "the gateway's accepted socket has no TCP_NODELAY"
    kept, fresh = statistics.median(latencies), statistics.median(control)
    # a stall adds >= 40 ms to every kept-alive request; without one they cost the same
    assert kept < fresh + DELAYED_ACK_MS / 2, (
        f"kept-alive median {kept:.1f} ms vs {fresh:.1f} ms on fresh connections: "
        f"kept {sorted(round(x) for x in latencies)}")
