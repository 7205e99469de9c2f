"""A local SMTP sink for development and tests: every message becomes a file.

    python -m services.notifications.devsmtp --port 1025 --dir var/mail

A real SMTP server (aiosmtpd) that accepts mail for any address and writes each message
to ``<dir>/<time>-<id>.eml`` (written to a temporary name, then renamed, so a reader never
sees half a message), with the envelope recipients as ``X-Sink-Rcpt-To`` headers in front.
``--reject-domain`` answers 550 for recipients in a domain (to test permanent failures).
It runs as its own process, outside eventlet. Never for production.
"""
from __future__ import annotations

import argparse
import os
import signal
import threading
import time
import uuid
from pathlib import Path


class SaveToDirectory:
    def __init__(self, directory: Path, reject_domains: tuple[str, ...] = ()):
        self.directory = directory
        self.reject_domains = tuple(d.lower() for d in reject_domains)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.rsplit("@", 1)[-1].lower() in self.reject_domains:
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        header = b"".join(f"X-Sink-Rcpt-To: {r}\r\n".encode() for r in envelope.rcpt_tos)
        temporary = self.directory / (name + ".tmp")
        temporary.write_bytes(header + envelope.original_content)
        os.replace(temporary, self.directory / name)
        return "250 Message accepted for delivery"


def main(argv=None) -> int:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default="var/mail")
    parser.add_argument("--reject-domain", action="append", default=[])
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(SaveToDirectory(directory, tuple(args.reject_domain)),
                            hostname=args.host, port=args.port,
                            server_hostname="stafett-dev-smtp")
    controller.start()
    print(f"SMTP sink on {args.host}:{args.port}, writing to {directory}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
