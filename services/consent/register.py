"""The population register port: who a person is, and who has parental responsibility.

In Norway who has parental responsibility for a child is a fact of Folkeregisteret, not
something staff type. The consent service asks this port, never a request body. Two
adapters (``docs/population-register.md``):

- ``EmbeddedRegister``: a YAML file of synthetic persons (by default the packaged
  ``stafett/population-register.yaml``, the demo's persons), for ``make run`` and the tests;
  re-read when the file changes.
- ``HttpRegister``: a register API over HTTPS (our documented contract), with a bearer token
  and timeouts. Whatever goes wrong there is ``RegisterUnavailable``: the service answers
  503 and changes nothing.

Configuration (read by the consent service only): ``POPULATION_REGISTER`` is
``embedded:`` (the packaged file), ``embedded:<path>`` or an ``https://`` base URL; ``POPULATION_REGISTER_TOKEN``,
``POPULATION_REGISTER_TIMEOUT`` (seconds).

Nothing here logs or raises with a national identity number in it.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import threading
from dataclasses import dataclass
from importlib import resources
from datetime import date
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests
import yaml

from services.consent.identity_numbers import InvalidIdentityNumber, parse

log = logging.getLogger(__name__)

FORTROLIG, STRENGT_FORTROLIG = "fortrolig", "strengt_fortrolig"
#: protective address codes: "kode 7" and "kode 6"
PROTECTION_CODES = (FORTROLIG, STRENGT_FORTROLIG)
#: the demo's synthetic persons, package data (an installed wheel has it too)
DEFAULT_EMBEDDED = Path(str(resources.files("stafett").joinpath("population-register.yaml")))


class RegisterUnavailable(Exception):
    """The register did not answer usably (down, timeout, refused us, or nonsense)."""


@dataclass(frozen=True)
class RegisterPerson:
    national_id: str
    name: str
    birth_date: date
    #: national ids of those with parental responsibility (a child's parents; else empty)
    parental_responsibility: tuple[str, ...]
    municipality: str | None
    #: None, ``fortrolig`` (kode 7) or ``strengt_fortrolig`` (kode 6)
    protection: str | None

    @property
    def protected(self) -> bool:
        return self.protection is not None

    def __repr__(self) -> str:  # never the number, never the address
        return f"RegisterPerson(protection={self.protection!r})"


class PopulationRegister(Protocol):
    def lookup(self, national_id: str) -> RegisterPerson | None:
        """The person with this national identity number, or None if the register has none.
        Raises ``RegisterUnavailable`` when the register cannot say."""


def person_from(data: dict) -> RegisterPerson:
    """One person in the contract's JSON shape (also the embedded file's), checked."""
    if not isinstance(data, dict):
        raise ValueError("a person is an object")
    number = str(data["national_id"])
    parse(number)
    protection = data.get("protection")
    if protection not in (None, *PROTECTION_CODES):
        raise ValueError("protection must be null, fortrolig or strengt_fortrolig")
    parents = data.get("parental_responsibility") or []
    if not isinstance(parents, list) or len(parents) > 2:
        raise ValueError("parental_responsibility is a list of at most two national ids")
    for parent in parents:
        parse(str(parent))
    name, municipality = data["name"], data.get("municipality")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValueError("name must be a non-empty string")
    if municipality is not None and (not isinstance(municipality, str) or len(municipality) > 100):
        raise ValueError("municipality must be a string")
    birth = data["birth_date"]
    birth = birth if isinstance(birth, date) else date.fromisoformat(str(birth))
    return RegisterPerson(national_id=number, name=name.strip(), birth_date=birth,
                          parental_responsibility=tuple(str(p) for p in parents),
                          municipality=municipality, protection=protection)


class EmbeddedRegister:
    """Synthetic persons from a YAML file keyed by handle; parents named by handle."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else DEFAULT_EMBEDDED
        self._lock = threading.Lock()
        self._stamp = None
        self._persons: dict[str, RegisterPerson] = {}

    def lookup(self, national_id: str) -> RegisterPerson | None:
        return self._load().get(national_id)

    def persons(self) -> dict[str, RegisterPerson]:
        """Every person by national id (the demo seeds from this)."""
        return dict(self._load())

    def _load(self) -> dict[str, RegisterPerson]:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise RegisterUnavailable(f"the embedded register file is missing: {exc.strerror}")
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._persons = read_embedded(self.path)
                self._stamp = stamp
            return self._persons


def read_embedded(path: Path) -> dict[str, RegisterPerson]:
    """The embedded file as persons by national id (handles resolved)."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        entries = document.get("persons") or {}
        numbers = {handle: str(entry["national_id"]) for handle, entry in entries.items()}
        persons = {}
        for handle, entry in entries.items():
            parents = [numbers[p] if p in numbers else str(p)
                       for p in (entry.get("parental_responsibility") or [])]
            person = person_from({**entry, "parental_responsibility": parents})
            persons[person.national_id] = person
        return persons
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError,
            InvalidIdentityNumber) as exc:
        # the message names the file and the problem, never a person
        raise RegisterUnavailable(f"the embedded register {path} is not usable: "
                                  f"{type(exc).__name__}")


def handles(path: str | Path = DEFAULT_EMBEDDED) -> dict[str, dict]:
    """The embedded file's entries by handle, parents as handles (for stafett.dev.demo)."""
    return dict((yaml.safe_load(path.read_text(encoding="utf-8")) or {})["persons"])


class HttpRegister:
    """The register API of ``docs/population-register.md``: ``POST {base}/v1/persons/lookup``
    with ``{"national_id": …}`` (the number never in a URL), a bearer token, timeouts."""

    LOOKUP_PATH = "/v1/persons/lookup"

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 5.0,
                 session: requests.Session | None = None):
        parts = urlsplit(base_url)
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise ValueError("the population register is reached over https (plain http "
                             "only on loopback, for tests)")
        self.url = base_url.rstrip("/") + self.LOOKUP_PATH
        self.token = token or None
        self.timeout = (min(3.0, timeout), timeout)  # connect, read
        self.session = session or requests.Session()

    def lookup(self, national_id: str) -> RegisterPerson | None:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.session.post(self.url, json={"national_id": national_id},
                                         headers=headers, timeout=self.timeout,
                                         allow_redirects=False)
        except requests.Timeout:
            raise RegisterUnavailable("the population register timed out") from None
        except requests.RequestException as exc:
            raise RegisterUnavailable("the population register is unreachable: "
                                      f"{type(exc).__name__}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.warning("population register answered HTTP %s", response.status_code)
            raise RegisterUnavailable(f"the population register answered HTTP "
                                      f"{response.status_code}")
        try:
            person = person_from(response.json())
        except (ValueError, KeyError, TypeError, InvalidIdentityNumber) as exc:
            raise RegisterUnavailable("the population register answered something that is "
                                      f"not a person: {type(exc).__name__}") from None
        if person.national_id != national_id:
            raise RegisterUnavailable("the population register answered for another person")
        return person


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def from_config(config) -> PopulationRegister:
    """The adapter ``POPULATION_REGISTER`` names: ``embedded:<path>`` or a base URL."""
    where = str(config.get("POPULATION_REGISTER") or "embedded:").strip()
    if where.startswith("embedded:"):
        return EmbeddedRegister(where.removeprefix("embedded:").strip() or None)
    if where.startswith(("https://", "http://")):
        return HttpRegister(where, token=str(config.get("POPULATION_REGISTER_TOKEN") or ""),
                            timeout=float(config.get("POPULATION_REGISTER_TIMEOUT", 5)))
    raise ValueError("POPULATION_REGISTER must be embedded:<path> or an https URL")
