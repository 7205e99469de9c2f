"""RPC request queues are quorum queues where QUORUM_QUEUES is on; reply queues are
transient, so a caller declares its own again on whichever node it reconnects to (issue 14)."""
import pytest
import requests
from kombu import Connection, Exchange, Queue
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook

from stafett.rpc import TimeoutRpcProxy
from stafett.service import ServiceBase
from tests.support.platform import free_port

pytestmark = pytest.mark.integration


class Echo(ServiceBase):
    name = "echo"

    @rpc
    def echo(self, value):
        return value


class Caller(ServiceBase):
    name = "caller"
    echo = TimeoutRpcProxy("echo")

    @rpc
    def relay(self, value):
        return self.echo.echo(value)


def queue_info(broker, amqp_uri, name):
    vhost = amqp_uri.rsplit("/", 1)[1]
    response = requests.get(f"{broker.management_url}/api/queues/{vhost}/{name}",
                            auth=("guest", "guest"), timeout=30)
    assert response.ok, response.text
    return response.json()


def start(container_factory, service, amqp_uri, quorum):
    container = container_factory(service, {
        "AMQP_URI": amqp_uri, "QUORUM_QUEUES": quorum, "RPC_TIMEOUT": 10,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"})
    container.start()
    return container


def test_an_rpc_queue_is_quorum_when_the_switch_is_on(container_factory, broker, amqp_uri):
    start(container_factory, Echo, amqp_uri, "true")
    info = queue_info(broker, amqp_uri, "rpc-echo")
    assert info["type"] == "quorum" and info["durable"] is True
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as proxy:
        assert proxy.echo.echo("hei") == "hei"  # and it is answered


def test_an_rpc_queue_is_classic_when_the_switch_is_off(container_factory, broker, amqp_uri):
    start(container_factory, Echo, amqp_uri, "false")
    assert queue_info(broker, amqp_uri, "rpc-echo")["type"] == "classic"


def test_an_existing_classic_rpc_queue_is_kept_and_served(container_factory, broker,
                                                          amqp_uri, caplog):
    # a broker that ran before the switch: the queue's type cannot change while it exists
    with Connection(amqp_uri) as connection:
        Queue("rpc-echo", exchange=Exchange("nameko-rpc", type="topic", durable=True),
              routing_key="echo.*", durable=True)(connection.default_channel).declare()
    start(container_factory, Echo, amqp_uri, "true")
    assert queue_info(broker, amqp_uri, "rpc-echo")["type"] == "classic"
    assert "exists as a classic queue, not quorum" in caplog.text
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as proxy:
        assert proxy.echo.echo(7) == 7


def test_a_reply_queue_is_transient(container_factory, broker, amqp_uri):
    start(container_factory, Echo, amqp_uri, "true")
    caller = start(container_factory, Caller, amqp_uri, "true")
    with entrypoint_hook(caller, "relay") as relay:
        assert relay("svar") == "svar"
    vhost = amqp_uri.rsplit("/", 1)[1]
    queues = requests.get(f"{broker.management_url}/api/queues/{vhost}",
                          auth=("guest", "guest"), timeout=30).json()
    replies = [q for q in queues if q["name"].startswith("rpc.reply-caller-")]
    assert len(replies) == 1
    assert replies[0]["durable"] is False and replies[0]["auto_delete"] is True
    assert replies[0]["type"] == "classic"
