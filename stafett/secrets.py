"""Symmetric keys for the services' at-rest encryption, read once at start.

From configuration (hex, e.g. an environment variable fed by a secret store), else from a
file in ``SECRETS_DIR`` (where Kubernetes mounts secrets); in development the file is
created on first start unless ``SECRETS_CREATE`` is false.

Keys that rotate (national ids) are a ``Keyring`` of keys with ids, from the same places
(``KeyringSource``): docs/security.md, "Keys at rest", and docs/operations.md, "Key
rotation".
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
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


# -- keyrings: keys with ids, for data whose keys rotate --------------------------------------

#: the id the single key of a purpose had before keyrings (migrations mark the rows sealed
#: with it so)
FIRST_KEY_ID = "1"


class KeyringError(Exception):
    """A keyring that cannot be read, written or used as asked."""


@dataclass(frozen=True)
class Keyring:
    """Keys with ids. ``current`` seals and indexes new rows; every ``active`` key opens
    rows and is tried in lookups (more than one while a rotation is under way); ``retired``
    ids no longer have key material and are never given out again. Each key has one
    32-byte secret per part (for national ids: ``encryption`` and ``index``)."""
    current: str
    active: dict
    retired: tuple = ()

    def __post_init__(self):
        if self.current not in self.active:
            raise KeyringError(f"the current key {self.current!r} is not active")

    def key(self, key_id: str, part: str) -> bytes:
        try:
            return self.active[key_id][part]
        except KeyError:
            raise KeyringError(f"no active key {key_id!r}"
                               + (" (retired)" if key_id in self.retired else "")) from None

    @property
    def rotating(self) -> bool:
        return len(self.active) > 1

    def next_id(self) -> str:
        return str(max(int(k) for k in (*self.active, *self.retired)) + 1)

    def with_new_key(self, parts) -> "Keyring":
        """A new current key (the old ones stay active until they are retired)."""
        new = self.next_id()
        return Keyring(new, {**self.active, new: {p: os.urandom(32) for p in parts}},
                       self.retired)

    def retire_all_but_current(self) -> "Keyring":
        old = tuple(k for k in self.active if k != self.current)
        return Keyring(self.current, {self.current: self.active[self.current]},
                       tuple(sorted({*self.retired, *old}, key=int)))

    def to_json(self) -> dict:
        return {"current": self.current, "retired": list(self.retired),
                "keys": {key_id: {part: secret.hex() for part, secret in parts.items()}
                         for key_id, parts in self.active.items()}}

    @classmethod
    def from_json(cls, data, parts) -> "Keyring":
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
        try:
            active = {str(key_id): {p: bytes.fromhex(secrets[p]) for p in parts}
                      for key_id, secrets in data["keys"].items()}
            ring = cls(str(data["current"]), active,
                       tuple(str(k) for k in data.get("retired", ())))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise KeyringError(f"not a keyring: {type(exc).__name__} {exc}") from None
        for key_id, secrets in active.items():
            if not key_id.isdigit() or any(len(s) != 32 for s in secrets.values()):
                raise KeyringError(f"key {key_id!r}: ids are numbers, keys 32 bytes")
        return ring


class KeyringSource:
    """Where a purpose's keyring comes from, read with the same rules as
    ``symmetric_key``: configuration (``config_key``: the keyring's JSON, e.g. an
    environment variable fed by a secret store; fixed for the process), else the file
    ``file_name`` in ``SECRETS_DIR``, else the purpose's single keys from before keyrings
    (``legacy``: part -> (config key, file name)) as key ``FIRST_KEY_ID``, else (in
    development, unless ``SECRETS_CREATE`` is off) a new keyring file.

    The file is stat'ed on every ``keyring()`` and read again when it changed, so a
    rotation's new key is used by every process sharing ``SECRETS_DIR`` from its next
    call on, while the service runs."""

    def __init__(self, config, config_key: str, file_name: str, parts, legacy=None):
        self.config, self.config_key, self.parts = config, config_key, tuple(parts)
        self.path = Path(config.get("SECRETS_DIR", "var/secrets")) / file_name
        self.legacy = dict(legacy or {})
        self._seen = None
        self._ring = None
        self._lock = threading.Lock()

    @property
    def from_configuration(self) -> bool:
        return bool(self.config.get(self.config_key))

    def keyring(self) -> Keyring:
        if self.from_configuration:
            if self._ring is None:
                self._ring = Keyring.from_json(self.config[self.config_key], self.parts)
            return self._ring
        with self._lock:
            try:
                seen = self.path.stat()
            except FileNotFoundError:
                seen = None
            if seen is not None:
                stamp = (seen.st_ino, seen.st_mtime_ns, seen.st_size)
                if stamp != self._seen:
                    self._ring = Keyring.from_json(self.path.read_text(), self.parts)
                    self._seen = stamp
                return self._ring
            if self._legacy_present():
                if self._seen != "legacy":
                    self._ring = Keyring(FIRST_KEY_ID, {FIRST_KEY_ID: {
                        part: symmetric_key(self.config, key, name)
                        for part, (key, name) in self.legacy.items()}})
                    self._seen = "legacy"
                return self._ring
            if not flag(self.config.get("SECRETS_CREATE"), True, "SECRETS_CREATE"):
                raise FileNotFoundError(f"missing secret {self.path}")
            first = Keyring(FIRST_KEY_ID, {FIRST_KEY_ID: {p: os.urandom(32)
                                                          for p in self.parts}})
            self._write(first, exclusive=True)
        return self.keyring()

    def _legacy_present(self) -> bool:
        return any(self.config.get(key) or (self.path.parent / name).exists()
                   for key, name in self.legacy.values())

    def save(self, ring: Keyring) -> None:
        """Replace the keyring file (atomically, owner-only). A keyring from configuration
        cannot be written: change it where the configuration comes from."""
        if self.from_configuration:
            raise KeyringError(f"the keyring comes from configuration ({self.config_key}): "
                               "change it there")
        self._write(ring)

    def remove_legacy_files(self) -> list[str]:
        """After the first key is retired, its files from before keyrings go too."""
        removed = []
        for _, name in self.legacy.values():
            path = self.path.parent / name
            if path.exists():
                path.unlink()
                removed.append(str(path))
        return removed

    def _write(self, ring: Keyring, exclusive: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(ring.to_json(), indent=1).encode()
        if exclusive:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another replica made it first
                return
            with os.fdopen(fd, "wb") as handle:
                handle.write(text)
            return
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp: owner-only already
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
