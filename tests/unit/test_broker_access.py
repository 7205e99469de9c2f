"""config/broker-access.yaml against the code, the regular expressions against the names
nameko really uses, and the Kubernetes manifest and docs against the table.

The broker itself enforcing them is tests/integration/test_broker_access.py.
"""
import ast
import inspect
import re
import uuid
from pathlib import Path

import pytest
import yaml
from nameko.rpc import Rpc, RpcProxy

from stafett.broker import AccessTable, with_credentials
from stafett.config import ConfigError, component_config
from stafett.events import BroadcastEventHandler, ReliableEventHandler
from stafett.run import COMPONENTS, service_class

ROOT = Path(__file__).resolve().parents[2]
TABLE = AccessTable.load()
PACKAGES = {"gateway": ROOT / "gateway", "consent": ROOT / "services" / "consent",
            "logs": ROOT / "services" / "logs", "handover": ROOT / "services" / "handover",
            "notifications": ROOT / "services" / "notifications"}

# Granted ahead of the code that uses them (issue 12, helpers working in parallel); delete an
# entry once its code has landed (the test below says which are no longer ahead).
AHEAD: set = set()


def entrypoints(component):
    for name, method in inspect.getmembers(service_class(component)):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            yield name, entrypoint


def rpc_methods(component) -> set[str]:
    return {name for name, ep in entrypoints(component) if isinstance(ep, Rpc)}


def proxies(component) -> dict[str, str]:
    """attribute name -> target service, for every RPC proxy of the component's class."""
    return {name: value.target_service
            for cls in service_class(component).__mro__ for name, value in vars(cls).items()
            if isinstance(value, RpcProxy)}


def is_the_worker(node) -> bool:
    """``self`` in the service class, ``self.worker`` in a helper the service hands
    itself to (``services/handover/workflow.py``), or ``ctx`` in a gateway route function
    (its request context holds the worker's proxies: gateway/context.py)."""
    if isinstance(node, ast.Name):
        return node.id in ("self", "ctx")
    return (isinstance(node, ast.Attribute) and node.attr == "worker"
            and isinstance(node.value, ast.Name) and node.value.id == "self")


def calls_in_code(component) -> tuple[set[str], list[str]]:
    """``target.method`` for every ``self.<proxy>.<method>`` (or ``self.worker.<proxy>.
    <method>``, ``ctx.<proxy>.<method>``) in the component's package, and the places where a proxy is used otherwise
    (which this scan could not follow)."""
    targets = proxies(component)
    calls, unfollowed = set(), []
    for path in sorted(PACKAGES[component].rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in targets \
                    and is_the_worker(node.value):
                parent = parents.get(node)
                if isinstance(parent, ast.Attribute) and parent.value is node:
                    calls.add(f"{targets[node.attr]}.{parent.attr}")
                else:
                    unfollowed.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return calls, unfollowed


def dotted(grants) -> set[str]:
    """``{"logs": ["a", "b"]}`` → ``{"logs.a", "logs.b"}``."""
    return {f"{name}.{item}" for name, items in (grants or {}).items() for item in items}


def granted_calls(component) -> set[str]:
    return dotted(TABLE.components[component].calls)


def handled_in_code(component, kind) -> set[str]:
    """``source.event_type`` of each ``kind`` of event handler of the component."""
    return {f"{ep.source_service}.{ep.event_type}" for _, ep in entrypoints(component)
            if isinstance(ep, kind)}


def subscriptions_in_code(component) -> set[str]:
    return handled_in_code(component, ReliableEventHandler)


def granted_subscriptions(component) -> set[str]:
    return dotted(TABLE.components[component].subscribes)


def broadcasts_in_code(component) -> set[str]:
    return handled_in_code(component, BroadcastEventHandler)


def granted_broadcasts(component) -> set[str]:
    return dotted(TABLE.components[component].broadcasts)


def test_the_table_names_every_component_and_nothing_else():
    assert set(TABLE.components) == set(COMPONENTS)


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_rpc_call_in_the_code_is_granted(component):
    calls, unfollowed = calls_in_code(component)
    assert unfollowed == [], "an RPC proxy used other than self.<proxy>.<method>"
    missing = calls - granted_calls(component)
    assert missing == set(), (f"{component} calls {sorted(missing)}: add them to "
                              "config/broker-access.yaml and render the k8s manifest")


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_granted_call_is_made_by_the_code_and_exists(component):
    calls, _ = calls_in_code(component)
    ahead = {name for who, kind, name in AHEAD if who == component and kind == "call"}
    assert granted_calls(component) - calls - ahead == set(), "a grant nobody uses"
    for call in granted_calls(component) - ahead:
        target, method = call.split(".")
        assert method in rpc_methods(target), call


@pytest.mark.parametrize("component", COMPONENTS)
def test_serving_rpc_is_granted_exactly_to_the_services_with_rpc_entrypoints(component):
    assert TABLE.components[component].rpc == bool(rpc_methods(component))


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_subscription_in_the_code_is_granted_and_no_other(component):
    ahead = {name for who, kind, name in AHEAD if who == component and kind == "subscribe"}
    in_code = subscriptions_in_code(component)
    assert in_code - granted_subscriptions(component) == set()
    assert granted_subscriptions(component) - in_code - ahead == set()


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_broadcast_subscription_in_the_code_is_granted_and_no_other(component):
    assert broadcasts_in_code(component) == granted_broadcasts(component)


def test_the_gateway_hears_consent_events_in_every_replica():
    """The actor cache (gateway/actor_cache.py) needs every consent event in every replica."""
    assert broadcasts_in_code("gateway") == {"consent.consent.*"}


def test_nothing_is_granted_ahead_that_has_landed():
    landed = set()
    for component, kind, name in AHEAD:
        present = (calls_in_code(component)[0] if kind == "call"
                   else subscriptions_in_code(component))
        if name in present:
            landed.add((component, kind, name))
    assert landed == set(), "remove these from AHEAD: the code uses them now"


@pytest.mark.parametrize("component", ["consent", "logs", "handover"])
def test_a_publisher_prefix_covers_every_event_type_it_declares(component):
    module = __import__(f"services.{component}.events", fromlist=["_"])
    types = {value for name, value in vars(module).items()
             if name.isupper() and isinstance(value, str) and "." in value}
    prefix = TABLE.components[component].events
    assert types and all(t.startswith(prefix + ".") for t in types)
    write = next(t.write for t in TABLE.grant(component).topics
                 if t.exchange == f"{component}.events")
    assert all(re.fullmatch(write.strip("^$"), t) for t in types)


# -- the regular expressions, against the names nameko and stafett really use ---------------

def allowed(regex: str, name: str) -> bool:
    """RabbitMQ matches a permission regex anywhere in the name (re:run); ours are
    anchored, so search is the same test."""
    return re.search(regex, name) is not None


REPLY = str(uuid.uuid4())
REPLY_HEX = uuid.uuid4().hex


@pytest.mark.parametrize("component,name,verb,expected", [
    # its own queues
    ("consent", "rpc-consent", "configure", True),
    ("consent", f"rpc.reply-consent-{REPLY}", "configure", True),
    ("logs", "evt-consent-consent.granted--logs.on_consent_granted", "configure", True),
    ("logs", "evt-consent-consent.granted--logs.on_consent_granted.retry", "configure", True),
    ("logs", "evt-consent-consent.granted--logs.on_consent_granted.dlq", "configure", True),
    ("logs", "evt-consent-consent.granted--logs.on_consent_granted.retry", "read", True),
    ("logs", "evt-consent-consent.granted--logs.on_consent_granted.dlq", "read", False),
    ("notifications", "evt-logs-log.*--notifications.on_log_event", "read", True),
    # never another component's queue
    ("notifications", "rpc-consent", "configure", False),
    ("notifications", "rpc-consent", "read", False),
    ("notifications", "rpc-consent", "write", False),
    ("notifications", f"rpc.reply-gateway-{REPLY}", "read", False),
    ("notifications", "evt-consent-consent.granted--logs.on_consent_granted", "read", False),
    ("logs", "evt-consent-consent.granted--logs.on_consent_granted-x", "configure", False),
    ("logs", "evt-consent-consent.granted--handover.on_consent_granted", "configure", False),
    ("gateway", "rpc-gateway", "configure", False),
    # the gateway's broadcast queues: one per replica, its own, consent's events only
    ("gateway", f"evt-consent-consent.*--gateway.on_consent_event-{REPLY_HEX}", "configure",
     True),
    ("gateway", f"evt-consent-consent.*--gateway.on_consent_event-{REPLY_HEX}", "write", True),
    ("gateway", f"evt-consent-consent.*--gateway.on_consent_event-{REPLY_HEX}", "read", True),
    ("gateway", "consent.events", "read", True),
    ("gateway", "consent.events", "write", False),
    ("gateway", "consent.events", "configure", False),
    ("gateway", "evt-consent-consent.*--gateway.on_consent_event", "configure", False),
    ("gateway", f"evt-consent-consent.*--gateway.on_consent_event-{REPLY_HEX}.retry",
     "configure", False),
    ("gateway", f"evt-logs-log.*--gateway.on_consent_event-{REPLY_HEX}", "configure", False),
    ("gateway", f"evt-consent-consent.*--notifications.on_consent_event-{REPLY_HEX}",
     "read", False),
    ("notifications", f"evt-consent-consent.*--gateway.on_consent_event-{REPLY_HEX}",
     "read", False),
    ("gateway", "logs.events", "read", False),
    ("gateway", "gateway.retry", "write", False),
    # exchanges: written only where it publishes, never configured, never the default
    ("consent", "consent.events", "write", True),
    ("consent", "logs.events", "write", False),
    ("notifications", "logs.events", "write", False),
    ("notifications", "logs.events", "read", True),
    ("notifications", "amq.default", "write", False),
    ("logs", "amq.default", "write", False),
    ("logs", "logs.retry", "write", True),
    ("logs", "handover.retry", "write", False),
    ("gateway", "nameko-rpc", "write", True),
    ("gateway", "nameko-rpc", "configure", False),
    ("consent", "consent.events", "configure", False),
])
def test_regular_permissions(component, name, verb, expected):
    assert allowed(getattr(TABLE.grant(component), verb), name) is expected


def topic(component, exchange):
    return next(t for t in TABLE.grant(component).topics if t.exchange == exchange)


@pytest.mark.parametrize("component,key,expected", [
    ("gateway", "consent.register_child", True),
    ("gateway", "logs.apply_handover", False),   # only handover applies a handover
    ("gateway", "logs.refresh_consent", False),
    ("gateway", "consent.register_agency", False),
    ("gateway", f"reply.gateway.{REPLY}", False),  # the gateway answers nobody
    ("notifications", "consent.register_child", False),
    ("notifications", "logs.apply_handover", False),
    ("notifications", "logs.notice_details", True),  # what an inbox text may name
    ("notifications", f"reply.gateway.{REPLY}", True),
    ("notifications", REPLY, True),               # an operator's standalone proxy
    ("handover", "logs.apply_handover", True),
    ("handover", "logs.add_entry", False),
    ("consent", "logs.refresh_consent", True),
    ("consent", f"reply.logs.{REPLY}", True),
    ("consent", f"reply.notifications.{REPLY}", False),  # not its own replies
    ("logs", "consent.coverage.x", False),
])
def test_rpc_publishes(component, key, expected):
    assert allowed(topic(component, "nameko-rpc").write, key) is expected


@pytest.mark.parametrize("component,key,expected", [
    ("consent", "consent.*", True),
    ("consent", "logs.*", False),
    ("consent", f"reply.consent.{REPLY}", True),
    ("consent", f"reply.gateway.{REPLY}", False),  # could read the gateway's replies
    ("consent", REPLY, False),
    ("notifications", "notifications.*", True),
    # it asks logs: who may see a child's access log, and what an inbox text may name
    ("notifications", f"reply.notifications.{REPLY}", True),
    ("notifications", f"reply.gateway.{REPLY}", False),
    ("gateway", "consent.*", False),
    ("gateway", "#", False),
])
def test_rpc_bindings(component, key, expected):
    assert allowed(topic(component, "nameko-rpc").read, key) is expected


@pytest.mark.parametrize("component,exchange,verb,key,expected", [
    ("consent", "consent.events", "write", "consent.granted", True),
    ("consent", "consent.events", "write", "log.closed", False),
    ("logs", "logs.events", "write", "log.closed", True),
    ("logs", "consent.events", "read", "consent.withdrawn", True),
    ("logs", "consent.events", "read", "#", False),
    ("logs", "consent.events", "write", "consent.granted", False),
    ("notifications", "logs.events", "read", "log.*", True),
    ("notifications", "logs.events", "read", "#", False),
    ("handover", "handover.events", "read", "handover.accepted", True),
    ("handover", "handover.events", "read", "handover.*", False),
    ("gateway", "consent.events", "read", "consent.*", True),
    ("gateway", "consent.events", "read", "#", False),
    ("gateway", "consent.events", "write", "consent.withdrawn", False),
])
def test_event_topics(component, exchange, verb, key, expected):
    assert allowed(getattr(topic(component, exchange), verb), key) is expected


def test_every_written_topic_exchange_has_a_topic_permission():
    """With no topic permission on an exchange RabbitMQ allows every routing key."""
    for component in COMPONENTS:
        grant = TABLE.grant(component)
        with_topics = {t.exchange for t in grant.topics}
        for spec in TABLE.exchanges():
            if spec.type == "topic" and (allowed(grant.write, spec.name)
                                         or allowed(grant.read, spec.name)):
                assert spec.name in with_topics, (component, spec.name)


def test_the_exchanges_are_the_rpc_exchange_the_publishers_and_the_consumers_retries():
    assert {(spec.name, spec.type) for spec in TABLE.exchanges()} == {
        ("nameko-rpc", "topic"), ("consent.events", "topic"), ("logs.events", "topic"),
        ("handover.events", "topic"), ("logs.retry", "direct"), ("handover.retry", "direct"),
        ("notifications.retry", "direct")}


@pytest.mark.parametrize("document,message", [
    ({"components": {"a": {"calls": {"b": ["x"]}}, "b": {}}}, "serves no RPC"),
    ({"components": {"a": {"subscribes": {"b": ["b.x"]}}, "b": {}}}, "publishes no events"),
    ({"components": {"a": {"subscribes": {"b": ["c.x"]}}, "b": {"events": "b"}}}, "not c.x"),
    ({"components": {"a": {"call": {}}}}, "unknown keys"),
])
def test_a_table_that_contradicts_itself_is_refused(document, message):
    with pytest.raises(ConfigError) as caught:
        AccessTable(document)
    assert message in str(caught.value)


# -- what is made from the table -----------------------------------------------------------

MANIFEST = ROOT / "deploy" / "k8s" / "base" / "rabbitmq-access.yaml"


def test_the_kubernetes_manifest_matches_the_table():
    documents = [d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if d]
    assert documents == TABLE.kubernetes(), (
        "run: python -m stafett.broker k8s > deploy/k8s/base/rabbitmq-access.yaml")
    kinds = [d["kind"] for d in documents]
    assert kinds.count("User") == kinds.count("Permission") == len(COMPONENTS)
    assert kinds.count("Exchange") == len(TABLE.exchanges())
    kustomization = yaml.safe_load((MANIFEST.parent / "kustomization.yaml").read_text())
    assert "rabbitmq-access.yaml" in kustomization["resources"]


def test_the_manifest_grants_what_the_table_grants_user_by_user():
    documents = list(yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")))
    for component in COMPONENTS:
        user, grant = f"stafett-{component}", TABLE.grant(component)
        [permission] = [d for d in documents if d and d["kind"] == "Permission"
                        and d["spec"]["userReference"]["name"] == user]
        assert permission["spec"]["permissions"] == {
            "configure": grant.configure, "write": grant.write, "read": grant.read}
        topics = {d["spec"]["permissions"]["exchange"]: d["spec"]["permissions"]
                  for d in documents if d and d["kind"] == "TopicPermission"
                  and d["spec"]["userReference"]["name"] == user}
        assert topics == {t.exchange: {"exchange": t.exchange, "write": t.write,
                                       "read": t.read} for t in grant.topics}


def test_docs_show_the_table_as_it_is():
    security = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert TABLE.markdown() in security, "run: python -m stafett.broker table"


# -- configuration: credentials and TLS ----------------------------------------------------

def test_credentials_from_a_secret_replace_those_in_the_uri():
    config = component_config("consent", environ={
        "AMQP_URI": "pyamqp://guest:guest@rabbit:5671/stafett",
        "AMQP_USERNAME": "stafett-consent", "AMQP_PASSWORD": "p@ss/word:1"})
    assert config["AMQP_URI"] == "pyamqp://stafett-consent:p%40ss%2Fword%3A1@rabbit:5671/stafett"


def test_with_credentials_keeps_host_port_and_vhost():
    assert with_credentials("pyamqp://a:b@127.0.0.1:5672/stafett-test-1", "u", "p") == \
        "pyamqp://u:p@127.0.0.1:5672/stafett-test-1"


def test_tls_is_off_by_default():
    assert "AMQP_SSL" not in component_config("logs", environ={})


def test_tls_verifies_the_certificate_and_the_host_of_the_uri(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here")
    config = component_config("logs", environ={
        "AMQP_URI": "pyamqp://u:p@broker.example.test:5671/", "AMQP_TLS": "true",
        "AMQP_TLS_CA_FILE": str(ca)})
    import ssl

    assert config["AMQP_SSL"] == {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(ca),
                                  "server_hostname": "broker.example.test"}


def test_tls_server_name_and_client_certificate(tmp_path):
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    config = component_config("logs", environ={
        "AMQP_URI": "pyamqp://u:p@10.0.0.5:5671/", "AMQP_TLS": "true",
        "AMQP_TLS_SERVER_NAME": "rabbitmq.stafett.svc",
        "AMQP_TLS_CERT_FILE": str(tmp_path / "cert.pem"),
        "AMQP_TLS_KEY_FILE": str(tmp_path / "key.pem")})
    assert config["AMQP_SSL"]["server_hostname"] == "rabbitmq.stafett.svc"
    assert config["AMQP_SSL"]["certfile"].endswith("cert.pem")
    assert config["AMQP_SSL"]["keyfile"].endswith("key.pem")
    assert "ca_certs" not in config["AMQP_SSL"]  # the system's CAs


@pytest.mark.parametrize("environ,message", [
    ({"AMQP_TLS_CA_FILE": "/nonexistent/ca.pem"}, "AMQP_TLS_CA_FILE: no such file"),
    ({"AMQP_TLS_CERT_FILE": "/nonexistent/c.pem"}, "AMQP_TLS_CERT_FILE: no such file"),
])
def test_a_tls_file_that_is_not_there_is_a_config_error(environ, message):
    with pytest.raises(ConfigError) as caught:
        component_config("logs", environ={"AMQP_TLS": "true", **environ})
    assert message in str(caught.value)


def test_a_key_without_a_certificate_is_a_config_error(tmp_path):
    (tmp_path / "key.pem").write_text("x")
    with pytest.raises(ConfigError) as caught:
        component_config("logs", environ={"AMQP_TLS": "true",
                                          "AMQP_TLS_KEY_FILE": str(tmp_path / "key.pem")})
    assert "needs AMQP_TLS_CERT_FILE" in str(caught.value)


def test_components_do_not_declare_the_rpc_exchange():
    import nameko.rpc  # stafett.broker switched nameko's RPC exchange to DECLARE_RPC_EXCHANGE

    exchange = nameko.rpc.get_rpc_exchange(component_config("consent", environ={}))
    assert exchange.name == "nameko-rpc" and exchange.no_declare is True
    assert nameko.rpc.get_rpc_exchange({}).no_declare is False  # nameko's default elsewhere
