"""Protection of national identity numbers at rest.

AES-256-GCM (``stafett.crypto``) with the person's row id as associated data, so a
ciphertext copied onto another row fails to decrypt; an HMAC-SHA256 blind index finds a
person by number without storing it. Each key comes from configuration (hex:
``NIN_ENCRYPTION_KEY``, ``NIN_INDEX_KEY``) or from its file in ``SECRETS_DIR`` (Kubernetes
secrets mount there); in development the files are created on first start
(``stafett.secrets.symmetric_key``).
"""
from __future__ import annotations

import hmac
from hashlib import sha256

from stafett.crypto import Aead
from stafett.secrets import symmetric_key

ENCRYPTION_KEY_FILE = "nin-encryption.key"
INDEX_KEY_FILE = "nin-index.key"


class NumberProtector:
    def __init__(self, encryption_key: bytes, index_key: bytes):
        if len(encryption_key) != 32 or len(index_key) < 32:
            raise ValueError("national-id keys must be 32 bytes")
        self._aead = Aead(encryption_key, "the national-id encryption key")
        self._index_key = index_key

    @classmethod
    def from_config(cls, config) -> "NumberProtector":
        return cls(symmetric_key(config, "NIN_ENCRYPTION_KEY", ENCRYPTION_KEY_FILE),
                   symmetric_key(config, "NIN_INDEX_KEY", INDEX_KEY_FILE))

    def blind_index(self, number: str) -> str:
        return hmac.new(self._index_key, number.encode(), sha256).hexdigest()

    def encrypt(self, number: str, row_id: str) -> bytes:
        return self._aead.seal(number.encode(), row_id)

    def decrypt(self, ciphertext: bytes, row_id: str) -> str:
        return self._aead.open(ciphertext, row_id).decode()
