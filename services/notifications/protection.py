"""Webhook secrets at rest: AES-256-GCM with the webhook's id as associated data.

The secret must be readable to sign each delivery, so it is encrypted, not hashed. The key
comes from ``WEBHOOK_SECRET_KEY`` (hex, 32 bytes) or the file ``webhook-secret.key`` in
``SECRETS_DIR`` (created on first start in development when ``SECRETS_CREATE`` is on).
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nameko.extensions import DependencyProvider

KEY_FILE = "webhook-secret.key"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class SecretBox:
    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("the webhook secret key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_config(cls, config: dict) -> "SecretBox":
        if config.get("WEBHOOK_SECRET_KEY"):
            return cls(bytes.fromhex(str(config["WEBHOOK_SECRET_KEY"])))
        path = Path(config.get("SECRETS_DIR", "var/secrets")) / KEY_FILE
        if not path.exists():
            if str(config.get("SECRETS_CREATE", "true")).lower() != "true":
                raise FileNotFoundError(f"missing secret {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another replica made it first
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(os.urandom(32).hex().encode())
        return cls(bytes.fromhex(path.read_text().strip()))

    def seal(self, secret: str, webhook_id: str) -> str:
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, secret.encode(), webhook_id.encode())
        return base64.b64encode(sealed).decode()

    def open(self, sealed: str, webhook_id: str) -> str:
        raw = base64.b64decode(sealed)
        return self._aead.decrypt(raw[:12], raw[12:], webhook_id.encode()).decode()


class WebhookSecrets(DependencyProvider):
    """``self.secrets``: the service's SecretBox."""

    def setup(self):
        self.box = SecretBox.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.box
