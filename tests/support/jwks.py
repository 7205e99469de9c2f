"""A real identity provider's key endpoint on loopback: an HTTP server serving a JWKS whose
answer (status and body) a test sets, counting the requests it gets."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JwksEndpoint:
    def __init__(self, url: str):
        self.url, self.status, self.body, self.requests = url, 200, b"{}", 0

    def serve(self, *jwks: dict, status: int = 200) -> None:
        self.status, self.body = status, json.dumps({"keys": list(jwks)}).encode()


@contextmanager
def jwks_endpoint():
    endpoint: JwksEndpoint | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            endpoint.requests += 1
            self.send_response(endpoint.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(endpoint.body)))
            self.end_headers()
            self.wfile.write(endpoint.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint = JwksEndpoint(f"http://127.0.0.1:{server.server_address[1]}/jwks.json")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
