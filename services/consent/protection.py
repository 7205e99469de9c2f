"""Protection of national identity numbers at rest.

AES-256-GCM (``stafett.crypto``) with the person's row id as associated data, so a
ciphertext copied onto another row fails to decrypt; an HMAC-SHA256 blind index finds a
person by number without storing it.

The keys are a keyring (``stafett.secrets.KeyringSource``): keys with ids, each an
encryption key and an index key. A person's row stores the id of the key that sealed its
number and made its index (``persons.nin_key_id``). New rows use the current key; a lookup
tries the blind index of every active key, so a person is found whether a rotation
(``services/consent/keys.py``, ``stafett keys rotate``) has re-sealed its row yet or not.
The keyring comes from configuration (``NIN_KEYS``, its JSON) or from ``nin-keys.json`` in
``SECRETS_DIR``; before keyrings each key was one hex value (``NIN_ENCRYPTION_KEY``,
``NIN_INDEX_KEY``) or file (``nin-encryption.key``, ``nin-index.key``), read now as key
``1``, the id migration 0004 gave every existing row.
"""
from __future__ import annotations

import hmac
from hashlib import sha256

from stafett.crypto import Aead
from stafett.secrets import FIRST_KEY_ID, Keyring, KeyringSource

KEYRING_FILE = "nin-keys.json"
ENCRYPTION_KEY_FILE = "nin-encryption.key"
INDEX_KEY_FILE = "nin-index.key"
PARTS = ("encryption", "index")
LEGACY = {"encryption": ("NIN_ENCRYPTION_KEY", ENCRYPTION_KEY_FILE),
          "index": ("NIN_INDEX_KEY", INDEX_KEY_FILE)}


class _Fixed:
    """A keyring that never changes (tests, and the two-key constructor)."""

    def __init__(self, ring: Keyring):
        self.ring = ring

    def keyring(self) -> Keyring:
        return self.ring


class NumberProtector:
    def __init__(self, encryption_key: bytes | None = None, index_key: bytes | None = None,
                 *, keys=None):
        """Either one key pair (key id ``1``) or ``keys``: anything with ``keyring()``."""
        if keys is None:
            if encryption_key is None or index_key is None or len(encryption_key) != 32 \
                    or len(index_key) < 32:
                raise ValueError("national-id keys must be 32 bytes")
            keys = _Fixed(Keyring(FIRST_KEY_ID, {FIRST_KEY_ID: {
                "encryption": encryption_key, "index": index_key}}))
        self.keys = keys

    @classmethod
    def from_config(cls, config) -> "NumberProtector":
        protector = cls(keys=source(config))
        protector.keyring()  # a missing or broken keyring stops the start, not a request
        return protector

    def keyring(self) -> Keyring:
        return self.keys.keyring()

    @property
    def current_key_id(self) -> str:
        return self.keyring().current

    def blind_index(self, number: str, key_id: str | None = None) -> str:
        """The index under one key (the current one unless named)."""
        ring = self.keyring()
        key = ring.key(key_id or ring.current, "index")
        return hmac.new(key, number.encode(), sha256).hexdigest()

    def blind_indexes(self, number: str) -> list[str]:
        """The index under every active key: what a lookup looks for."""
        ring = self.keyring()
        return [hmac.new(ring.key(key_id, "index"), number.encode(), sha256).hexdigest()
                for key_id in ring.active]

    def protect(self, number: str, row_id: str) -> tuple[str, bytes, str]:
        """(key id, ciphertext, blind index) under the current key, for one row."""
        ring = self.keyring()
        return (ring.current, self._aead(ring, ring.current).seal(number.encode(), row_id),
                self.blind_index(number, ring.current))

    def encrypt(self, number: str, row_id: str) -> bytes:
        """Sealed under the current key (``protect`` says which)."""
        return self.protect(number, row_id)[1]

    def decrypt(self, ciphertext: bytes, row_id: str, key_id: str | None = None) -> str:
        ring = self.keyring()
        return self._aead(ring, key_id or ring.current).open(ciphertext, row_id).decode()

    @staticmethod
    def _aead(ring: Keyring, key_id: str) -> Aead:
        return Aead(ring.key(key_id, "encryption"), "the national-id encryption key")


def source(config) -> KeyringSource:
    """The national-id keyring, with the same loader as every other key."""
    return KeyringSource(config, "NIN_KEYS", KEYRING_FILE, PARTS, legacy=LEGACY)
