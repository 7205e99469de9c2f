"""Webhook secrets at rest: AES-256-GCM with the webhook's id as associated data.

The secret must be readable to sign each delivery, so it is encrypted, not hashed. The key
comes from ``WEBHOOK_SECRET_KEY`` (hex, 32 bytes) or the file ``webhook-secret.key`` in
``SECRETS_DIR`` (created on first start in development when ``SECRETS_CREATE`` is on).
"""
from __future__ import annotations

import secrets

from nameko.extensions import DependencyProvider

from stafett.crypto import Aead
from stafett.secrets import symmetric_key

KEY_FILE = "webhook-secret.key"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class SecretBox:
    def __init__(self, key: bytes):
        self._aead = Aead(key, "the webhook secret key")

    @classmethod
    def from_config(cls, config: dict) -> "SecretBox":
        return cls(symmetric_key(config, "WEBHOOK_SECRET_KEY", KEY_FILE))

    def seal(self, secret: str, webhook_id: str) -> str:
        return self._aead.seal_text(secret, webhook_id)

    def open(self, sealed: str, webhook_id: str) -> str:
        return self._aead.open_text(sealed, webhook_id)


class WebhookSecrets(DependencyProvider):
    """``self.secrets``: the service's SecretBox."""

    def setup(self):
        self.box = SecretBox.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.box
