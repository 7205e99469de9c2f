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
import ssl
from importlib import resources
from pathlib import Path
from typing import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

import yaml

#: the source checkout (development tools only; an installed package has none)
ROOT = Path(__file__).resolve().parent.parent
#: the shipped defaults, inside the package
DEFAULT_CONFIG = Path(str(resources.files("stafett").joinpath("stafett.yaml")))
_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}")


class ConfigError(RuntimeError):
    pass


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def flag(value, default: bool = False, name: str = "a switch") -> bool:
    """A boolean setting: ``True``/``False`` (YAML) or ``1``/``0``, ``true``/``false``,
    ``yes``/``no``, ``on``/``off`` in any case, spaces trimmed; absent (None) is ``default``.
    Anything else is a ``ConfigError``: a mistyped switch is not silently off."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}: {value!r} is not a boolean (true/false, yes/no, on/off, 1/0)")


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
    return finish_config(config)


def comma_list(value) -> tuple[str, ...]:
    """A setting that lists values, given as "a, b" or as a YAML list: the values, trimmed."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


# -- the broker: credentials and TLS -------------------------------------------------------

def with_credentials(uri: str, username: str, password: str) -> str:
    """``uri`` with its user and password replaced (host, port and vhost kept)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def tls_options(config: dict) -> dict | None:
    """kombu/py-amqp ``ssl`` options when ``AMQP_TLS`` is on: the broker's certificate must
    chain to ``AMQP_TLS_CA_FILE`` (or the system's CAs) and name ``AMQP_TLS_SERVER_NAME``
    (default: the host in ``AMQP_URI``); ``AMQP_TLS_CERT_FILE``/``_KEY_FILE`` present a client
    certificate. There is no switch to turn verification off."""
    if not flag(config.get("AMQP_TLS"), False, "AMQP_TLS"):
        return None
    files = {}
    for key, option in (("AMQP_TLS_CA_FILE", "ca_certs"), ("AMQP_TLS_CERT_FILE", "certfile"),
                        ("AMQP_TLS_KEY_FILE", "keyfile")):
        value = str(config.get(key) or "").strip()
        if value:
            if not Path(value).is_file():
                raise ConfigError(f"{key}: no such file: {value}")
            files[option] = value
    if "keyfile" in files and "certfile" not in files:
        raise ConfigError("AMQP_TLS_KEY_FILE needs AMQP_TLS_CERT_FILE")
    server_name = (str(config.get("AMQP_TLS_SERVER_NAME") or "").strip()
                   or urlsplit(config["AMQP_URI"]).hostname)
    return {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": server_name, **files}


def finish_config(config: dict) -> dict:
    """Applied by ``component_config``: ``AMQP_USERNAME``/``AMQP_PASSWORD`` (from a Secret)
    go into ``AMQP_URI``; ``AMQP_TLS`` becomes nameko's ``AMQP_SSL``."""
    username = str(config.get("AMQP_USERNAME") or "")
    if username and "AMQP_URI" in config:
        config["AMQP_URI"] = with_credentials(config["AMQP_URI"], username,
                                              str(config.get("AMQP_PASSWORD") or ""))
    if "AMQP_URI" in config:
        options = tls_options(config)
        if options is not None:
            config["AMQP_SSL"] = options
    return config
