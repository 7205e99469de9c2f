"""Authenticated encryption at rest: AES-256-GCM, each ciphertext bound to where it is stored.

``Aead(key).seal(plain, bound_to)`` gives ``nonce (12 random bytes) + ciphertext + tag``;
``bound_to`` (the row's id or key) is the associated data, so a ciphertext copied onto
another row does not open there (``cryptography.exceptions.InvalidTag``). The ``_text``
forms carry it as base64 text. Keys come from ``stafett.secrets.symmetric_key``.
"""
from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class Aead:
    def __init__(self, key: bytes, name: str = "the key"):
        if len(key) != KEY_BYTES:
            raise ValueError(f"{name} must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, plain: bytes, bound_to: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> bytes:
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode())

    def seal_text(self, plain: str, bound_to: str) -> str:
        return base64.b64encode(self.seal(plain.encode(), bound_to)).decode()

    def open_text(self, sealed: str, bound_to: str) -> str:
        return self.open(base64.b64decode(sealed), bound_to).decode()
