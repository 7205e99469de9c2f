"""The access logs' checkpoints (owner: each service's sequencer, stafett/transparency.py):
the newest signed checkpoint of each service's log, and a consistency proof between two of
its tree sizes. They hold no personal data (hashes and sizes), so any authenticated person
(citizen or staff) may read them."""
import re

from gateway.http import api
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


class AuditRoutes:
    def _checkpoint_of(self, service: str):
        # each call written out, for the broker-access scan (tests/unit/test_broker_access.py)
        return {"consent": lambda: self.consent.audit_checkpoint(),
                "logs": lambda: self.logs.audit_checkpoint(),
                "handover": lambda: self.handover.audit_checkpoint(),
                "notifications": lambda: self.notifications.audit_checkpoint()}[service]()

    def _consistency_of(self, service: str, first: int, second: int):
        return {"consent": lambda: self.consent.audit_consistency(first, second),
                "logs": lambda: self.logs.audit_consistency(first, second),
                "handover": lambda: self.handover.audit_consistency(first, second),
                "notifications": lambda: self.notifications.audit_consistency(first, second),
                }[service]()

    @api("GET", "/audit/checkpoint", "The newest signed checkpoint (C2SP tlog-checkpoint) of "
         "each service's access log, with the key that verifies it; a service without one "
         "yet is left out", response="AuditCheckpoints")
    def audit_checkpoints(self, request):
        self._authenticate(request)
        found = (self._checkpoint_of(service) for service in SERVICES)
        return {"checkpoints": [checkpoint for checkpoint in found if checkpoint]}

    @api("GET", "/audit/consistency", "An RFC 9162 consistency proof of one service's access "
         "log between two tree sizes", response="AuditConsistency", query=CONSISTENCY)
    def audit_consistency(self, request):
        self._authenticate(request)
        service, first, second = (request.args.get(name, "")
                                  for name in ("service", "first", "second"))
        if service not in SERVICES:
            raise BadRequest(f"service is one of {', '.join(SERVICES)}")
        if not (SIZE.fullmatch(first) and SIZE.fullmatch(second)):
            raise BadRequest("first and second are tree sizes (whole numbers from 1)")
        return self._consistency_of(service, int(first), int(second))
