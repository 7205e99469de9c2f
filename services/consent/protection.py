"""Protection of national identity numbers at rest.

AES-256-GCM (``cryptography``) with the person's row id as associated data, so a
ciphertext copied onto another row fails to decrypt; an HMAC-SHA256 blind index finds a
person by number without storing it. Keys come from files in ``SECRETS_DIR``
(Kubernetes secrets mount there); in development they are created on first start.
"""
from __future__ import annotations

import hmac
import os
from hashlib import sha256
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENCRYPTION_KEY_FILE = "nin-encryption.key"
INDEX_KEY_FILE = "nin-index.key"


class NumberProtector:
    def __init__(self, encryption_key: bytes, index_key: bytes):
        if len(encryption_key) != 32 or len(index_key) < 32:
            raise ValueError("national-id keys must be 32 bytes")
        self._aead = AESGCM(encryption_key)
        self._index_key = index_key

    @classmethod
    def from_directory(cls, directory: str | Path, create: bool = False) -> "NumberProtector":
        directory = Path(directory)
        keys = []
        for name in (ENCRYPTION_KEY_FILE, INDEX_KEY_FILE):
            path = directory / name
            if not path.exists():
                if not create:
                    raise FileNotFoundError(f"missing secret {path}")
                directory.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(os.urandom(32).hex().encode())
            keys.append(bytes.fromhex(path.read_text().strip()))
        return cls(*keys)

    def blind_index(self, number: str) -> str:
        return hmac.new(self._index_key, number.encode(), sha256).hexdigest()

    def encrypt(self, number: str, row_id: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, number.encode(), row_id.encode())

    def decrypt(self, ciphertext: bytes, row_id: str) -> str:
        return self._aead.decrypt(ciphertext[:12], ciphertext[12:], row_id.encode()).decode()
