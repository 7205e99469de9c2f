"""Handovers between institutions (owner: the handover service)."""
from gateway.http import api, json_result
from gateway.idempotency import idempotent
from stafett.errors import BadRequest


class HandoverRoutes:
    @api("GET", "/handovers")
    def list_handovers(self, request):
        """``?direction=incoming|outgoing`` (default both), ``limit`` (1–200)."""
        self._authenticate(request)
        try:
            limit = int(request.args.get("limit", 50))
        except ValueError:
            raise BadRequest("limit must be a number")
        return {"items": self.handover.list_handovers(request.args.get("direction") or None,
                                                      limit)}

    @api("POST", "/handovers")
    @idempotent
    def request_handover(self, request):
        self._authenticate(request)
        handover = self.handover.request_handover(self._body(request))
        return json_result(handover, 201, {"Location": f"/api/v1/handovers/{handover['id']}"})

    @api("GET", "/handovers/<handover_id>")
    def get_handover(self, request, handover_id):
        self._authenticate(request)
        return self.handover.get_handover(handover_id)

    @api("POST", "/handovers/<handover_id>/accept")
    def accept_handover(self, request, handover_id):
        self._authenticate(request)
        return self.handover.accept_handover(handover_id, self._body(request))

    @api("POST", "/handovers/<handover_id>/decline")
    def decline_handover(self, request, handover_id):
        self._authenticate(request)
        return self.handover.decline_handover(handover_id, self._body(request))

    @api("POST", "/handovers/<handover_id>/cancel")
    def cancel_handover(self, request, handover_id):
        self._authenticate(request)
        return self.handover.cancel_handover(handover_id, self._body(request))
