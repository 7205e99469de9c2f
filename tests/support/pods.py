"""Start a rendered Deployment's container here, the way a kubelet would.

From the manifest only: the image's entrypoint (Dockerfile) with the container's ``args``;
the user and group of its securityContext, with no capabilities and no privilege
escalation (``setpriv``); the image's environment, then ``envFrom`` and ``env`` with their
ConfigMap and Secret values and ``$(VAR)`` references; each volume as a directory: ConfigMap
and Secret volumes as read-only files (group ``fsGroup``, ``defaultMode``), each
``emptyDir`` as a writable directory, and each PersistentVolumeClaim as one writable
directory its pods share; a working directory the user cannot write.

What a cluster has and this machine has not is substituted, and nothing else:
- in-cluster services by the local servers: an AMQP URI naming the broker's Service by the
  test's vhost, a PostgreSQL URL naming the pooler by a fresh database of the same name;
- a listen address ``0.0.0.0:<port>`` by ``127.0.0.1:<free port>`` (several pods share
  this machine's loopback), and probes follow the port;
- a mount path by its directory here, wherever a value names it;
- chosen public endpoints (``external``), e.g. an identity provider's keys, by loopback ones.
Secrets a production overlay leaves to the secret store, and those an operator writes (a
RabbitMQ user's credentials), come from ``secret_store``.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.support.deploy import Dockerfile, Installed, as_unprivileged, pod_spec
from tests.support.platform import free_port

#: the Services the operators create, which a manifest may name in a URL
BROKER_HOSTS = {"stafett-rabbitmq"}
DATABASE_HOSTS = {"stafett-pooler-rw", "stafett-postgres-rw"}
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_LISTEN = re.compile(r"^0\.0\.0\.0:(\d+)$")


@dataclass
class Cluster:
    """What the rendered overlay and the local servers provide to every pod."""

    objects: tuple[dict, ...]
    amqp_uri: str                       # the test's vhost on the local broker
    database_urls: dict[str, str]       # database name -> a fresh local database
    secret_store: dict[str, dict[str, str]] = field(default_factory=dict)
    external: dict[str, str] = field(default_factory=dict)
    claims: dict[str, Path] = field(default_factory=dict)  # claim name -> its directory

    def _object(self, kind: str, name: str) -> dict | None:
        for candidate in self.objects:
            if candidate["kind"] == kind and candidate["metadata"]["name"] == name:
                return candidate
        return None

    def config_map(self, name: str) -> dict[str, str]:
        found = self._object("ConfigMap", name)
        if found is None:
            raise AssertionError(f"ConfigMap {name} is not in the rendered overlay")
        return dict(found.get("data") or {})

    def claim(self, name: str) -> Path:
        """The directory standing in for a PersistentVolumeClaim (made on first use)."""
        if self._object("PersistentVolumeClaim", name) is None:
            raise AssertionError(f"PersistentVolumeClaim {name} is not in the rendered overlay")
        if name not in self.claims:
            import tempfile

            here = Path(tempfile.mkdtemp(prefix=f"stafett-claim-{name}-"))
            os.chmod(here, 0o2777)
            self.claims[name] = here
        return self.claims[name]

    def secret(self, name: str) -> dict[str, str]:
        found = self._object("Secret", name)
        if found is not None:
            import base64

            data = {k: base64.b64decode(v).decode() for k, v in (found.get("data") or {}).items()}
            data.update(found.get("stringData") or {})
            return data
        if name in self.secret_store:
            return dict(self.secret_store[name])
        raise AssertionError(f"Secret {name} is neither rendered nor in the test's store")

    def substitute(self, value: str) -> str:
        """In-cluster services and chosen public endpoints by their local stand-ins."""
        for public, local in self.external.items():
            value = value.replace(public, local)
        try:
            parts = urlsplit(value)
        except ValueError:
            return value
        if parts.scheme in ("pyamqp", "amqp", "amqps") and parts.hostname in BROKER_HOSTS:
            return self.amqp_uri
        if parts.scheme.startswith("postgresql") and parts.hostname in DATABASE_HOSTS:
            name = parts.path.lstrip("/")
            if name not in self.database_urls:
                raise AssertionError(f"no local database stands in for {name!r}")
            return self.database_urls[name]
        return value


@dataclass
class Pod:
    """One replica of a Deployment, running as a process here."""

    name: str
    root: Path
    process: subprocess.Popen
    ports: dict[str, int]               # container port name (or number) -> local port
    probes: dict[str, dict]             # startupProbe/livenessProbe/readinessProbe
    writable: list[Path]                # the emptyDir and claim directories
    log: Path

    def url(self, port_name: str = "http") -> str:
        return f"http://127.0.0.1:{self.ports[port_name]}"

    def probe_url(self, probe: str) -> str:
        get = self.probes[probe]["httpGet"]
        port = get["port"]
        return f"http://127.0.0.1:{self.ports[str(port)]}{get['path']}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def secret_names(workload: dict) -> set[str]:
    """Every Secret a workload's pods read: env, envFrom and volumes."""
    spec = pod_spec(workload)
    names = {volume["secret"]["secretName"] for volume in spec.get("volumes", [])
             if "secret" in volume}
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        names |= {source["secretRef"]["name"] for source in container.get("envFrom", [])
                  if "secretRef" in source}
        names |= {item["valueFrom"]["secretKeyRef"]["name"] for item in container.get("env", [])
                  if "secretKeyRef" in item.get("valueFrom", {})}
    return names


def _expand(value: str, environment: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` references to variables defined before (``$$`` escapes)."""
    return _REFERENCE.sub(lambda m: environment.get(m.group(1), m.group(0)),
                          value.replace("$$", "\0")).replace("\0", "$")


def _write_files(directory: Path, files: dict[str, str], mode: int, gid: int) -> None:
    directory.mkdir(parents=True)
    for key, content in files.items():
        path = directory / key
        path.write_text(content, encoding="utf-8")
        os.chown(path, 0, gid)
        os.chmod(path, mode)
    os.chmod(directory, 0o755)


def start(deployment: dict, cluster: Cluster, installed: Installed, root: Path,
          dockerfile: Dockerfile) -> Pod:
    """Start the Deployment's first container (every Stafett pod has one)."""
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    security = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
    uid, gid = int(security["runAsUser"]), int(security.get("runAsGroup", security["runAsUser"]))
    fs_group = int(spec.get("securityContext", {}).get("fsGroup", gid))
    if uid == 0 or not security.get("runAsNonRoot"):
        raise AssertionError(f"{deployment['metadata']['name']} would run as root")
    root.mkdir(parents=True)
    os.chmod(root, 0o755)

    # volumes: where each mount path is here
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    mounts, writable = {}, []
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        here = root / "volumes" / mount["name"]
        if "emptyDir" in volume:
            here.mkdir(parents=True)
            os.chown(here, 0, fs_group)
            os.chmod(here, 0o2777)
            writable.append(here)
        elif "persistentVolumeClaim" in volume:
            # a claim: one writable directory every pod of the cluster that mounts it shares
            # (ReadWriteMany; the access logs' witness)
            here = cluster.claim(volume["persistentVolumeClaim"]["claimName"])
            writable.append(here)
        elif "secret" in volume or "configMap" in volume:
            source = volume.get("secret") or volume["configMap"]
            files = (cluster.secret(source["secretName"]) if "secret" in volume
                     else cluster.config_map(source["name"]))
            if source.get("items"):
                files = {item["path"]: files[item["key"]] for item in source["items"]}
            files = {key: cluster.substitute(text) for key, text in files.items()}
            _write_files(here, files, int(source.get("defaultMode", 0o644)), fs_group)
        else:
            raise AssertionError(f"volume {mount['name']}: only emptyDir, secret, configMap, "
                                 "persistentVolumeClaim")
        mounts[mount["mountPath"].rstrip("/")] = here

    def local_path(value: str) -> str:
        for path in sorted(mounts, key=len, reverse=True):
            if value == path or value.startswith(path + "/"):
                return str(mounts[path]) + value[len(path):]
        return value

    # environment: the image's, then envFrom, then env; then the substitutions
    image_env = dict(item.split("=", 1) for args in dockerfile.runtime.all("ENV")
                     for item in re.findall(r'(\w+=\S+)', args))
    environment = {"TMPDIR": image_env.get("TMPDIR", "/tmp")}   # the rest: installed's
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment.update(cluster.config_map(source["configMapRef"]["name"]))
        else:
            environment.update(cluster.secret(source["secretRef"]["name"]))
    for item in container.get("env", []):
        if "value" in item:
            environment[item["name"]] = _expand(str(item["value"]), environment)
        else:
            reference = item["valueFrom"]
            if "secretKeyRef" in reference:
                ref = reference["secretKeyRef"]
                environment[item["name"]] = cluster.secret(ref["name"])[ref["key"]]
            elif "configMapKeyRef" in reference:
                ref = reference["configMapKeyRef"]
                environment[item["name"]] = cluster.config_map(ref["name"])[ref["key"]]
            else:
                raise AssertionError(f"env {item['name']}: unsupported source {reference}")

    ports = {}
    declared = {p["containerPort"]: p.get("name", str(p["containerPort"]))
                for p in container.get("ports", [])}
    for name, value in list(environment.items()):
        value = local_path(cluster.substitute(value))
        listen = _LISTEN.match(value)
        if listen:
            number = int(listen.group(1))
            local = free_port()
            ports[str(number)] = ports[declared.get(number, str(number))] = local
            value = f"127.0.0.1:{local}"
        environment[name] = value
    environment = {**installed.environment(), **environment}

    command = dockerfile.entrypoint()
    command = [installed.python] + command[1:] + list(container.get("args", []))
    if container.get("command"):
        raise AssertionError("the manifests take the image's entrypoint, never a command")
    log = root / "output.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(as_unprivileged(uid, gid) + command,
                                   cwd=installed.workdir(), env=environment,
                                   stdout=output, stderr=subprocess.STDOUT)
    probes = {kind: container[kind] for kind in
              ("startupProbe", "livenessProbe", "readinessProbe") if kind in container}
    return Pod(deployment["metadata"]["name"], root, process, ports, probes, writable, log)


def wait_ready(pods: list[Pod], timeout: float) -> dict[int, float]:
    """Poll each pod's readiness probe until 200; seconds each took, by ``id(pod)``."""
    started, ready = time.monotonic(), {}
    while len(ready) < len(pods):
        for pod in pods:
            if id(pod) in ready:
                continue
            if pod.process.poll() is not None:
                raise AssertionError(f"{pod.name} exited {pod.process.returncode}:\n"
                                     f"{pod.output()}")
            try:
                if requests.get(pod.probe_url("readinessProbe"), timeout=3).status_code == 200:
                    ready[id(pod)] = time.monotonic() - started
            except requests.RequestException:
                pass
        if time.monotonic() - started > timeout:
            late = [pod for pod in pods if id(pod) not in ready]
            raise AssertionError("not ready in time: " + ", ".join(
                f"{pod.name}:\n{pod.output()}" for pod in late))
        time.sleep(0.25)
    return ready


def stop_all(pods: list[Pod], timeout: float = 20) -> None:
    """SIGTERM to every pod at once (as a rollout would), SIGKILL after ``timeout``."""
    running = [pod for pod in pods if pod.process.poll() is None]
    for pod in running:
        pod.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pod in running:
        try:
            pod.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pod.process.kill()
            pod.process.wait(timeout=15)


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
