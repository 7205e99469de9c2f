"""Real receivers for notification tests: an SMTP server and a webhook endpoint.

- ``SmtpSink``: ``python -m services.notifications.devsmtp`` (aiosmtpd, a real SMTP
  server) in its own process on a free loopback port, writing each message to a file.
- ``WebhookReceiver``: an eventlet WSGI server on a free loopback port; each path is one
  endpoint with its own behaviour (answer status codes in turn, a bounded delay) and
  verifies every request with the recipe from docs/webhooks.md. With ``tls=`` (an
  ``ssl.SSLContext``) it speaks HTTPS and records the SNI names it was asked for.
- ``ConnectionCounter``: a loopback listener that only counts the connections reaching it
  (the proof that a refused delivery never connected).
- ``FAKE_DNS``: a resolver the notifications service can be configured with
  (``WEBHOOK_RESOLVER=FAKE_DNS_PATH``): answers from a table the test sets, and records
  every question, so a name can resolve outward at registration and inward at delivery.
"""
from __future__ import annotations

import contextlib
import email
import re
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

import eventlet
import eventlet.wsgi

from stafett.config import ROOT
from stafett.dev.stack import stop_processes
from tests.support.platform import free_port, wait_for

WEBHOOK_DOC = ROOT / "docs" / "webhooks.md"


def verification_recipe() -> dict:
    """The Python snippet of docs/webhooks.md, executed: its names as a dict."""
    text = WEBHOOK_DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- verify-snippet:start -->\s*```python\n(.*?)```\s*"
                      r"<!-- verify-snippet:end -->", text, re.S)
    assert block, "docs/webhooks.md lost its verification snippet"
    namespace: dict = {}
    exec(compile(block.group(1), str(WEBHOOK_DOC), "exec"), namespace)
    return namespace


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class SmtpSink:
    def __init__(self, directory: Path, reject_domains: tuple[str, ...] = ()):
        self.directory = Path(directory)
        self.port = free_port()
        self.reject_domains = reject_domains
        self.process: subprocess.Popen | None = None

    def start(self) -> "SmtpSink":
        args = [sys.executable, "-m", "services.notifications.devsmtp", "--host", "127.0.0.1",
                "--port", str(self.port), "--dir", str(self.directory)]
        for domain in self.reject_domains:
            args += ["--reject-domain", domain]
        self.process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_for(lambda: _port_open(self.port) or self.process.poll() is not None,
                 timeout=20, message="the SMTP sink to listen")
        assert self.process.poll() is None, "the SMTP sink did not start"
        return self

    def stop(self) -> None:
        stop_processes([self.process])

    def raw(self) -> list[bytes]:
        return [path.read_bytes() for path in sorted(self.directory.glob("*.eml"))]

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=policy.default) for raw in self.raw()]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages() if m["X-Sink-Rcpt-To"] == address]


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float
    verified: bool


@dataclass
class Endpoint:
    statuses: list = field(default_factory=lambda: [200])   # answered in turn, last repeats
    delay: float = 0.0                                       # seconds, bounded by the test
    secret: str | None = None
    headers: list = field(default_factory=list)              # extra answer headers
    calls: int = 0


class WebhookReceiver:
    def __init__(self, tls: ssl.SSLContext | None = None):
        self.port = free_port()
        self.endpoints: dict[str, Endpoint] = {}
        self.received: list[Received] = []
        self.verify = verification_recipe()["verify_stafett_signature"]
        self.tls = tls
        self.server_names: list[str | None] = []     # SNI of each TLS handshake
        self._pool = eventlet.GreenPool(100)
        self._server = None
        self._socket = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def endpoint(self, path: str, **behaviour) -> Endpoint:
        self.endpoints[path] = Endpoint(**behaviour)
        return self.endpoints[path]

    def _app(self, environ, start_response):
        path = environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        endpoint = self.endpoints.get(path) or Endpoint(statuses=[404])
        verified = False
        if endpoint.secret:
            try:
                self.verify(endpoint.secret, headers.get("Stafett-Signature", ""), body)
                verified = True
            except Exception:
                verified = False
        index = min(endpoint.calls, len(endpoint.statuses) - 1)
        status = endpoint.statuses[index]
        endpoint.calls += 1
        if endpoint.delay:
            eventlet.sleep(endpoint.delay)
        self.received.append(Received(path, headers, body, time.monotonic(), verified))
        start_response(f"{status} X", [("Content-Type", "text/plain"), *endpoint.headers])
        return [b"ok"]

    def start(self) -> "WebhookReceiver":
        self._socket = eventlet.listen(("127.0.0.1", self.port))
        listener = self._socket
        if self.tls is not None:
            self.tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            listener = self.tls.wrap_socket(self._socket, server_side=True)
        self._server = eventlet.spawn(eventlet.wsgi.server, listener, self._app,
                                      custom_pool=self._pool, log_output=False)
        wait_for(lambda: _port_open(self.port), timeout=5, message="the webhook receiver")
        return self

    def stop(self) -> None:
        for thread in list(self._pool.coroutines_running):
            thread.kill()
        if self._server is not None:
            self._server.kill()
        if self._socket is not None:
            self._socket.close()

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


class ConnectionCounter:
    """A loopback listener that accepts, counts and closes every connection."""

    def __init__(self):
        self._socket = eventlet.listen(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.connections = 0
        self._thread = eventlet.spawn(self._accept)

    def _accept(self):
        while True:
            connection, _ = self._socket.accept()
            self.connections += 1
            connection.close()

    def stop(self) -> None:
        self._thread.kill()
        self._socket.close()


class FakeDns:
    """``resolve(host, port)`` from a table: unknown names fail as the C library's do."""

    def __init__(self):
        self.answers: dict[str, list[str]] = {}
        self.questions: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.questions.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.answers[host])

    def reset(self) -> None:
        self.answers.clear()
        self.questions.clear()

    @contextlib.contextmanager
    def answering(self, answers: dict[str, list[str]] | None = None):
        """For the block: these answers only (a fixture's ``with FAKE_DNS.answering(...)``),
        then nothing again."""
        self.reset()
        self.answers.update(answers or {})
        try:
            yield self
        finally:
            self.reset()


FAKE_DNS = FakeDns()
FAKE_DNS_PATH = "tests.support.notifications.FAKE_DNS.resolve"
