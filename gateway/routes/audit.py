"""The access logs' checkpoints (owner: each service's sequencer, stafett/transparency.py):
the newest signed checkpoint of each service's log, and a consistency proof between two of
its tree sizes. They hold no personal data (hashes and sizes), so any authenticated person
(citizen or staff) may read them."""
import re

from gateway.http import api
from stafett.errors import BadRequest, NotFound

SIZE = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)
SIZES = [{"name": name, "in": "query", "required": True,
          "schema": {"type": "integer", "minimum": 1}, "description": text}
         for name, text in (("first", "the older tree size"),
                            ("second", "the newer tree size (at most the newest checkpoint's)"))]


class AuditRoutes:
    def _audit_service(self, service: str):
        """The RPC proxy of ``service``'s log (each named, for the broker-access scan)."""
        calls = {"consent": (lambda: self.consent.audit_checkpoint(),
                             lambda a, b: self.consent.audit_consistency(a, b)),
                 "logs": (lambda: self.logs.audit_checkpoint(),
                          lambda a, b: self.logs.audit_consistency(a, b)),
                 "handover": (lambda: self.handover.audit_checkpoint(),
                              lambda a, b: self.handover.audit_consistency(a, b)),
                 "notifications": (lambda: self.notifications.audit_checkpoint(),
                                   lambda a, b: self.notifications.audit_consistency(a, b))}
        if service not in calls:
            raise NotFound("no such service")
        return calls[service]

    @api("GET", "/audit/checkpoint", "The newest signed checkpoint (C2SP tlog-checkpoint) of "
         "each service's access log; a service without one yet is left out",
         response="AuditCheckpoints")
    def audit_checkpoints(self, request):
        self._authenticate(request)
        found = (self._audit_service(service)[0]()
                 for service in ("consent", "logs", "handover", "notifications"))
        return {"checkpoints": [checkpoint for checkpoint in found if checkpoint]}

    @api("GET", "/audit/checkpoint/<service>", "The newest signed checkpoint of one "
         "service's access log (consent, logs, handover, notifications)",
         response="AuditCheckpoint")
    def audit_checkpoint(self, request, service):
        self._authenticate(request)
        checkpoint = self._audit_service(service)[0]()
        if checkpoint is None:
            raise NotFound("no checkpoint yet")
        return checkpoint

    @api("GET", "/audit/consistency/<service>", "An RFC 9162 consistency proof of one "
         "service's access log between two tree sizes",
         response="AuditConsistency", query=SIZES)
    def audit_consistency(self, request, service):
        self._authenticate(request)
        first, second = (request.args.get(name, "") for name in ("first", "second"))
        if not (SIZE.fullmatch(first) and SIZE.fullmatch(second)):
            raise BadRequest("first and second are tree sizes (whole numbers from 1)")
        return self._audit_service(service)[1](int(first), int(second))
