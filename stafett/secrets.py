"""Symmetric keys for the services' at-rest encryption, read once at start.

From configuration (hex, e.g. an environment variable fed by a secret store), else from a
file in ``SECRETS_DIR`` (where Kubernetes mounts secrets); in development the file is
created on first start unless ``SECRETS_CREATE`` is false.
"""
from __future__ import annotations

import os
from pathlib import Path

from stafett.config import flag


def symmetric_key(config, config_key: str, file_name: str) -> bytes:
    if config.get(config_key):
        return bytes.fromhex(str(config[config_key]))
    path = Path(config.get("SECRETS_DIR", "var/secrets")) / file_name
    if not path.exists():
        if not flag(config.get("SECRETS_CREATE"), True, "SECRETS_CREATE"):
            raise FileNotFoundError(f"missing secret {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another replica made it first
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32).hex().encode())
    return bytes.fromhex(path.read_text().strip())
