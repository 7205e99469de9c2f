"""The broker is not a trusted room: over the real RabbitMQ, with the whole platform running
as one user per component (config/broker-access.yaml), a component's credentials do only
what its grant says. Each refusal is RabbitMQ's own ACCESS_REFUSED, and a tap bound as the
administrator shows the refused request never reached the exchange's queues.
"""
import uuid

import pytest
import requests
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from stafett.actor import SYSTEM_ACTOR
from tests.support.platform import COMPONENTS, wait_for

RPC = Exchange("nameko-rpc", type="topic", durable=True, no_declare=True)


def users_of(broker, amqp_uri) -> dict[str, str]:
    return {component: broker.users[component][0] for component in COMPONENTS}


@pytest.fixture
def uris(amqp_uri):
    if not amqp_uri.component_uris:
        pytest.fail("the broker gave no component users (is the management API on?)")
    return amqp_uri.component_uris


def connect(uri: str) -> Connection:
    # publisher confirms: a refused publish raises here, not on the next operation
    return Connection(uri, connect_timeout=30, transport_options={"confirm_publish": True})


def refusal(uri: str, action) -> str:
    """RabbitMQ's reason for refusing ``action(connection, channel)`` to this user."""
    with connect(uri) as connection:
        channel = connection.channel()
        with pytest.raises(AccessRefused) as caught:
            action(connection, channel)
    return str(caught.value)


def rpc_request(connection, channel, routing_key: str, reply_to: str | None = None,
                **kwargs):
    """A request shaped as nameko sends it, with a platform actor in the context."""
    connection.Producer(channel).publish(
        {"args": [], "kwargs": kwargs}, exchange=RPC,
        routing_key=routing_key, serializer="json", mandatory=True,
        reply_to=f"reply.gateway.{uuid.uuid4()}" if reply_to is None else reply_to or None,
        correlation_id=str(uuid.uuid4()),
        headers={"nameko.actor": SYSTEM_ACTOR.to_context()})


@pytest.fixture
def tap(amqp_uri):
    """A queue of the administrator's, bound to every RPC key the tests try."""
    keys = ["consent.register_child", "logs.apply_handover", "consent.list_agencies"]
    with Connection(amqp_uri) as connection:
        queue = Queue(f"tap-{uuid.uuid4().hex[:8]}", exchange=RPC, routing_key=keys[0],
                      exclusive=True)(connection.default_channel)
        queue.declare()
        for key in keys[1:]:
            queue.bind_to(RPC, routing_key=key)

        def taken() -> list[str]:
            keys_seen = []
            while (message := queue.get(no_ack=True)) is not None:
                keys_seen.append(message.delivery_info["routing_key"])
            return keys_seen
        yield taken


def test_each_component_connects_as_its_own_user(platform, broker, amqp_uri):
    vhost = amqp_uri.rsplit("/", 1)[1]
    expected = set(users_of(broker, amqp_uri).values())

    def connected_users():
        response = requests.get(f"{broker.management_url}/api/vhosts/{vhost}/connections",
                                auth=("guest", "guest"), timeout=10)
        return {connection["user"] for connection in response.json()}
    wait_for(lambda: connected_users() >= expected, timeout=30,
             message="a connection of every component user")
    assert connected_users() == expected  # nothing connected as guest


def calls_counted(platform, service: str, method: str) -> float:
    """The service's request counter for ``method`` (one registry per test process: read
    it before and after, never as an absolute)."""
    metrics = requests.get(platform.url(service) + "/metrics", timeout=30).text
    line = f'stafett_requests_total{{entrypoint="{method}",kind="rpc",service="{service}"}} '
    return next((float(row[len(line):]) for row in metrics.splitlines()
                 if row.startswith(line)), 0.0)


def test_notifications_cannot_call_consent_or_logs_and_the_call_never_arrives(
        platform, uris, tap):
    notifications = uris["notifications"]
    counted = {"consent": calls_counted(platform, "consent", "register_child"),
               "logs": calls_counted(platform, "logs", "apply_handover"),
               "allowed": calls_counted(platform, "consent", "list_agencies")}
    for key in ("consent.register_child", "logs.apply_handover"):
        reason = refusal(notifications, lambda c, ch: rpc_request(
            c, ch, key, child={"national_id": "irrelevant"}))
        assert "ACCESS_REFUSED" in reason
        assert f"access to topic '{key}' in exchange 'nameko-rpc'" in reason
    # the gateway calls consent, but never applies a handover: that is handover's
    reason = refusal(uris["gateway"], lambda c, ch: rpc_request(c, ch, "logs.apply_handover"))
    assert "access to topic 'logs.apply_handover' in exchange 'nameko-rpc'" in reason

    # a call the gateway may make goes through, and the tap sees it: it sees everything
    with connect(uris["gateway"]) as connection:
        rpc_request(connection, connection.channel(), "consent.list_agencies")
    assert tap() == ["consent.list_agencies"]
    wait_for(lambda: calls_counted(platform, "consent", "list_agencies") > counted["allowed"],
             timeout=30, message="consent to count the call that was let through")
    assert calls_counted(platform, "consent", "register_child") == counted["consent"]
    assert calls_counted(platform, "logs", "apply_handover") == counted["logs"]


def test_notifications_cannot_consume_or_bind_what_is_not_its_own(platform, uris):
    notifications = uris["notifications"]
    reason = refusal(notifications, lambda c, ch: ch.basic_consume("rpc-consent",
                                                                    callback=print))
    assert "access to queue 'rpc-consent'" in reason
    reason = refusal(notifications, lambda c, ch: ch.queue_declare("rpc-consent", durable=True))
    assert "access to queue 'rpc-consent'" in reason

    # a queue it may declare cannot be bound to copy consent's requests ...
    own = "evt-logs-log.*--notifications.eavesdrop"

    def bind_to_consent_requests(connection, channel):
        channel.queue_declare(own, durable=False, auto_delete=True)
        channel.queue_bind(own, "nameko-rpc", routing_key="consent.*")
    assert "access to topic 'consent.*' in exchange 'nameko-rpc'" in refusal(
        notifications, bind_to_consent_requests)

    # ... nor can logs (which has a reply queue) bind one to the gateway's replies
    gateway_reply_key = f"reply.gateway.{uuid.uuid4()}"

    def bind_to_gateway_replies(connection, channel):
        queue = f"rpc.reply-logs-{uuid.uuid4()}"
        channel.queue_declare(queue, durable=False, auto_delete=True)
        channel.queue_bind(queue, "nameko-rpc", routing_key=gateway_reply_key)
    assert f"access to topic '{gateway_reply_key}'" in refusal(uris["logs"],
                                                               bind_to_gateway_replies)


def test_events_only_on_the_own_exchange_and_never_through_the_default_one(platform, uris):
    def publish(exchange, key):
        def action(connection, channel):
            connection.Producer(channel).publish(
                {"event_id": str(uuid.uuid4()), "type": key}, serializer="json",
                exchange=Exchange(exchange, type="topic", no_declare=True) if exchange
                else "", routing_key=key)
        return action

    assert "access to exchange 'logs.events'" in refusal(
        uris["notifications"], publish("logs.events", "log.closed"))
    assert "access to exchange 'consent.events'" in refusal(
        uris["logs"], publish("consent.events", "consent.granted"))
    assert "access to topic 'consent.granted' in exchange 'logs.events'" in refusal(
        uris["logs"], publish("logs.events", "consent.granted"))
    # the default exchange reaches any queue by name: a forged consent into logs' projection
    assert "access to exchange 'amq.default'" in refusal(
        uris["notifications"],
        publish("", "evt-consent-consent.granted--logs.on_consent_granted"))


def test_no_component_may_delete_an_exchange(platform, uris):
    for component, exchange in (("notifications", "nameko-rpc"), ("consent", "consent.events"),
                                ("logs", "logs.retry")):
        reason = refusal(uris[component],
                         lambda c, ch: ch.exchange_delete(exchange))
        assert f"access to exchange '{exchange}'" in reason, component


@pytest.mark.parametrize("reply_to", [
    "reply.notifications.00000000-0000-4000-8000-000000000000",  # notifications calls nobody
    "consent.register_child",  # consent calling itself on the caller's behalf
    "",  # no reply_to at all
])
def test_a_reply_the_service_cannot_send_is_dropped_and_the_service_keeps_answering(
        platform, uris, reply_to):
    """The caller chooses the reply's routing key: a missing one, or one the service may not
    publish to, must not take the service down (nameko lets either kill the container)."""
    with connect(uris["logs"]) as connection:  # logs may call consent.coverage
        rpc_request(connection, connection.channel(), "consent.coverage", reply_to=reply_to)
    for _ in range(2):
        with platform.rpc() as rpc:
            assert isinstance(rpc.consent.list_agencies(), list)
    assert requests.get(platform.url("consent") + "/readyz", timeout=30).status_code == 200
