"""Both overlays render, validate against their schemas and keep the deployment's rules.

Rendered with ``kubectl kustomize`` (kubectl from the test dependencies); built-in kinds
validated strictly (unknown fields are errors) with kubernetes-validate, the operators'
kinds against their CRDs vendored in deploy/crds; then every container, reference,
autoscaler, disruption budget, network policy, Ingress, queue and database is checked
against what the code and the other manifests say. tests/deploy/test_manifests_start.py
starts what these describe.
"""
from __future__ import annotations

import copy
import functools
import inspect
import ipaddress
import re
import subprocess
import sys
import tomllib

import jsonschema
import kubernetes_validate
import pytest
import yaml
from nameko.events import EventHandler
from nameko.rpc import Rpc

from stafett.broker import rpc_queue_arguments
from stafett.config import component_config
from stafett.run import COMPONENTS, service_class
from tests.support.deploy import (CRDS, GID, K8S, OVERLAYS, REPO, UID, Dockerfile, crd_schemas,
                                  kustomize, namespace_of, pod_spec, workloads)

KUBERNETES_VERSION = "1.32"
SERVICES = ("consent", "logs", "handover", "notifications")
METRICS_PORT = 9090
AGENCIES = K8S / "components" / "agency-gateways"

overlays = pytest.mark.parametrize("overlay", OVERLAYS)


@pytest.fixture(autouse=True, scope="module")
def schemas_read_once():
    """kubernetes-validate reads its (large) schema files again for every object; they do
    not change during a run."""
    from kubernetes_validate import utils

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utils, "schema_contents", functools.cache(utils.schema_contents))
        yield


def by_kind(objects, kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def named(objects, kind: str, name: str) -> dict:
    (found,) = [o for o in by_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def selects(selector: dict | None, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against labels."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if (operator == "In" and labels.get(key) not in values
                or operator == "NotIn" and present and labels[key] in values
                or operator == "Exists" and not present
                or operator == "DoesNotExist" and present):
            return False
    return True


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


def container(workload: dict) -> dict:
    (only,) = pod_spec(workload)["containers"]
    return only


def config_env(objects, workload: dict) -> dict[str, str]:
    """The plain environment a container gets: envFrom ConfigMaps, then literal env."""
    env: dict[str, str] = {}
    for source in container(workload).get("envFrom", []):
        env.update(named(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    env.update({e["name"]: e["value"] for e in container(workload).get("env", []) if "value" in e})
    return env


def minimum_replicas(objects, workload: dict) -> int:
    name = workload["metadata"]["name"]
    for hpa in by_kind(objects, "HorizontalPodAutoscaler"):
        if hpa["spec"]["scaleTargetRef"]["name"] == name:
            return hpa["spec"].get("minReplicas", 1)
    for scaled in by_kind(objects, "ScaledObject"):
        if scaled["spec"]["scaleTargetRef"]["name"] == name:
            return scaled["spec"].get("minReplicaCount", 0)
    return workload["spec"].get("replicas", 1)


# -- what the code declares -------------------------------------------------------------------

def entrypoints(component: str):
    cls = service_class(component)
    for method_name, method in inspect.getmembers(cls, callable):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            yield method_name, entrypoint


def event_queues(component: str) -> set[str]:
    """The work queue of each event handler: nameko's SERVICE_POOL name."""
    return {f"evt-{e.source_service}-{e.event_type}--{component}.{name}"
            for name, e in entrypoints(component) if isinstance(e, EventHandler)}


def has_rpc(component: str) -> bool:
    return any(isinstance(e, Rpc) for _, e in entrypoints(component))


# -- rendering and schemas --------------------------------------------------------------------

@overlays
def test_the_overlay_renders_into_one_namespace(overlay):
    objects = kustomize(overlay)
    namespace = namespace_of(overlay)
    seen = set()
    for o in objects:
        key = (o["kind"], o["metadata"]["name"])
        assert key not in seen, f"{key} twice"
        seen.add(key)
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") == namespace, key


@overlays
def test_every_object_is_valid_against_its_schema(overlay):
    schemas = crd_schemas()
    for o in kustomize(overlay):
        what = f"{o['kind']}/{o['metadata']['name']}"
        try:
            kubernetes_validate.validate(o, KUBERNETES_VERSION, strict=True)
            continue
        except kubernetes_validate.SchemaNotFoundError:
            pass
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{what}: {error.message} at {list(error.path)}")
        schema = schemas.get((o["apiVersion"], o["kind"]))
        assert schema is not None, (f"{what}: neither a built-in kind nor a CRD vendored in "
                                    f"deploy/crds ({o['apiVersion']})")
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(o), key=str)
        assert not errors, f"{what}: " + "; ".join(
            f"{e.message} at {list(e.path)}" for e in errors[:5])
        # metadata as the API server checks it: the ObjectMeta of a built-in kind
        probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o["metadata"]}
        kubernetes_validate.validate(probe, KUBERNETES_VERSION, strict=True)


def test_a_schema_refuses_what_the_api_server_would():
    """Validation is strict: a misspelt field or a wrong type is an error, for a built-in
    kind and for a custom resource."""
    deployment = copy.deepcopy(named(kustomize("dev"), "Deployment", "logs"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFilesytem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    queue = named(kustomize("dev"), "Queue", "rpc-consent")
    schema = crd_schemas()[("rabbitmq.com/v1beta1", "Queue")]
    misspelt = copy.deepcopy(queue)
    misspelt["spec"]["durabel"] = True
    wrong_type = copy.deepcopy(queue)
    wrong_type["spec"]["durable"] = "yes"
    for broken in (misspelt, wrong_type):
        assert list(jsonschema.Draft4Validator(schema).iter_errors(broken))
    assert not list(jsonschema.Draft4Validator(schema).iter_errors(queue))


def test_the_vendored_crds_say_where_they_come_from():
    readme = (CRDS / "README.md").read_text(encoding="utf-8")
    for path in CRDS.glob("*.yaml"):
        assert f"`{path.name}`" in readme, path.name


# -- containers -------------------------------------------------------------------------------

@overlays
def test_every_container_runs_locked_down_with_resources_probes_and_a_pinned_image(overlay):
    objects = kustomize(overlay)
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    dockerfile = Dockerfile.read()
    assert workloads(objects)
    for workload in workloads(objects):
        name, spec = workload["metadata"]["name"], pod_spec(workload)
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert (pod_security["runAsUser"], pod_security["runAsGroup"]) == (UID, GID), name
        assert dockerfile.runtime.all("USER") == [f"{UID}:{GID}"]
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for c in spec["containers"] + spec.get("initContainers", []):
            where = f"{name}/{c['name']}"
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["runAsNonRoot"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in security["capabilities"], where
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), (where, kind)
            # the one image, its release tag, the image's own entrypoint with the component
            image = c["image"]
            repository, _, tag = image.rpartition(":")
            assert repository.endswith("stafett") and tag == version, (where, image)
            assert "command" not in c and c["args"][0] in COMPONENTS, where
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            assert ports["metrics"] == METRICS_PORT, where
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert c[probe]["httpGet"]["port"] in ports, (where, probe)
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", where
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", where
            startup = c["startupProbe"]
            # migrations may take minutes before the server listens; liveness waits for it
            assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, where


@overlays
def test_only_emptydir_is_writable_and_every_key_is_mounted_from_a_required_secret(overlay):
    objects = kustomize(overlay)
    for workload in workloads(objects):
        name, spec = workload["metadata"]["name"], pod_spec(workload)
        volumes = {v["name"]: v for v in spec["volumes"]}
        env = config_env(objects, workload)
        component = container(workload)["args"][0]
        for mount in container(workload)["volumeMounts"]:
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                assert mount["mountPath"] == "/tmp", (name, mount)
                assert volume["emptyDir"].get("sizeLimit"), (name, mount)
            elif "persistentVolumeClaim" in volume:
                # the one other writable place: the access logs' witness, in the services
                assert component in SERVICES, (name, mount)
                assert volume["persistentVolumeClaim"]["claimName"] == "stafett-audit-witness"
                assert mount["mountPath"] == env["AUDIT_WITNESS_DIR"], (name, mount)
                assert not mount.get("readOnly"), (name, mount)
            else:
                assert mount.get("readOnly") is True, (name, mount)
                source = volume.get("secret") or volume.get("configMap")
                assert source is not None, (name, volume)
                assert not source.get("optional"), f"{name}: {mount['name']} may be missing"
        assert env["SECRETS_CREATE"] == "false", name
        assert env["METRICS_HTTP"] == f"0.0.0.0:{METRICS_PORT}", name
        assert env["DEV_ISSUER"] == "false", name
        keys_mounted = any(m["mountPath"] == env["SECRETS_DIR"]
                           for m in container(workload)["volumeMounts"])
        # every service witnesses its access log's checkpoints
        witnessed = any(m["mountPath"] == env["AUDIT_WITNESS_DIR"]
                        for m in container(workload)["volumeMounts"])
        assert witnessed == (component in SERVICES), name
        # components that keep keys at rest read them from a mounted Secret
        assert keys_mounted == (component in ("gateway", "consent", "notifications")), name


# -- references -------------------------------------------------------------------------------

def references(workload: dict) -> list[tuple[str, str, str | None]]:
    """(ConfigMap|Secret, name, key or None for a whole object) a workload reads."""
    found = []
    spec = pod_spec(workload)
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            found.append(("Secret", volume["secret"]["secretName"], None))
        if "configMap" in volume:
            found.append(("ConfigMap", volume["configMap"]["name"], None))
    for c in spec["containers"]:
        for source in c.get("envFrom", []):
            if "configMapRef" in source:
                found.append(("ConfigMap", source["configMapRef"]["name"], None))
            if "secretRef" in source:
                found.append(("Secret", source["secretRef"]["name"], None))
        for item in c.get("env", []):
            reference = item.get("valueFrom", {})
            for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                if field in reference:
                    found.append((kind, reference[field]["name"], reference[field]["key"]))
    return found


def documented_secrets() -> dict[str, set[str]]:
    """The table "Secrets" in deploy/k8s/README.md: name -> keys."""
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    table = {}
    for line in readme.splitlines():
        match = re.match(r"\|\s*`(stafett-[a-z0-9-]+)`\s*\|([^|]*)\|", line)
        if match:
            table[match.group(1)] = set(re.findall(r"`([^`]+)`", match.group(2)))
    return table


def operator_secrets(objects) -> dict[str, set[str]]:
    """Secrets an operator writes for a rendered resource: the Topology Operator's
    ``<user>-user-credentials`` for each User."""
    return {f"{user['metadata']['name']}-user-credentials": {"username", "password"}
            for user in by_kind(objects, "User")}


@overlays
def test_every_configmap_and_secret_a_pod_reads_exists_or_is_documented(overlay):
    objects = kustomize(overlay)
    generated = operator_secrets(objects)
    documented = documented_secrets()
    dev_secrets = {o["metadata"]["name"]: {**(o.get("data") or {}), **(o.get("stringData") or {})}
                   for o in by_kind(kustomize("dev"), "Secret")}
    for workload in workloads(objects):
        for kind, name, key in references(workload):
            where = f"{workload['metadata']['name']} reads {kind} {name} {key or ''}"
            rendered = [o for o in by_kind(objects, kind) if o["metadata"]["name"] == name]
            if kind == "ConfigMap":
                assert rendered, where
                assert key is None or key in rendered[0]["data"], where
                continue
            if name in generated:
                assert key is None or key in generated[name], where
                continue
            # every Secret: in the dev overlay (public DEV-ONLY values) and in the README,
            # which is what production takes from its secret store
            assert name in dev_secrets and (key is None or key in dev_secrets[name]), where
            assert name in documented, f"{where}: not in deploy/k8s/README.md's Secrets"
            assert key is None or key in documented[name], where
            if overlay == "production":
                assert not rendered, f"{where}: production must not carry secrets"


# -- replicas, autoscalers, disruption budgets ------------------------------------------------

@overlays
def test_replicas_are_set_by_the_overlay_or_owned_by_an_autoscaler_never_both(overlay):
    objects = kustomize(overlay)
    targets = ({h["spec"]["scaleTargetRef"]["name"] for h in
                by_kind(objects, "HorizontalPodAutoscaler")}
               | {s["spec"]["scaleTargetRef"]["name"] for s in by_kind(objects, "ScaledObject")})
    for workload in workloads(objects):
        name = workload["metadata"]["name"]
        if name in targets:
            assert "replicas" not in workload["spec"], f"{name}: an autoscaler owns its count"
        else:
            assert workload["spec"].get("replicas") == (2 if name in SERVICES else 1), name
    if overlay == "production":
        assert targets == {w["metadata"]["name"] for w in workloads(objects)}
    else:
        assert targets == set()


@overlays
def test_a_disruption_budget_exactly_where_two_or_more_run(overlay):
    objects = kustomize(overlay)
    budgets = by_kind(objects, "PodDisruptionBudget")
    covered = set()
    for budget in budgets:
        selected = [w for w in workloads(objects)
                    if selects(budget["spec"]["selector"], pod_labels(w))]
        assert len(selected) == 1, budget["metadata"]["name"]
        assert minimum_replicas(objects, selected[0]) >= 2, budget["metadata"]["name"]
        covered.add(selected[0]["metadata"]["name"])
    for workload in workloads(objects):
        if minimum_replicas(objects, workload) >= 2:
            assert workload["metadata"]["name"] in covered, workload["metadata"]["name"]
    if overlay == "dev":
        assert covered == set(SERVICES)


@overlays
def test_every_service_runs_at_least_two_replicas(overlay):
    """Issue 19, point 4: writes scale with processes, and a service's replicas share its
    queues and its outbox (make run: STAFETT_PROCESSES)."""
    objects = kustomize(overlay)
    running = {w["metadata"]["name"]: minimum_replicas(objects, w) for w in workloads(objects)}
    too_few = {name: running[name] for name in SERVICES if running[name] < 2}
    assert too_few == {}, f"{overlay}: services with fewer than two replicas"


def test_the_services_scale_on_their_own_queues():
    objects = kustomize("production")
    namespace = namespace_of("production")
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in by_kind(objects, "ScaledObject")}
    assert set(scaled) == set(SERVICES)
    every_event_queue = {q for c in SERVICES for q in event_queues(c)}
    for service in SERVICES:
        triggers = scaled[service]["spec"]["triggers"]
        assert all(t["type"] == "rabbitmq" for t in triggers)
        for trigger in triggers:
            host = trigger["metadata"]["host"]
            assert host == f"http://stafett-rabbitmq.{namespace}.svc:15672", host
            authentication = named(objects, "TriggerAuthentication",
                                   trigger["authenticationRef"]["name"])
            user_secrets = {ref["name"] for ref in authentication["spec"]["secretTargetRef"]}
            assert user_secrets == {f"{u['metadata']['name']}-user-credentials"
                                    for u in by_kind(objects, "User")
                                    if u["metadata"]["name"] == "stafett-keda"}
        exact = [t["metadata"]["queueName"] for t in triggers if "useRegex" not in t["metadata"]]
        assert exact == [f"rpc-{service}"] and has_rpc(service)
        patterns = [t["metadata"]["queueName"] for t in triggers if t["metadata"].get("useRegex")]
        own = event_queues(service)
        if not own:
            assert patterns == [], service
            continue
        (pattern,) = patterns
        matched = {q for q in every_event_queue | {f"{q}.retry" for q in every_event_queue}
                   | {f"{q}.dlq" for q in every_event_queue} if re.search(pattern, q)}
        assert matched == own, service


# -- network ----------------------------------------------------------------------------------

class Network:
    """NetworkPolicy semantics, enough to ask who may reach whom on which port."""

    def __init__(self, objects, namespace: str):
        self.policies = by_kind(objects, "NetworkPolicy")
        self.namespace = namespace

    def _applies(self, labels: dict, kind: str) -> list[dict]:
        return [p for p in self.policies if kind in p["spec"]["policyTypes"]
                and (p["spec"]["podSelector"] == {} or selects(p["spec"]["podSelector"], labels))]

    @staticmethod
    def _port_ok(rule: dict, port: int, protocol: str) -> bool:
        ports = rule.get("ports")
        return not ports or any(p.get("port") in (None, port) and
                                p.get("protocol", "TCP") == protocol for p in ports)

    def _peer_ok(self, peers, other) -> bool:
        if peers is None:
            return True
        for peer in peers:
            if "ipBlock" in peer:
                if other[0] != "ip":
                    continue
                address = ipaddress.ip_address(other[1])
                block = peer["ipBlock"]
                if address in ipaddress.ip_network(block["cidr"]) and not any(
                        address in ipaddress.ip_network(e) for e in block.get("except", [])):
                    return True
                continue
            if other[0] != "pod":
                continue
            _, namespace, labels = other
            namespace_ok = (selects(peer["namespaceSelector"],
                                    {"kubernetes.io/metadata.name": namespace})
                            if "namespaceSelector" in peer else namespace == self.namespace)
            pod_ok = ("podSelector" not in peer or peer["podSelector"] == {}
                      or selects(peer["podSelector"], labels))
            if namespace_ok and pod_ok:
                return True
        return False

    def egress(self, labels: dict, to, port: int, protocol: str = "TCP") -> bool:
        return any(self._port_ok(rule, port, protocol) and self._peer_ok(rule.get("to"), to)
                   for p in self._applies(labels, "Egress") for rule in p["spec"].get("egress", []))

    def ingress(self, labels: dict, source, port: int, protocol: str = "TCP") -> bool:
        return any(self._port_ok(rule, port, protocol) and self._peer_ok(rule.get("from"), source)
                   for p in self._applies(labels, "Ingress")
                   for rule in p["spec"].get("ingress", []))


PUBLIC = ("ip", "203.0.113.10")          # documentation address (RFC 5737): "the internet"
PRIVATE = ("ip", "10.1.2.3")


@overlays
def test_network_policies_deny_in_and_out_by_default_and_allow_what_each_pod_needs(overlay):
    objects = kustomize(overlay)
    namespace = namespace_of(overlay)
    net = Network(objects, namespace)
    deny = [p for p in net.policies if p["spec"]["podSelector"] == {} and
            set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and
            not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, "no default-deny for both directions"

    def pod(labels, ns=namespace):
        return ("pod", ns, labels)

    dns = pod({"k8s-app": "kube-dns"}, "kube-system")
    broker = pod({"app.kubernetes.io/name": "stafett-rabbitmq"})
    pooler = pod({"cnpg.io/poolerName": "stafett-pooler-rw", "cnpg.io/cluster": "stafett-postgres"})
    instance = pod({"cnpg.io/cluster": "stafett-postgres", "cnpg.io/podRole": "instance"})
    for workload in workloads(objects):
        labels, name = pod_labels(workload), workload["metadata"]["name"]
        component = container(workload)["args"][0]
        env = config_env(objects, workload)
        assert net.egress(labels, dns, 53, "UDP"), name
        assert net.egress(labels, broker, 5672), name
        assert net.egress(labels, pooler, 5432), name
        assert not net.egress(labels, instance, 5432), f"{name}: only through the pooler"
        assert not net.egress(labels, PRIVATE, 443), name
        assert net.egress(labels, PUBLIC, 443) == (component in ("gateway", "notifications")), name
        smtp = int(env.get("SMTP_PORT", 587))
        assert net.egress(labels, PUBLIC, smtp) == (component == "notifications"), name
        # metrics for Prometheus only; the HTTP port only for the ingress controller
        assert net.ingress(labels, pod({}, "monitoring"), METRICS_PORT), name
        assert not net.ingress(labels, pod({}, "ingress-nginx"), METRICS_PORT), name
        http = next(p["containerPort"] for p in container(workload)["ports"] if p["name"] == "http")
        assert net.ingress(labels, pod({}, "ingress-nginx"), http) == (component == "gateway"), name
        assert not net.ingress(labels, pod({}, "default"), http), name
        assert not net.ingress(labels, pod({"app.kubernetes.io/name": "stafett"}), http), name
    stafett = pod({"app.kubernetes.io/name": "stafett"})
    assert net.ingress(broker[2], stafett, 5672) and net.ingress(pooler[2], stafett, 5432)
    assert not net.ingress(instance[2], stafett, 5432)
    assert net.egress(pooler[2], instance, 5432) and net.ingress(instance[2], pooler, 5432)
    keda = pod({}, "keda")
    assert net.ingress(broker[2], keda, 15672) == (overlay == "production")


# -- public entrance and metrics --------------------------------------------------------------

@overlays
def test_ingresses_terminate_tls_for_the_gateways_and_never_reach_metrics(overlay):
    objects = kustomize(overlay)
    ingresses = by_kind(objects, "Ingress")
    assert ingresses
    for ingress in ingresses:
        hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        assert {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]} == hosts
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = named(objects, "Service", backend["name"])
                (port,) = [p for p in service["spec"]["ports"]
                           if p.get("name") == backend["port"].get("name")]
                assert port["targetPort"] == "http" and port["port"] != METRICS_PORT
                assert all(p["targetPort"] != "metrics" for p in service["spec"]["ports"])
                (workload,) = [w for w in workloads(objects)
                               if selects({"matchLabels": service["spec"]["selector"]},
                                          pod_labels(w))]
                assert container(workload)["args"] == ["gateway"]
                # the gateway's public address is this host (links in e-mails, OIDC returns)
                assert config_env(objects, workload)["PUBLIC_URL"] == f"https://{rule['host']}"
    for service in by_kind(objects, "Service"):
        if any(p["targetPort"] == "metrics" for p in service["spec"]["ports"]):
            assert service["spec"]["type"] == "ClusterIP"
            assert [p["targetPort"] for p in service["spec"]["ports"]] == ["metrics"]


# -- the broker and the database --------------------------------------------------------------

@overlays
def test_the_topology_operator_declares_the_queues_as_the_services_do(overlay):
    objects = kustomize(overlay)
    queues = {q["spec"]["name"]: q["spec"] for q in by_kind(objects, "Queue")}
    rpc = {f"rpc-{c}" for c in SERVICES if has_rpc(c)}
    assert rpc <= set(queues)
    for name in rpc:
        # exactly the services' declaration with QUORUM_QUEUES=true (durable, quorum, no
        # other arguments), else their own would fail with PRECONDITION_FAILED
        spec = queues[name]
        assert spec["durable"] is True and spec.get("autoDelete", False) is False, name
        assert spec["type"] == "quorum" and "arguments" not in spec, name
        assert rpc_queue_arguments({"QUORUM_QUEUES": "true"}) == {"x-queue-type": "quorum"}
    (policy,) = [p for p in by_kind(objects, "Policy")
                 if p["spec"]["name"] == "stafett-event-queues"]
    work = {q for c in COMPONENTS for q in event_queues(c)}
    assert work
    pattern = re.compile(policy["spec"]["pattern"])
    assert {q for q in work if pattern.search(q)} == work
    assert not [q for q in work if pattern.search(q + ".retry") or pattern.search(q + ".dlq")]
    parked = policy["spec"]["definition"]["dead-letter-exchange"]
    assert named(objects, "Exchange", parked)
    bindings = [b for b in by_kind(objects, "Binding") if b["spec"]["source"] == parked]
    assert [b["spec"]["destination"] for b in bindings] == [parked]
    assert queues[parked]["type"] == "quorum"


@overlays
def test_each_component_has_its_database_through_the_pooler(overlay):
    objects = kustomize(overlay)
    (cluster,) = by_kind(objects, "Cluster")
    (pooler,) = by_kind(objects, "Pooler")
    assert pooler["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert pooler["spec"]["type"] == "rw"
    databases = {d["spec"]["name"]: d["spec"]["owner"] for d in by_kind(objects, "Database")}
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    databases[initdb["database"]] = initdb["owner"]
    roles = {r["name"] for r in cluster["spec"]["managed"]["roles"]} | {initdb["owner"]}
    assert set(databases) == set(COMPONENTS) and set(databases.values()) <= roles
    urls = next(o for o in by_kind(kustomize("dev"), "Secret")
                if o["metadata"]["name"] == "stafett-db")["stringData"]
    for component in COMPONENTS:
        url = urls[f"{component.upper()}_DATABASE_URL"]
        assert re.fullmatch(rf"postgresql\+psycopg2://{component}:[^@]+@"
                            rf"{pooler['metadata']['name']}:5432/{component}", url), url
    image = cluster["spec"]["imageName"]
    assert re.search(r":\d+\.\d+", image), image
    if overlay == "production":
        (backup,) = by_kind(objects, "ScheduledBackup")
        assert backup["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        assert backup["spec"]["method"] == "plugin"
        (plugin,) = cluster["spec"]["plugins"]
        assert plugin["name"] == backup["spec"]["pluginConfiguration"]["name"]
        assert plugin["isWALArchiver"] is True
        assert named(objects, "ObjectStore", plugin["parameters"]["barmanObjectName"])
        assert cluster["spec"]["instances"] >= 3 and pooler["spec"]["instances"] >= 2


def test_the_broker_image_is_pinned():
    for overlay in OVERLAYS:
        (broker,) = by_kind(kustomize(overlay), "RabbitmqCluster")
        assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+-management", broker["spec"]["image"])


# -- configuration ------------------------------------------------------------------------------

@overlays
def test_the_configuration_the_gateway_and_services_get_is_complete(overlay, tmp_path):
    """ConfigMaps and (dev) Secrets as the pods see them, through stafett.config, as the
    start test does with real processes: issuers, OIDC providers, public URL, SMTP."""
    from gateway.auth import TokenVerifier
    from gateway.web.oidc import Provider

    objects = kustomize(overlay)
    dev = kustomize("dev")
    generated = operator_secrets(objects)
    for workload in workloads(objects):
        env = config_env(objects, workload)
        for item in container(workload)["env"]:
            reference = item.get("valueFrom", {}).get("secretKeyRef")
            if reference and reference["name"] in generated:
                env[item["name"]] = f"written-by-the-operator-{reference['key']}"
            elif reference:
                secret = named(dev, "Secret", reference["name"])
                env[item["name"]] = secret["stringData"][reference["key"]]
        if "STAFETT_SITE_CONFIG" in env:
            (volume,) = [v for v in pod_spec(workload)["volumes"] if "configMap" in v]
            site = tmp_path / workload["metadata"]["name"] / "site.yaml"
            site.parent.mkdir()
            site.write_text(named(objects, "ConfigMap", volume["configMap"]["name"])["data"]
                            ["site.yaml"])
            env["STAFETT_SITE_CONFIG"] = str(site)
        component = container(workload)["args"][0]
        config = component_config(component, environ=env)
        assert config.get("SECRETS_CREATE", False) is False
        # its own RabbitMQ user, at the broker's Service
        assert config["AMQP_URI"] == ("pyamqp://written-by-the-operator-username:"
                                      "written-by-the-operator-password@stafett-rabbitmq:5672/")
        if component == "gateway":
            kinds = {issuer["kind"] for issuer in config["ISSUERS"]}
            assert kinds == {"citizen", "staff", "system"}
            TokenVerifier.from_config(config["ISSUERS"])     # raises on a weak or bad entry
            providers = [Provider.from_dict(p, allow_http=False) for p in config["OIDC_PROVIDERS"]]
            assert {p.kind for p in providers} == {"citizen", "staff"}
            assert config["PUBLIC_URL"].startswith("https://")
        if component == "notifications":
            assert config["SMTP_HOST"] and config["SMTP_STARTTLS"] is True
            assert config["SMTP_USERNAME"] and config["SMTP_PASSWORD"]
            assert config["PUBLIC_URL"].startswith("https://")


# -- one gateway per agency ---------------------------------------------------------------------

def test_the_agency_gateways_are_generated_from_the_list_and_up_to_date():
    result = subprocess.run([sys.executable, str(AGENCIES / "generate.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, ("run deploy/k8s/components/agency-gateways/generate.py:\n"
                                    + result.stderr)
    agencies = yaml.safe_load((AGENCIES / "agencies.yaml").read_text())["agencies"]
    objects = kustomize("production")
    for agency in agencies:
        number = agency["org_number"]
        name = f"gateway-agency-{number}"
        workload = named(objects, "Deployment", name)
        env = config_env(objects, workload)
        assert env["AGENCY_ORG_NUMBER"] == number
        assert env["PUBLIC_URL"] == f"https://{agency['host']}"
        assert env["RATE_LIMIT_PER_MINUTE"] == str(agency["rate_limit_per_minute"])
        assert env["RATE_LIMIT_BURST"] == str(agency["rate_limit_burst"])
        # the base gateway's container, renamed: same probes, security and mounts
        shared = container(named(objects, "Deployment", "gateway"))
        mine = container(workload)
        for key in ("image", "args", "securityContext", "startupProbe", "readinessProbe",
                    "livenessProbe", "resources", "volumeMounts"):
            assert mine[key] == shared[key], (name, key)
        hpa = named(objects, "HorizontalPodAutoscaler", name)
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
            agency["min_replicas"], agency["max_replicas"])
        ingress = named(objects, "Ingress", name)
        assert ingress["spec"]["tls"][0]["hosts"] == [agency["host"]]
        # its pods are its own: the shared gateway's selectors never pick them, nor theirs
        shared_selector = named(objects, "Service", "gateway")["spec"]["selector"]
        assert not selects({"matchLabels": shared_selector}, pod_labels(workload))
    # the shared gateway serves every agency
    assert "AGENCY_ORG_NUMBER" not in config_env(objects, named(objects, "Deployment", "gateway"))


@pytest.mark.parametrize("change, error", [
    ({"org_number": "974000000"}, "wrong check digit"),
    ({"host": "Not A Host"}, "is not a lowercase DNS name"),
    ({"min_replicas": 3, "max_replicas": 2}, "need 1 <= min_replicas <= max_replicas"),
    ({"replicas": 2}, "unknown keys ['replicas']"),
])
def test_the_agency_list_refuses_what_would_make_a_broken_gateway(tmp_path, change, error):
    sys.path.insert(0, str(AGENCIES))
    try:
        import generate
    finally:
        sys.path.remove(str(AGENCIES))
    good = {"org_number": "869006025", "host": "a.example.org"}
    listing = tmp_path / "agencies.yaml"
    listing.write_text(yaml.safe_dump({"agencies": [{**good, **change}]}))
    with pytest.raises(generate.AgencyListError) as caught:
        generate.read_agencies(listing)
    assert error in str(caught.value)
    listing.write_text(yaml.safe_dump({"agencies": [good, {**good, "org_number": "977354684"}]}))
    with pytest.raises(generate.AgencyListError, match="listed twice"):
        generate.read_agencies(listing)
