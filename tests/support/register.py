"""The population register in tests: a per-test embedded file, and a register API server.

- ``RegisterFile``: a copy of ``stafett/population-register.yaml`` a test may change (add a
  pupil, change who has parental responsibility); the consent service re-reads it when it
  changes (``POPULATION_REGISTER=embedded:<path>``, ``RegisterFile.setting``).
- ``RegisterServer``: the register API of docs/population-register.md on a free loopback
  port (stdlib ``http.server``), serving the same persons; it records the requests it got
  and can be told to fail (status, delay) or be stopped, like a register that is down.
"""
from __future__ import annotations

import copy
import json
import os
import random
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from services.consent.identity_numbers import generate_synthetic
from services.consent.register import DEFAULT_EMBEDDED, read_embedded

LOOKUP_PATH = "/v1/persons/lookup"


class RegisterFile:
    def __init__(self, path: Path, source: Path = DEFAULT_EMBEDDED):
        self.path = Path(path)
        self.document = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        self._rng = random.Random(str(path))
        self.write()

    @property
    def setting(self) -> str:
        return f"embedded:{self.path}"

    @property
    def persons(self) -> dict:
        return self.document["persons"]

    def national_id(self, handle: str) -> str:
        return str(self.persons[handle]["national_id"])

    def add(self, handle: str, name: str, birth_date: date, *, parents=None,
            protection=None, municipality: str | None = "Havvik kommune",
            female: bool = True) -> str:
        """A new synthetic person (its national id generated); returns the number."""
        number = generate_synthetic(birth_date, self._rng, female=female)
        self.persons[handle] = {"national_id": number, "name": name,
                                "birth_date": birth_date, "municipality": municipality,
                                "protection": protection}
        if parents is not None:
            self.persons[handle]["parental_responsibility"] = list(parents)
        self.write()
        return number

    def set_parents(self, child: str, parents: list[str]) -> None:
        self.persons[child]["parental_responsibility"] = list(parents)
        self.write()

    def set_protection(self, handle: str, protection: str | None) -> None:
        self.persons[handle]["protection"] = protection
        self.write()

    def write(self) -> None:
        before = self.path.stat().st_mtime_ns if self.path.exists() else 0
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(self.document, allow_unicode=True, sort_keys=False),
                       encoding="utf-8")
        os.replace(tmp, self.path)
        # a change is a change, even within the file system's timestamp granularity
        stamp = max(self.path.stat().st_mtime_ns, before + 1_000_000)
        os.utime(self.path, ns=(stamp, stamp))

    def api_persons(self) -> dict[str, dict]:
        """The persons in the register API's JSON shape, by national id."""
        return {number: {"national_id": p.national_id, "name": p.name,
                         "birth_date": p.birth_date.isoformat(),
                         "parental_responsibility": list(p.parental_responsibility),
                         "municipality": p.municipality, "protection": p.protection}
                for number, p in read_embedded(self.path).items()}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (the timeout tests) is not an error here


class RegisterServer:
    """The register API on loopback: ``POST /v1/persons/lookup`` with a bearer token."""

    def __init__(self, persons: dict[str, dict], token: str = "register-test-token"):
        self.persons = copy.deepcopy(persons)
        self.token = token
        self.requests: list[dict] = []
        self.fail_status: int | None = None     # answer this status to every lookup
        self.fail_numbers: set[str] = set()     # ... or only to lookups of these (503)
        self.delay: float = 0.0                 # seconds before answering
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # no request lines with anything in them
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server.lock:
                    server.requests.append({"path": self.path,
                                            "authorization": self.headers.get("Authorization"),
                                            "body": raw.decode("utf-8", "replace")})
                if server.delay:
                    threading.Event().wait(server.delay)
                if self.path != LOOKUP_PATH:
                    return self._answer(404, {"title": "no such endpoint"})
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self._answer(401, {"title": "unauthorized"})
                if server.fail_status:
                    return self._answer(server.fail_status, {"title": "register trouble"})
                try:
                    number = json.loads(raw)["national_id"]
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"title": "send national_id"})
                if number in server.fail_numbers:
                    return self._answer(503, {"title": "register trouble"})
                person = server.persons.get(number)
                if person is None:
                    return self._answer(404, {"title": "no such person"})
                return self._answer(200, person)

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "RegisterServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
