"""Configuration: one YAML file, environment variables substituted as ``${VAR:default}``.

The file has a ``common`` section and one section per component; a component's config is
``common`` overlaid with its own section, flattened into the dict nameko expects.

The default file, ``stafett/stafett.yaml``, is package data: an installed wheel (the
container image) finds it without the source tree. ``STAFETT_CONFIG`` replaces it whole.
``STAFETT_SITE_CONFIG`` names a second file of the same shape whose keys replace the
default's, section by section: what a deployment sets that an environment variable cannot
carry, such as the lists ``ISSUERS`` and ``OIDC_PROVIDERS`` (in Kubernetes a ConfigMap
mounted as a file, deploy/k8s/README.md).
"""
from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Mapping

import yaml

#: the source checkout (development tools only; an installed package has none)
ROOT = Path(__file__).resolve().parent.parent
#: the shipped defaults, inside the package
DEFAULT_CONFIG = Path(str(resources.files("stafett").joinpath("stafett.yaml")))
_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}")


class ConfigError(RuntimeError):
    pass


def expand(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``${VAR}`` / ``${VAR:default}``; a missing variable without default is an error."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match) -> str:
        name, default = match.group("name"), match.group("default")
        if name in env:
            return env[name]
        if default is None:
            raise ConfigError(f"environment variable {name} is required by the configuration")
        return default

    return _ENV_REFERENCE.sub(substitute, text)


def _scalar(value: str):
    """A value that was a whole ``${...}`` reference gets YAML's plain scalar types
    (ints, floats, booleans); anything else stays the exact string, so a secret or URL
    containing '#' or ': ' is never reinterpreted as YAML."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value


def _resolve(node, environ):
    if isinstance(node, dict):
        return {key: _resolve(value, environ) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, environ) for item in node]
    if isinstance(node, str) and "${" in node:
        whole = _ENV_REFERENCE.fullmatch(node)
        expanded = expand(node, environ)
        return _scalar(expanded) if whole else expanded
    return node


def load_file(path: str | Path = DEFAULT_CONFIG, environ: Mapping[str, str] | None = None) -> dict:
    """Parse the YAML first, then substitute into string values (never into comments)."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return _resolve(document, environ)


def component_config(component: str, path: str | Path | None = None,
                     environ: Mapping[str, str] | None = None, **overrides) -> dict:
    """The flat config dict for one component (a service or the gateway)."""
    env = os.environ if environ is None else environ
    path = path or env.get("STAFETT_CONFIG") or DEFAULT_CONFIG
    document = load_file(path, env)
    if component not in (document.get("components") or {}):
        raise ConfigError(f"no section for component {component!r} in {path}")
    config = dict(document.get("common") or {})
    config.update(document["components"][component] or {})
    site_path = env.get("STAFETT_SITE_CONFIG")
    if site_path:
        site = load_file(site_path, env)
        unknown = set(site) - {"common", "components"}
        if unknown:
            raise ConfigError(f"{site_path}: unknown sections {sorted(unknown)}")
        config.update(site.get("common") or {})
        config.update((site.get("components") or {}).get(component) or {})
    config["COMPONENT"] = component
    config.update(overrides)
    from stafett.broker import finish_config  # the broker's credentials and TLS switch

    return finish_config(config)


def comma_list(value) -> tuple[str, ...]:
    """A setting that lists values, given as "a, b" or as a YAML list: the values, trimmed."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())
