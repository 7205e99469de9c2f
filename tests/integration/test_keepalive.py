"""A client that holds one keep-alive connection gets large answers without a TCP stall.

Without ``TCP_NODELAY`` on the gateway's accepted sockets, eventlet writes a response's
headers and a body larger than its 16 KiB write buffer as two sends; a body shorter than
one segment (64 KiB on loopback) then waits, under Nagle's algorithm, for the client's
delayed ACK of the headers: 40 ms on Linux, on every request of a kept-alive connection
after the first. Measured before the fix, a 50 KB log: 60 ms a request on one kept-alive
connection against 16 ms on a fresh connection each (a fresh connection ACKs at once),
the 44 ms between the answer's headers and the end of its body.
The gateway sets ``TCP_NODELAY`` on every socket it accepts
(``stafett.web.ProblemWebServer.process_request``).
"""
from __future__ import annotations

import http.client
import socket
import statistics
import time

import pytest

from stafett.dev.demo import AGENCIES, EMMA
from stafett.web import ProblemWebServer
from tests.support.platform import Platform

SCHOOL = AGENCIES["school"]["org_number"]

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


def fetch(connection, path: str, headers: dict) -> tuple[float, float, bytes]:
    """(ms for the whole answer, ms from its headers to the end of its body, the body).
    The second is where a stall shows: the server sends the body right after the headers,
    so without one it is a copy on loopback, whatever the machine's load; with one, the
    body waits >= 40 ms for the client's delayed ACK of the headers."""
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    headers_in = time.perf_counter()
    body = response.read()
    done = time.perf_counter()
    assert response.status == 200, body[:300]
    assert not response.will_close  # the server keeps the connection
    return (done - started) * 1000, (done - headers_in) * 1000, body


def kept_alive(platform, accepted, path: str, headers: dict | None = None):
    """``REQUESTS`` sequential GETs on one held connection (after a warm-up): their
    latencies and header-to-body gaps (ms), the body, and whether the server's end of
    that connection has TCP_NODELAY."""
    connection = connect(platform)
    try:
        client_port = connection.sock.getsockname()[1]
        latencies, gaps, body = [], [], b""
        for number in range(WARM_UP + REQUESTS):
            elapsed_ms, gap_ms, body = fetch(connection, path, headers or {})
            assert connection.sock.getsockname()[1] == client_port  # still the same one
            if number >= WARM_UP:
                latencies.append(elapsed_ms)
                gaps.append(gap_ms)
        served = [sock for port, sock in accepted if port == client_port]
        assert len(served) == 1, f"{len(served)} accepted sockets for one kept-alive client"
        nodelay = served[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        connection.close()
    return latencies, gaps, body, nodelay


def test_the_api_document_on_one_kept_alive_connection_is_fast_and_unstalled(
        container_factory, amqp_uri, database_urls, tmp_path, accepted):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start(["gateway"])  # /openapi.json needs no service
    try:
        latencies, _, body, nodelay = kept_alive(platform, accepted, "/openapi.json")
    finally:
        platform.close()
    assert nodelay != 0, "the gateway's accepted socket has no TCP_NODELAY"
    assert len(body) > 64 * 1024
    median = statistics.median(latencies)
    # the document is built once and cached: sending 140 KB on loopback takes 1-3 ms, so a
    # loaded two-core machine has ten times that in hand before a 40 ms stall would show
    assert median < 30, f"median {median:.1f} ms: {sorted(latencies)}"


def test_a_50_kb_log_on_one_kept_alive_connection_comes_without_a_stall(
        container_factory, amqp_uri, database_urls, tmp_path, accepted):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start()
    try:
        platform.seed()
        guardian, teacher = platform.client("guardian"), platform.client("teacher")
        emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                    if c["name"] == EMMA["name"])
        assert guardian.post(f"/api/v1/children/{emma}/consents", json={
            "scope": {"agencies": [SCHOOL]}, "purpose": "Samarbeid"}).status_code == 201
        opened = teacher.post("/api/v1/logs", json={"child_id": emma})
        assert opened.status_code == 201, opened.text
        log = f"/api/v1/logs/{opened.json()['id']}"
        for _ in range(10):  # ten 4 KB entries: the log is ~45 KB, in the stalling range
            assert teacher.post(log + "/entries", json={
                "kind": "note", "text": "Lorem ipsum dolor sit amet. " * 140}).status_code == 201
        headers = {"Authorization": teacher.session.headers["Authorization"]}
        latencies, gaps, body, nodelay = kept_alive(platform, accepted, log, headers)
    finally:
        platform.close()
    assert 16 * 1024 < len(body) < 64 * 1024, f"the log is {len(body)} bytes"
    assert nodelay != 0, "the gateway's accepted socket has no TCP_NODELAY"
    # a stall puts >= 40 ms between the headers and the end of the body of every
    # kept-alive answer; without one, the body follows the headers at once
    gap = statistics.median(gaps)
    assert gap < DELAYED_ACK_MS / 2, (
        f"median {gap:.1f} ms from headers to body (whole answers: median "
        f"{statistics.median(latencies):.1f} ms): gaps {sorted(round(x) for x in gaps)}")
