"""The access logs' checkpoints (owner: each service's sequencer, stafett/transparency.py):
the newest signed checkpoint of each service's log, and a consistency proof between two of
its tree sizes. They hold no personal data (hashes and sizes), so any authenticated person
(citizen or staff) may read them."""
import re

from stafett.errors import BadRequest

SERVICES = ("consent", "logs", "handover", "notifications")
SIZE = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)
CONSISTENCY = [
    {"name": "service", "in": "query", "required": True,
     "schema": {"type": "string", "enum": list(SERVICES)}},
    {"name": "first", "in": "query", "required": True,
     "schema": {"type": "integer", "minimum": 1}, "description": "the older tree size"},
    {"name": "second", "in": "query", "required": True,
     "schema": {"type": "integer", "minimum": 1},
     "description": "the newer tree size (at most the newest checkpoint's)"}]


def _checkpoint_of(ctx, service: str):
    # each call written out, for the broker-access scan (tests/unit/test_broker_access.py)
    return {"consent": lambda: ctx.consent.audit_checkpoint(),
            "logs": lambda: ctx.logs.audit_checkpoint(),
            "handover": lambda: ctx.handover.audit_checkpoint(),
            "notifications": lambda: ctx.notifications.audit_checkpoint()}[service]()


def _consistency_of(ctx, service: str, first: int, second: int):
    return {"consent": lambda: ctx.consent.audit_consistency(first, second),
            "logs": lambda: ctx.logs.audit_consistency(first, second),
            "handover": lambda: ctx.handover.audit_consistency(first, second),
            "notifications": lambda: ctx.notifications.audit_consistency(first, second),
            }[service]()


def audit_checkpoints(ctx):
    found = (_checkpoint_of(ctx, service) for service in SERVICES)
    return {"checkpoints": [checkpoint for checkpoint in found if checkpoint]}


def audit_consistency(ctx):
    service, first, second = (ctx.request.args.get(name, "")
                              for name in ("service", "first", "second"))
    if service not in SERVICES:
        raise BadRequest(f"service is one of {', '.join(SERVICES)}")
    if not (SIZE.fullmatch(first) and SIZE.fullmatch(second)):
        raise BadRequest("first and second are tree sizes (whole numbers from 1)")
    return _consistency_of(ctx, service, int(first), int(second))
