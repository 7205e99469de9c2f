"""A connection error in an ack or a reply does not kill a component (issue 14)."""
import pytest
from kombu.message import Message
from nameko.rpc import Responder, rpc
from nameko.standalone.rpc import ClusterRpcProxy

from stafett.service import ServiceBase
from tests.support.platform import free_port, wait_for


class Echo(ServiceBase):
    name = "echo"
    calls: list = []

    @rpc
    def echo(self, value):
        Echo.calls.append(value)
        return value


@pytest.fixture
def echo(container_factory, amqp_uri):
    Echo.calls = []
    container = container_factory(Echo, {"AMQP_URI": amqp_uri,
                                         "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"})
    container.start()
    return container


def test_a_connection_reset_during_an_ack_does_not_kill_the_service(echo, amqp_uri,
                                                                     monkeypatch):
    real_ack, resets = Message.ack, []

    def ack(message, *args, **kwargs):  # the service's ack of a request, not the reply's
        if not resets and message.delivery_info.get("routing_key") == "echo.echo":
            resets.append(message)
            raise ConnectionResetError(104, "Connection reset by peer")
        return real_ack(message, *args, **kwargs)

    monkeypatch.setattr(Message, "ack", ack)
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as proxy:
        assert proxy.echo.echo(1) == 1  # answered (the reply goes before the ack) ...
        wait_for(lambda: resets, timeout=5, message="the ack to be reset")
        assert not echo._died.ready()  # ... its ack was lost, and the container lives on
        assert proxy.echo.echo(2) == 2


def test_a_reply_that_cannot_be_sent_is_requeued_and_answered_again(echo, amqp_uri,
                                                                    monkeypatch):
    real_send, failures = Responder.send_response, []

    def send_response(responder, result, exc_info):
        if not failures:
            failures.append(result)
            raise ConnectionResetError(104, "Connection reset by peer")
        return real_send(responder, result, exc_info)

    monkeypatch.setattr(Responder, "send_response", send_response)
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as proxy:
        assert proxy.echo.echo("x") == "x"
    assert failures == ["x"] and Echo.calls == ["x", "x"]  # run again, answered once
    assert not echo._died.ready()
