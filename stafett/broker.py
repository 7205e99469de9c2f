"""The broker is not a trusted room: one RabbitMQ user per component, AMQPS as a switch.

``config/broker-access.yaml`` says, per component, which RPC methods it may call, whether
it serves RPC, which events it publishes and which it subscribes to. ``AccessTable.grant``
turns that into RabbitMQ permissions: regular expressions for *configure* (declare or
delete a queue or exchange), *write* (publish to an exchange, bind a queue) and *read*
(consume a queue, bind from an exchange), and topic permissions, which check the routing key
of every publish (*write*) and of every binding (*read*) on a topic exchange. What nameko
and kombu really do, and what each needs:

- an RPC request is published to ``nameko-rpc`` with routing key ``<service>.<method>``:
  write on ``nameko-rpc`` and a topic write matching exactly the methods it may call;
- a service consumes ``rpc-<service>``, bound with ``<service>.*``: configure/write/read on
  the queue, read on ``nameko-rpc``, topic read ``<service>.*`` only;
- a caller's reply queue ``rpc.reply-<caller>-<uuid>`` is bound to ``nameko-rpc``. nameko
  binds it with the bare uuid; ``stafett.rpc`` binds it with ``reply.<caller>.<uuid>``, so
  a component may bind only its own reply keys (it learns other callers' keys from their
  requests, and could otherwise bind a queue of its own to read their replies). A service
  publishes replies with the keys of those who call it (and bare uuids: operators' tools);
- an event handler's queue ``evt-<source>-<type>--<service>.<method>`` is bound to
  ``<source>.events``; our ``.retry``/``.dlq`` companions hang off ``<service>.retry``, a
  direct exchange of the consuming service, never the default exchange: writing to the
  default exchange would let a component put a forged event into any queue by its name;
- a broadcast handler's queue ``evt-<source>-<key>--<service>.<method>-<32 hex>`` (one per
  replica, exclusive, auto-deleted: ``stafett.events.BroadcastEventHandler``) is bound to
  ``<source>.events`` the same way, with no companions;
- the outbox publishes ``<prefix>.<type>`` on its own ``<service>.events`` only.

No component may configure an exchange (configure also means delete): the exchanges are
declared by whoever provisions the broker (``provision``, the Kubernetes ``Exchange``
resources), and the components check them passively (``ensure_exchanges``); with an
administrator's credentials in development they are declared on the spot.

``AMQP_TLS`` turns on AMQPS with certificate verification (``tls_options``): the CA file,
the name checked against the broker's certificate, optionally a client certificate.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import ssl  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote, urlsplit, urlunsplit  # noqa: E402

import nameko.rpc  # noqa: E402
import requests  # noqa: E402
import yaml  # noqa: E402
from amqp.exceptions import AccessRefused, NotFound, PreconditionFailed  # noqa: E402
from kombu import Connection, Exchange  # noqa: E402
from nameko.extensions import DependencyProvider  # noqa: E402

# with_credentials, tls_options: also importable from here (they live with the configuration)
from stafett.config import ROOT, ConfigError, tls_options, with_credentials  # noqa: E402,F401

log = logging.getLogger(__name__)

ACCESS_TABLE = ROOT / "config" / "broker-access.yaml"
RPC_EXCHANGE = "nameko-rpc"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
HANDLER = r"[a-z][a-z0-9_]*"      # an event handler's method name, in its queue's name
EVENT_TYPE = r"[a-z][a-z0-9_]*"   # what follows "<prefix>." in an event type
REPLICA = r"[0-9a-f]{32}"         # a broadcast queue's replica id (a uuid4 in hex)
NOTHING = "^$"                    # RabbitMQ: matches no exchange, queue or routing key
USER_PREFIX = "stafett-"


def events_exchange(service: str) -> str:
    return f"{service}.events"


def retry_exchange(service: str) -> str:
    """The consuming service's own direct exchange for its retry and dead-letter queues."""
    return f"{service}.retry"


def reply_routing_key(service: str, token: str) -> str:
    return f"reply.{service}.{token}"


def _anchored(alternatives) -> str:
    alternatives = [a for a in alternatives if a]
    return "^(" + "|".join(alternatives) + ")$" if alternatives else NOTHING


def _escape(text: str) -> str:
    """A literal in a RabbitMQ (PCRE) regular expression; names here use [a-z0-9_.*-]."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", text)


def _literals(values) -> str:
    return "|".join(_escape(value) for value in sorted(set(values)))


# -- the table ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TopicGrant:
    exchange: str
    write: str
    read: str


@dataclass(frozen=True)
class Grant:
    """Everything one component's user may do in the vhost."""
    component: str
    configure: str
    write: str
    read: str
    topics: tuple[TopicGrant, ...]


@dataclass(frozen=True)
class ExchangeSpec:
    name: str
    type: str  # "topic" or "direct"; always durable, never auto-deleted


@dataclass(frozen=True)
class Component:
    name: str
    rpc: bool
    events: str | None
    calls: dict
    subscribes: dict
    broadcasts: dict = None  # source -> binding keys, one queue per replica

    def bindings(self) -> dict:
        """Every binding key it may bind on each source, pooled or broadcast."""
        keys: dict = {}
        for table in (self.subscribes, self.broadcasts or {}):
            for source, source_keys in table.items():
                keys.setdefault(source, set()).update(source_keys)
        return keys


class AccessTable:
    def __init__(self, document: dict):
        self.rpc_exchange = document.get("rpc_exchange", RPC_EXCHANGE)
        self.components: dict[str, Component] = {}
        for name, entry in (document.get("components") or {}).items():
            entry = entry or {}
            unknown = set(entry) - {"rpc", "events", "calls", "subscribes", "broadcasts"}
            if unknown:
                raise ConfigError(f"broker access: {name} has unknown keys {sorted(unknown)}")
            self.components[name] = Component(
                name=name, rpc=bool(entry.get("rpc")), events=entry.get("events"),
                calls={target: tuple(methods) for target, methods in
                       (entry.get("calls") or {}).items()},
                subscribes={source: tuple(keys) for source, keys in
                            (entry.get("subscribes") or {}).items()},
                broadcasts={source: tuple(keys) for source, keys in
                            (entry.get("broadcasts") or {}).items()})
        self._check()

    @classmethod
    def load(cls, path: str | Path | None = None) -> "AccessTable":
        return cls(yaml.safe_load(Path(path or ACCESS_TABLE).read_text(encoding="utf-8")))

    def _check(self) -> None:
        for component in self.components.values():
            for target in component.calls:
                if target not in self.components or not self.components[target].rpc:
                    raise ConfigError(f"broker access: {component.name} calls {target}, "
                                      "which serves no RPC")
            for source, keys in component.bindings().items():
                publisher = self.components.get(source)
                if publisher is None or not publisher.events:
                    raise ConfigError(f"broker access: {component.name} subscribes to "
                                      f"{source}, which publishes no events")
                for key in keys:
                    if not key.startswith(publisher.events + "."):
                        raise ConfigError(f"broker access: {source} publishes "
                                          f"{publisher.events}.*, not {key}")

    def callers(self, service: str) -> list[str]:
        return sorted(name for name, component in self.components.items()
                      if service in component.calls)

    def exchanges(self) -> list[ExchangeSpec]:
        """Every exchange the components use, as whoever provisions the broker declares it."""
        specs = [ExchangeSpec(self.rpc_exchange, "topic")]
        for name, component in sorted(self.components.items()):
            if component.events:
                specs.append(ExchangeSpec(events_exchange(name), "topic"))
            if component.subscribes:
                specs.append(ExchangeSpec(retry_exchange(name), "direct"))
        return specs

    def grant(self, name: str) -> Grant:
        component = self.components[name]
        me = _escape(name)
        uses_rpc = component.rpc or bool(component.calls)
        queues = []                    # its own queues: declared, bound and consumed by it
        if component.rpc:
            queues.append(_escape(f"rpc-{name}"))
        if component.calls:
            queues.append(_escape(f"rpc.reply-{name}-") + UUID)
        consumed = companions = None
        if component.subscribes:
            subscriptions = _literals(f"{source}-{key}" for source, keys in
                                      component.subscribes.items() for key in keys)
            work_queues = f"evt-({subscriptions})--{me}\\.{HANDLER}"
            companions = work_queues + r"(\.retry|\.dlq)?"
            # declaring a queue with a dead-letter exchange needs read on it: the retry queue
            consumed = work_queues + r"(\.retry)?"
        broadcast_queues = None
        if component.broadcasts:
            broadcasts = _literals(f"{source}-{key}" for source, keys in
                                   component.broadcasts.items() for key in keys)
            broadcast_queues = f"evt-({broadcasts})--{me}\\.{HANDLER}-{REPLICA}"
        written, bound_from = [], []  # exchanges it publishes to / binds its queues from
        if uses_rpc:
            written.append(_escape(self.rpc_exchange))
            bound_from.append(_escape(self.rpc_exchange))
        if component.events:
            written.append(_escape(events_exchange(name)))
        if component.subscribes:
            written.append(_escape(retry_exchange(name)))
            bound_from.append(_escape(retry_exchange(name)))
        bound_from.extend(_escape(events_exchange(source))
                          for source in sorted(component.bindings()))
        return Grant(
            component=name,
            configure=_anchored(queues + [companions, broadcast_queues]),
            # binding a queue needs write on the queue; the retry queue's dead-letter
            # exchange needs write on <component>.retry
            write=_anchored(queues + [companions, broadcast_queues] + written),
            read=_anchored(queues + [consumed, broadcast_queues] + bound_from),
            topics=tuple(self._topic_grants(component, uses_rpc)))

    def _topic_grants(self, component: Component, uses_rpc: bool):
        me = _escape(component.name)
        if uses_rpc:
            publish, bind = [], []
            for target, methods in sorted(component.calls.items()):
                publish.append(f"{_escape(target)}\\.({_literals(methods)})")
            if component.rpc:
                callers = self.callers(component.name)
                if callers:
                    publish.append(f"reply\\.({_literals(callers)})\\.{UUID}")
                publish.append(UUID)  # operators' standalone proxies reply to a bare uuid
                bind.append(f"{me}\\.\\*")
            if component.calls:
                bind.append(f"reply\\.{me}\\.{UUID}")
            yield TopicGrant(self.rpc_exchange, _anchored(publish), _anchored(bind))
        bindings = component.bindings()
        sources = set(bindings)
        if component.events:
            sources.add(component.name)
        for source in sorted(sources):
            write = NOTHING
            if source == component.name and component.events:
                write = f"^{_escape(component.events)}\\.{EVENT_TYPE}$"
            keys = bindings.get(source, ())
            read = f"^({_literals(keys)})$" if keys else NOTHING
            yield TopicGrant(events_exchange(source), write, read)

    # -- what is made from the table ------------------------------------------------------

    def definitions(self, vhost: str, users: dict[str, str]) -> dict:
        """RabbitMQ definitions for one vhost: the exchanges and each component user's
        permissions (``users``: component -> user name; the users must exist)."""
        document = {
            "vhosts": [{"name": vhost}],
            "exchanges": [{"name": spec.name, "vhost": vhost, "type": spec.type,
                           "durable": True, "auto_delete": False, "internal": False,
                           "arguments": {}} for spec in self.exchanges()],
            "permissions": [], "topic_permissions": []}
        for component, user in sorted(users.items()):
            grant = self.grant(component)
            document["permissions"].append({
                "user": user, "vhost": vhost, "configure": grant.configure,
                "write": grant.write, "read": grant.read})
            for topic in grant.topics:
                document["topic_permissions"].append({
                    "user": user, "vhost": vhost, "exchange": topic.exchange,
                    "write": topic.write, "read": topic.read})
        return document

    def kubernetes(self, cluster: str = "stafett-rabbitmq", vhost: str = "/") -> list[dict]:
        """Messaging Topology Operator resources: a Secret naming each user (the operator
        generates the password into ``<user>-user-credentials``), the User, its Permission
        and TopicPermissions, and the Exchanges."""
        reference = {"name": cluster}
        documents = []
        for name in sorted(self.components):
            user, grant = USER_PREFIX + name, self.grant(name)
            labels = {"app.kubernetes.io/component": name}
            documents.append({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": f"{user}-amqp-username", "labels": labels},
                "type": "Opaque", "stringData": {"username": user}})
            documents.append({
                "apiVersion": "rabbitmq.com/v1beta1", "kind": "User",
                "metadata": {"name": user, "labels": labels},
                "spec": {"tags": [], "importCredentialsSecret": {
                    "name": f"{user}-amqp-username"}, "rabbitmqClusterReference": reference}})
            documents.append({
                "apiVersion": "rabbitmq.com/v1beta1", "kind": "Permission",
                "metadata": {"name": user, "labels": labels},
                "spec": {"vhost": vhost, "userReference": {"name": user},
                         "permissions": {"configure": grant.configure, "write": grant.write,
                                         "read": grant.read},
                         "rabbitmqClusterReference": reference}})
            for topic in grant.topics:
                documents.append({
                    "apiVersion": "rabbitmq.com/v1beta1", "kind": "TopicPermission",
                    "metadata": {"name": f"{user}-topic-{topic.exchange}", "labels": labels},
                    "spec": {"vhost": vhost, "userReference": {"name": user},
                             "permissions": {"exchange": topic.exchange, "write": topic.write,
                                             "read": topic.read},
                             "rabbitmqClusterReference": reference}})
        for spec in self.exchanges():
            documents.append({
                "apiVersion": "rabbitmq.com/v1beta1", "kind": "Exchange",
                "metadata": {"name": f"stafett-exchange-{spec.name}"},
                "spec": {"name": spec.name, "vhost": vhost, "type": spec.type,
                         "durable": True, "autoDelete": False,
                         "rabbitmqClusterReference": reference}})
        return documents

    def markdown(self) -> str:
        """The permission table as docs/security.md shows it."""
        rows = ["| user | configure | write | read |", "|---|---|---|---|"]
        topics = ["| user | exchange | write (publish) | read (bind) |", "|---|---|---|---|"]
        for name in sorted(self.components):
            grant = self.grant(name)
            rows.append(f"| `{USER_PREFIX}{name}` | `{_cell(grant.configure)}` | "
                        f"`{_cell(grant.write)}` | `{_cell(grant.read)}` |")
            for topic in grant.topics:
                topics.append(f"| `{USER_PREFIX}{name}` | `{topic.exchange}` | "
                              f"`{_cell(topic.write)}` | `{_cell(topic.read)}` |")
        return "\n".join(rows) + "\n\n" + "\n".join(topics) + "\n"


def _cell(regex: str) -> str:
    return regex.replace("|", "\\|").replace(UUID, "<uuid>")


K8S_HEADER = """\
# GENERATED from config/broker-access.yaml by `python -m stafett.broker k8s`; edit the table,
# not this file (tests/unit/test_broker_access.py compares them).
#
# One RabbitMQ user per component, through the Messaging Topology Operator (>= 1.10,
# https://github.com/rabbitmq/messaging-topology-operator): the Secret
# "stafett-<component>-amqp-username" names the user, the operator generates its password
# and writes both to the Secret "stafett-<component>-user-credentials" (keys username,
# password), which the component reads as AMQP_USERNAME / AMQP_PASSWORD (stafett/stafett.yaml).
# Permission and TopicPermission are its whole grant; the Exchanges are declared here because
# no component may configure (and so delete) an exchange. Why: docs/security.md, "The broker".
"""


def render_kubernetes(table: AccessTable | None = None) -> str:
    table = table or AccessTable.load()
    documents = table.kubernetes()
    return K8S_HEADER + "".join(
        "---\n" + yaml.safe_dump(document, sort_keys=False, default_flow_style=False,
                                 width=1000) for document in documents)


# -- URIs -----------------------------------------------------------------------------------

def with_vhost(uri: str, vhost: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


def connection(config: dict, **kwargs) -> Connection:
    """A kombu connection as nameko makes them: same URI, same TLS options."""
    return Connection(config["AMQP_URI"], ssl=config.get("AMQP_SSL"), **kwargs)


class BrokerTlsRefused(RuntimeError):
    """The broker's certificate failed verification: not a fault that waiting repairs."""


def tls_refusal(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``exc`` (kombu wraps it), if any."""
    while exc is not None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def refuse_on_tls_failure(config: dict):
    """An ``errback`` for ``ensure_connection``: connection errors are retried, a refused
    certificate ends the retries with ``BrokerTlsRefused`` saying what to check."""
    def errback(exc, interval=None):
        refused = tls_refusal(exc)
        if refused is not None:
            server = (config.get("AMQP_SSL") or {}).get("server_hostname")
            raise BrokerTlsRefused(
                f"the broker's TLS certificate was refused: {refused.verify_message} "
                f"(checked against AMQP_TLS_CA_FILE and the name {server!r}, "
                "AMQP_TLS_SERVER_NAME)") from exc
    return errback


def connected(config: dict, max_retries: int | None = None, timeout: float = 5) -> Connection:
    """``connection(config)``, connected: retried like kombu retries (``max_retries``; None
    is until the broker answers), except after a refused certificate."""
    conn = connection(config, connect_timeout=timeout)
    try:
        conn.ensure_connection(max_retries=max_retries, errback=refuse_on_tls_failure(config))
    except BaseException:
        conn.release()
        raise
    return conn


# -- exchanges: checked, not declared -------------------------------------------------------

class BrokerNotProvisioned(RuntimeError):
    pass


def ensure_exchanges(conn: Connection, exchanges) -> None:
    """Each exchange must exist: a passive declare (no permission needed); if it is missing,
    declare it, which only an administrator (development, tests with guest) may do."""
    for exchange in exchanges:
        channel = conn.channel()
        try:
            channel.exchange_declare(exchange=exchange.name, type=exchange.type, passive=True)
            continue
        except NotFound:
            pass  # the failed passive declare closed that channel
        finally:
            _close_quietly(channel)
        channel = conn.channel()
        try:
            channel.exchange_declare(exchange=exchange.name, type=exchange.type, durable=True,
                                     auto_delete=False)
        except AccessRefused as exc:
            raise BrokerNotProvisioned(
                f"the exchange {exchange.name!r} does not exist and {conn.userid!r} may not "
                "declare it: provision the broker (docs/security.md, 'The broker')") from exc
        finally:
            _close_quietly(channel)


def _close_quietly(channel) -> None:
    try:
        channel.close()
    except Exception:
        pass


def rpc_exchange(config: dict) -> Exchange:
    return _nameko_get_rpc_exchange(config)


_nameko_get_rpc_exchange = nameko.rpc.get_rpc_exchange


def _get_rpc_exchange(config):
    """nameko's RPC exchange; with ``DECLARE_RPC_EXCHANGE: false`` (like nameko's own
    ``DECLARE_EVENT_EXCHANGES``) consumers bind to it without declaring it, which would need
    configure (and so delete) on it."""
    exchange = _nameko_get_rpc_exchange(config)
    if config.get("DECLARE_RPC_EXCHANGE") is False:
        exchange.no_declare = True
    return exchange


nameko.rpc.get_rpc_exchange = _get_rpc_exchange


class Responder(nameko.rpc.Responder):
    """Sends a service's RPC replies. The caller picks the reply's routing key
    (``reply_to``). When there is none, or the broker refuses it (a key this service may not
    publish to), nameko lets the error kill the container, and the unacknowledged request
    then kills the next one: any caller could take a service down. Such a reply is dropped
    instead (the request is acknowledged) and logged."""

    def send_response(self, result, exc_info):
        reply_to = (self.message.properties or {}).get("reply_to")
        if not reply_to:
            log.warning("an RPC request without reply_to: no reply sent")
            return result, exc_info
        try:
            return super().send_response(result, exc_info)
        except AccessRefused as exc:
            log.warning("the broker refused a reply (reply_to %r); dropped: %s", reply_to, exc)
            return result, exc_info


nameko.rpc.Responder = Responder  # RpcConsumer.handle_result looks it up at each reply


# -- RPC request queues: quorum where QUORUM_QUEUES is on -----------------------------------

QUORUM = {"x-queue-type": "quorum"}


def rpc_queue_arguments(config: dict) -> dict:
    """The arguments an RPC request queue ``rpc-<service>`` is declared with: quorum
    (replicated over the cluster's nodes, so losing one node loses neither the queue nor its
    requests) where ``QUORUM_QUEUES`` is on, classic otherwise."""
    from stafett.config import flag

    return dict(QUORUM) if flag(config.get("QUORUM_QUEUES"), True, "QUORUM_QUEUES") else {}


def existing_queue_arguments(config: dict, queue) -> dict:
    """The arguments to declare ``queue`` with: its own, unless the queue already exists as
    the other type (a broker that ran before the switch changed: a queue's type cannot
    change while it exists). Then the existing type is kept, with a warning saying how to
    move it (docs/operations.md, "Quorum queues")."""
    wanted = dict(queue.queue_arguments or {})
    try:
        with connected(config, max_retries=1) as conn:
            channel = conn.channel()
            try:
                queue(channel).declare()
                return wanted
            except PreconditionFailed as exc:
                other = {k: v for k, v in wanted.items() if k != "x-queue-type"} \
                    if "x-queue-type" in wanted else {**wanted, **QUORUM}
                channel = conn.channel()  # the failed declare closed the first one
                queue.queue_arguments = other
                try:
                    queue(channel).declare()
                finally:
                    queue.queue_arguments = wanted
                log.warning("the queue %s exists as a %s queue, not %s; kept as it is: stop "
                            "every consumer, delete it and start them again to change it (%s)",
                            queue.name, other.get("x-queue-type", "classic"),
                            wanted.get("x-queue-type", "classic"), exc)
                return other
    except (BrokerNotProvisioned, BrokerTlsRefused):
        raise
    except Exception as exc:  # the broker is away: nameko's consumer retries, as declared
        log.warning("could not check the queue %s (%s: %s); declaring it as configured",
                    queue.name, type(exc).__name__, exc)
        return wanted


_nameko_rpc_consumer_setup = getattr(nameko.rpc.RpcConsumer.setup, "stafett_original",
                                     nameko.rpc.RpcConsumer.setup)


def _rpc_consumer_setup(self):
    """nameko's ``RpcConsumer.setup`` (one per container, shared by its ``@rpc`` methods),
    its request queue declared with ``rpc_queue_arguments``."""
    declared = self.queue is None
    _nameko_rpc_consumer_setup(self)
    if declared:
        config = self.container.config
        self.queue.queue_arguments = rpc_queue_arguments(config)
        self.queue.queue_arguments = existing_queue_arguments(config, self.queue)


_rpc_consumer_setup.stafett_original = _nameko_rpc_consumer_setup
nameko.rpc.RpcConsumer.setup = _rpc_consumer_setup


# -- RPC reply queues: transient, so a caller re-declares its own on any node ---------------

def reply_queue(name: str, exchange, routing_key: str, arguments: dict):
    """A caller's reply queue: not durable, deleted with its consumer. A durable classic
    queue whose node is down cannot be declared again ("home node ... is down") until the
    node returns; a transient one goes with its node, and the caller, reconnected to another
    node, declares it afresh there. Replies in flight when it went are lost: the caller
    times out (503), and its retry, under the same request key, is answered from the
    service's record (``stafett.request_keys``)."""
    from kombu import Queue

    return Queue(name, exchange=exchange, routing_key=routing_key, durable=False,
                 auto_delete=True, queue_arguments=arguments)


class RpcExchange(DependencyProvider):
    """Checks at start that ``nameko-rpc`` exists (``ensure_exchanges``) when the component
    does not declare it. An unreachable broker is left to nameko, which retries."""

    def setup(self):
        config = self.container.config
        if config.get("DECLARE_RPC_EXCHANGE") is not False:
            return
        try:
            with connected(config, max_retries=1) as conn:
                ensure_exchanges(conn, [rpc_exchange(config)])
        except (BrokerNotProvisioned, BrokerTlsRefused):
            raise
        except Exception as exc:
            log.warning("could not check the RPC exchange (%s: %s); continuing",
                        type(exc).__name__, exc)


# -- provisioning through the management API -----------------------------------------------

class ManagementApi:
    """The few management API calls provisioning needs (users, definitions, vhosts)."""

    def __init__(self, url: str, auth: tuple[str, str], timeout: float = 60):
        self.url = url.rstrip("/") + "/api"
        self.auth = auth
        self.timeout = timeout

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, self.url + path, auth=self.auth,
                                    timeout=self.timeout, **kwargs)
        if response.status_code >= 400 and not (method == "DELETE"
                                                and response.status_code == 404):
            raise RuntimeError(f"RabbitMQ management API {method} {path}: "
                               f"{response.status_code} {response.text[:300]}")
        return response

    def available(self) -> bool:
        try:
            return requests.get(self.url + "/overview", auth=self.auth, timeout=3).ok
        except requests.RequestException:
            return False

    def put_user(self, name: str, password: str, tags: str = "") -> None:
        self._call("PUT", f"/users/{quote(name, safe='')}",
                   json={"password": password, "tags": tags})

    def delete_user(self, name: str) -> None:
        self._call("DELETE", f"/users/{quote(name, safe='')}")

    def user_names(self) -> list[str]:
        return [user["name"] for user in self._call("GET", "/users").json()]

    def queues(self, vhost: str) -> list[dict]:
        return self._call("GET", f"/queues/{quote(vhost, safe='')}",
                          params={"columns": "name,arguments"}).json()

    def delete_queue(self, vhost: str, name: str) -> None:
        self._call("DELETE", f"/queues/{quote(vhost, safe='')}/{quote(name, safe='')}")

    def delete_vhost(self, name: str) -> None:
        self._call("DELETE", f"/vhosts/{quote(name, safe='')}")

    def clear_topic_permissions(self, vhost: str, user: str) -> None:
        self._call("DELETE", f"/topic-permissions/{quote(vhost, safe='')}/"
                             f"{quote(user, safe='')}")

    def import_definitions(self, document: dict) -> None:
        self._call("POST", "/definitions", data=json.dumps(document),
                   headers={"Content-Type": "application/json"})


def management_url_for(amqp_uri: str) -> str:
    return f"http://{urlsplit(amqp_uri).hostname or '127.0.0.1'}:15672"


def provision(api: ManagementApi, vhost: str, passwords: dict[str, str],
              table: AccessTable | None = None, user_prefix: str = USER_PREFIX,
              administrator: str | None = None) -> dict[str, str]:
    """Create (or update) one user per component with the given passwords, create the vhost
    and declare the exchanges, and set each user's grant in ``vhost`` (``administrator``, if
    given, may do anything there); returns component -> user name. Topic permissions the
    table no longer gives are removed."""
    table = table or AccessTable.load()
    users = {component: user_prefix + component for component in passwords}
    for component, user in users.items():
        api.put_user(user, passwords[component])
        api.clear_topic_permissions(vhost, user)
    definitions = table.definitions(vhost, users)
    if administrator:
        definitions["permissions"].append({"user": administrator, "vhost": vhost,
                                           "configure": ".*", "write": ".*", "read": ".*"})
    api.import_definitions(definitions)
    return users


def new_password() -> str:
    return secrets.token_urlsafe(32)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m stafett.broker")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("k8s", help="the Topology Operator resources (rabbitmq-access.yaml)")
    commands.add_parser("table", help="the permission table (markdown, docs/security.md)")
    commands.add_parser("definitions", help="RabbitMQ definitions for vhost / (JSON)")
    args = parser.parse_args(argv)
    table = AccessTable.load()
    if args.command == "k8s":
        sys.stdout.write(render_kubernetes(table))
    elif args.command == "table":
        sys.stdout.write(table.markdown())
    else:
        users = {name: USER_PREFIX + name for name in table.components}
        json.dump(table.definitions("/", users), sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
