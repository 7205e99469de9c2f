"""The webhook channel against real loopback servers (HTTP, HTTPS with a test CA, a bare
listener): it connects to the address it checked, keeps TLS verification and SNI for the
host name, and records only neutral categories.

The host names used here exist only in the test's resolver: had the channel resolved a
name a second time (the C library, urllib3), it could not have connected at all.
"""
from __future__ import annotations

import json
import socket
import ssl

import pytest
import trustme

from services.notifications import domain
from services.notifications.channels import Outgoing, WebhookChannel
from services.notifications.targets import TargetPolicy
from tests.support.notifications import ConnectionCounter, WebhookReceiver
from tests.support.platform import free_port

NAME = "hooks.stafett.test"
SECRET = "whsec_channel-test"


class Dns:
    def __init__(self, answers: dict):
        self.answers, self.questions = answers, []

    def __call__(self, host, port):
        self.questions.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def tls_context(ca, *names) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture
def servers():
    started = []

    def start(server):
        started.append(server.start() if hasattr(server, "start") else server)
        return started[-1]
    yield start
    for server in started:
        server.stop()


def outgoing(url: str) -> Outgoing:
    return Outgoing(delivery_id="d-1", event_id="e-1", event_type="log.measure_added",
                    kind="measure_assigned", context={"log_id": "l-1"}, url=url,
                    secret=SECRET)


def channel(dns: Dns, ca_file: str | None = None, *, allow_loopback=True, timeout=5.0):
    return WebhookChannel("https://stafett.test", timeout=timeout, ca_bundle=ca_file,
                          policy=TargetPolicy(allow_loopback=allow_loopback, resolver=dns))


# -- the connection goes to the checked address, TLS still checks the name -------------------------

def test_https_to_a_name_connects_to_the_checked_address_with_sni_and_verification(
        ca, ca_file, servers):
    receiver = servers(WebhookReceiver(tls=tls_context(ca, NAME)))
    receiver.endpoint("/hooks", secret=SECRET)
    dns = Dns({NAME: ["127.0.0.1"]})
    with pytest.raises(OSError):            # the name is unknown outside the test's resolver
        socket.getaddrinfo(NAME, receiver.port)

    outcome = channel(dns, ca_file).send(outgoing(receiver.url("/hooks", host=NAME)))

    assert (outcome.status, outcome.error) == (domain.DELIVERED, None)
    assert dns.questions == [NAME]                       # resolved once, by the check
    assert receiver.server_names == [NAME]               # SNI: the name, not the address
    [received] = receiver.at("/hooks")
    assert received.headers["Host"] == f"{NAME}:{receiver.port}"
    assert received.verified and json.loads(received.body)["event_id"] == "e-1"


def test_a_certificate_for_another_name_is_a_tls_failure_and_nothing_is_sent(
        ca, ca_file, servers):
    receiver = servers(WebhookReceiver(tls=tls_context(ca, "other.stafett.test")))
    receiver.endpoint("/hooks", secret=SECRET)
    outcome = channel(Dns({NAME: ["127.0.0.1"]}), ca_file).send(
        outgoing(receiver.url("/hooks", host=NAME)))
    assert (outcome.status, outcome.error) == (domain.FAILED_TEMPORARY, "tls")
    assert receiver.received == []


def test_a_certificate_from_an_unknown_ca_is_a_tls_failure(ca, servers):
    receiver = servers(WebhookReceiver(tls=tls_context(ca, NAME)))
    outcome = channel(Dns({NAME: ["127.0.0.1"]})).send(     # the default bundle (certifi)
        outgoing(receiver.url("/hooks", host=NAME)))
    assert (outcome.status, outcome.error) == (domain.FAILED_TEMPORARY, "tls")
    assert receiver.received == []


def test_the_next_checked_address_is_tried_when_one_refuses(ca, ca_file, servers):
    receiver = servers(WebhookReceiver(tls=tls_context(ca, NAME)))
    receiver.endpoint("/hooks", secret=SECRET)
    # both addresses are loopback; the first (::1) has nothing listening on that port
    dns = Dns({NAME: ["::1", "127.0.0.1"]})
    outcome = channel(dns, ca_file).send(outgoing(receiver.url("/hooks", host=NAME)))
    assert outcome.status == domain.DELIVERED and dns.questions == [NAME]


# -- refused before connecting -------------------------------------------------------------------

@pytest.mark.parametrize("answers", [["127.0.0.1"], ["93.184.215.14", "127.0.0.1"],
                                     ["::ffff:127.0.0.1"]])
def test_a_name_resolving_inward_at_delivery_is_refused_before_any_connection(
        servers, answers):
    listener = servers(ConnectionCounter())
    dns = Dns({NAME: answers})
    outcome = channel(dns, allow_loopback=False).send(
        outgoing(f"https://{NAME}:{listener.port}/hooks"))
    assert (outcome.status, outcome.error) == (domain.FAILED_PERMANENT, "blocked_address")
    assert listener.connections == 0 and dns.questions == [NAME]


@pytest.mark.parametrize("url", ["https://127.0.0.1:{port}/x", "http://[::ffff:127.0.0.1]:{port}/",
                                 "https://2130706433:{port}/", "https://0.0.0.0:{port}/"])
def test_an_inward_address_in_a_stored_url_is_refused_at_delivery(servers, url):
    """A webhook registered before the check (or under another setting) is checked again."""
    listener = servers(ConnectionCounter())
    outcome = channel(Dns({}), allow_loopback=False).send(
        outgoing(url.format(port=listener.port)))
    assert (outcome.status, outcome.error) == (domain.FAILED_PERMANENT, "blocked_address")
    assert listener.connections == 0


def test_a_name_that_does_not_resolve_is_a_temporary_dns_failure():
    outcome = channel(Dns({})).send(outgoing("https://gone.stafett.test/hooks"))
    assert (outcome.status, outcome.error) == (domain.FAILED_TEMPORARY, "dns")


# -- neutral categories ---------------------------------------------------------------------------

def test_a_closed_port_is_refused_and_says_nothing_more():
    port = free_port()
    outcome = channel(Dns({NAME: ["127.0.0.1"]})).send(
        outgoing(f"https://{NAME}:{port}/hooks"))
    assert (outcome.status, outcome.error) == (domain.FAILED_TEMPORARY, "refused")


def test_https_to_a_plain_http_port_is_tls_and_says_nothing_more(servers):
    receiver = servers(WebhookReceiver())
    outcome = channel(Dns({})).send(outgoing(f"https://127.0.0.1:{receiver.port}/hooks"))
    assert (outcome.status, outcome.error) == (domain.FAILED_TEMPORARY, "tls")


def silent_listener():
    """Accepts into the backlog and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def test_a_silent_server_is_a_timeout():
    silent = silent_listener()
    try:
        outcome = channel(Dns({}), timeout=0.5).send(
            outgoing(f"http://127.0.0.1:{silent.getsockname()[1]}/hooks"))
    finally:
        silent.close()
    assert (outcome.status, outcome.error) == (domain.FAILED_TEMPORARY, "timeout")


@pytest.mark.parametrize("status, outcome_status", [
    (503, domain.FAILED_TEMPORARY), (429, domain.FAILED_TEMPORARY),
    (302, domain.FAILED_PERMANENT), (410, domain.FAILED_PERMANENT)])
def test_an_answer_is_its_status_and_redirects_are_not_followed(servers, status,
                                                                outcome_status):
    receiver = servers(WebhookReceiver())
    receiver.endpoint("/hooks", statuses=[status],
                      headers=[("Location", receiver.url("/elsewhere"))])
    receiver.endpoint("/elsewhere")
    outcome = channel(Dns({})).send(outgoing(receiver.url("/hooks")))
    assert (outcome.status, outcome.error) == (outcome_status, f"http_{status}")
    assert [r.path for r in receiver.received] == ["/hooks"]
