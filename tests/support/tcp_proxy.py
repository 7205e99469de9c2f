"""A TCP proxy on loopback that a test can cut and restore: a broker outage for one
component, without touching the shared RabbitMQ node. Green (eventlet), in-process."""
from __future__ import annotations

import socket
from urllib.parse import urlsplit, urlunsplit

import eventlet


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.sockets: list = []
        self._accepting = eventlet.spawn(self._accept)

    def uri(self, amqp_uri: str) -> str:
        """``amqp_uri`` with its host and port replaced by this proxy's."""
        parts = urlsplit(str(amqp_uri))
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else \
            f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            if not self.open:
                client.close()
                continue
            try:
                server = eventlet.connect(self.upstream)
            except OSError:
                client.close()
                continue
            self.sockets += [client, server]
            eventlet.spawn(self._pipe, client, server)
            eventlet.spawn(self._pipe, server, client)

    @staticmethod
    def _pipe(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except (OSError, EOFError):
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        """Reset every connection and refuse new ones (as a broker that went away)."""
        self.open = False
        for sock in self.sockets:  # each pipe wakes up, sees the end, and lets go
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sockets = []

    def restore(self):
        self.open = True

    def close(self):
        self.cut()
        self._accepting.kill()
        self.listener.close()
