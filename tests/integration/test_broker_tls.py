"""AMQPS with certificate verification (AMQP_TLS), against a TLS listener on loopback.

A test CA and certificates are made here; a TLS-terminating proxy (tests/support/tls.py)
serves them in front of the real broker, as RabbitMQ's ssl listener would. A component
connects through it as its own user and answers RPC; a certificate from another CA, or for
another name, is refused before a single AMQP byte is sent.
"""
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from kombu.exceptions import OperationalError
from nameko.standalone.rpc import ClusterRpcProxy

from stafett import broker
from stafett.actor import SYSTEM_ACTOR
from stafett.config import component_config
from tests.support.platform import Platform, wait_for
from tests.support.tls import TestCa, tls_proxy


@pytest.fixture
def pki(tmp_path):
    folder = tmp_path / "pki"
    folder.mkdir()
    ca = TestCa(folder, "Stafett test CA")
    return {
        "ca": ca,
        "other_ca": TestCa(folder, "Someone else's CA"),
        "server": ca.issue("localhost", dns=("localhost",), ips=("127.0.0.1",)),
        "elsewhere": ca.issue("broker.elsewhere.test", dns=("broker.elsewhere.test",)),
        "client": ca.issue("stafett-consent", client=True),
    }


def upstream(amqp_uri: str) -> tuple[str, int]:
    parts = urlsplit(amqp_uri)
    return parts.hostname, parts.port or 5672


def through(uri: str, port: int) -> str:
    """``uri`` (user, password, vhost kept) at the TLS listener on 127.0.0.1:port."""
    parts = urlsplit(uri)
    netloc = parts.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def tls_config(uri: str, ca_file, **settings) -> dict:
    return component_config("consent", AMQP_URI=uri, AMQP_TLS="true",
                            AMQP_TLS_CA_FILE=str(ca_file), **settings)


def test_a_service_connects_as_its_own_user_over_tls_and_answers_rpc(
        container_factory, amqp_uri, database_urls, tmp_path, pki):
    with tls_proxy(pki["server"], upstream(amqp_uri), tmp_path / "proxy.log") as proxy:
        platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                            AMQP_TLS="true", AMQP_TLS_CA_FILE=str(pki["ca"].file))
        platform.component_uris = {component: through(uri, proxy.port)
                                   for component, uri in amqp_uri.component_uris.items()}
        assert platform.config("consent")["AMQP_SSL"]["server_hostname"] == "127.0.0.1"
        platform.start(["consent"])
        try:
            ready = requests.get(platform.url("consent") + "/readyz", timeout=10).json()
            assert ready["checks"]["broker"] == "ok"
            caller = tls_config(through(amqp_uri, proxy.port), pki["ca"].file)
            with ClusterRpcProxy(caller, timeout=10,
                                 context_data={"actor": SYSTEM_ACTOR.to_context()}) as rpc:
                agencies = rpc.consent.list_agencies()
            assert isinstance(agencies, list)
        finally:
            platform.close()
        sessions = proxy.sessions()
        # the service's consumer and publisher connections, the probe's, the caller's
        assert len(sessions) >= 3 and all("TLSv1.3" in s or "TLSv1.2" in s for s in sessions)


def test_a_certificate_from_another_ca_is_refused(amqp_uri, tmp_path, pki):
    with tls_proxy(pki["server"], upstream(amqp_uri), tmp_path / "proxy.log") as proxy:
        config = tls_config(through(amqp_uri.component_uris["consent"], proxy.port),
                            pki["other_ca"].file)
        with pytest.raises(broker.BrokerTlsRefused) as caught:
            broker.connected(config, max_retries=3)
        message = str(caught.value)
        assert "the broker's TLS certificate was refused" in message
        assert "unable to get local issuer certificate" in message
        assert broker.tls_refusal(caught.value).verify_code == 20
        assert proxy.sessions() == []  # no session: nothing reached the broker


def test_a_service_with_the_wrong_ca_does_not_start(container_factory, amqp_uri,
                                                    database_urls, tmp_path, pki):
    with tls_proxy(pki["server"], upstream(amqp_uri), tmp_path / "proxy.log") as proxy:
        platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                            AMQP_TLS="true", AMQP_TLS_CA_FILE=str(pki["other_ca"].file))
        platform.component_uris = {"consent": through(amqp_uri.component_uris["consent"],
                                                      proxy.port)}
        with pytest.raises(broker.BrokerTlsRefused) as caught:
            platform.start(["consent"])
        assert "unable to get local issuer certificate" in str(caught.value)
        platform.close()


@pytest.mark.parametrize("server_name,reason", [
    (None, "IP address mismatch, certificate is not valid for '127.0.0.1'"),
    ("localhost", "Hostname mismatch, certificate is not valid for 'localhost'"),
])
def test_a_certificate_for_another_name_is_refused(amqp_uri, tmp_path, pki, server_name,
                                                   reason):
    with tls_proxy(pki["elsewhere"], upstream(amqp_uri), tmp_path / "proxy.log") as proxy:
        settings = {"AMQP_TLS_SERVER_NAME": server_name} if server_name else {}
        config = tls_config(through(amqp_uri.component_uris["consent"], proxy.port),
                            pki["ca"].file, **settings)
        with pytest.raises(broker.BrokerTlsRefused) as caught:
            broker.connected(config, max_retries=3)
        assert reason in str(caught.value)
        assert broker.tls_refusal(caught.value).verify_code in (62, 64)

        # the same certificate, checked for the name it carries: accepted
        config = tls_config(through(amqp_uri.component_uris["consent"], proxy.port),
                            pki["ca"].file, AMQP_TLS_SERVER_NAME="broker.elsewhere.test")
        with broker.connected(config, max_retries=1) as connection:
            assert connection.connected


def test_a_client_certificate_is_presented_when_configured(amqp_uri, tmp_path, pki):
    with tls_proxy(pki["server"], upstream(amqp_uri), tmp_path / "proxy.log",
                   client_ca=pki["ca"].file) as proxy:
        uri = through(amqp_uri.component_uris["consent"], proxy.port)
        with pytest.raises(OperationalError):  # the listener wants a certificate
            broker.connected(tls_config(uri, pki["ca"].file), max_retries=1)
        wait_for(lambda: "PEER_DID_NOT_RETURN_A_CERTIFICATE" in proxy.log.read_text(),
                 timeout=5, message="the listener's reason")
        assert proxy.sessions() == []
        config = tls_config(uri, pki["ca"].file,
                            AMQP_TLS_CERT_FILE=str(pki["client"].cert),
                            AMQP_TLS_KEY_FILE=str(pki["client"].key))
        with broker.connected(config, max_retries=1) as connection:
            assert connection.connected
        assert any("client=commonName=stafett-consent" in s for s in proxy.sessions())


def test_the_readiness_probe_names_a_refused_certificate(container_factory, amqp_uri,
                                                         database_urls, tmp_path, pki):
    """A running component whose broker starts presenting a certificate it does not trust
    (a swapped listener) reports it on /readyz. Readiness reads the consumer's own
    connection (no new connection per probe): the listener is swapped under it, the
    connection drops, and the consumer's reconnection is refused."""
    with tls_proxy(pki["server"], upstream(amqp_uri), tmp_path / "good.log") as good:
        port = good.port
        platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                            AMQP_TLS="true", AMQP_TLS_CA_FILE=str(pki["ca"].file))
        platform.component_uris = {"notifications": through(
            amqp_uri.component_uris["notifications"], port)}
        platform.start(["notifications"])
        readyz = platform.url("notifications") + "/readyz"
        assert requests.get(readyz, timeout=10).status_code == 200
    try:
        with tls_proxy(pki["elsewhere"], upstream(amqp_uri), tmp_path / "bad.log", port=port):
            refused = wait_for(
                lambda: (r := requests.get(readyz, timeout=10)).status_code == 503
                and "TLS" in r.json()["checks"]["broker"] and r.json(),
                timeout=30, message="readiness to name the refused certificate")
            assert refused["checks"]["broker"] == (
                "unreachable: TLS certificate refused "
                "(IP address mismatch, certificate is not valid for '127.0.0.1'.)")
    finally:
        # the right certificate again, and the consumer reconnects by itself (a consumer
        # that cannot connect cannot be stopped)
        with tls_proxy(pki["server"], upstream(amqp_uri), tmp_path / "again.log", port=port):
            wait_for(lambda: requests.get(readyz, timeout=10).status_code == 200, timeout=90,
                     interval=0.5, message="the consumer back on a trusted listener")
            platform.close()
