"""Structured JSON logs with the nameko call id, and no personal data.

Log only ids. As a second line of defence every record is scrubbed of anything shaped
like an 11-digit national identity number.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import datetime, timezone

from nameko.extensions import DependencyProvider

_context = threading.local()  # greenlet-local once eventlet has patched threading
_IDENTITY_NUMBER = re.compile(r"(?<!\d)\d{6}\s?\d{5}(?!\d)")
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def scrub(text: str) -> str:
    return _IDENTITY_NUMBER.sub("[redacted]", text)


def _safe_value(value):
    """Numbers stay numbers unless they are shaped like an identity number."""
    if isinstance(value, bool) or (isinstance(value, (int, float))
                                   and not _IDENTITY_NUMBER.search(str(value))):
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "stafett"):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        call_id = getattr(_context, "call_id", None)
        if call_id:
            entry["call_id"] = call_id
            entry["call_id_stack"] = getattr(_context, "call_id_stack", [])
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _safe_value(value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # werkzeug/eventlet access lines would carry query strings; we log requests ourselves
    logging.getLogger("eventlet.wsgi").setLevel(logging.WARNING)


class CallIdLogging(DependencyProvider):
    """Puts the worker's call id into every log line the worker writes."""

    def worker_setup(self, worker_ctx):
        _context.call_id = worker_ctx.call_id
        _context.call_id_stack = list(worker_ctx.call_id_stack)

    def worker_teardown(self, worker_ctx):
        _context.call_id = None
        _context.call_id_stack = []
