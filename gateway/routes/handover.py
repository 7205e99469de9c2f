"""Handovers between institutions (owner: the handover service)."""
from gateway.http import api, json_result
from gateway.idempotency import idempotent

HANDOVER_VIEWS = ("Handover", "HandoverCitizenView")
DIRECTION = {"name": "direction", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["incoming", "outgoing"]}}


def _with_etag(handover: dict):
    """The handover, with its version as the ETag for the next action (If-Match)."""
    headers = {"ETag": f'"{handover["version"]}"'} if "version" in handover else None
    return json_result(handover, 200, headers)


class HandoverRoutes:
    @api("GET", "/handovers", "Incoming and outgoing handovers, newest first",
         response=HANDOVER_VIEWS, listing=True, query=(DIRECTION,))
    def list_handovers(self, request):
        self._authenticate(request)
        return self.handover.list_handovers(request.args.get("direction") or None,
                                            **self._paging(request))

    @api("POST", "/handovers", "Request a handover of a log to another agency "
         "(stafettholder)", request="HandoverRequest", response="Handover", status=201)
    @idempotent
    def request_handover(self, request):
        self._authenticate(request)
        handover = self.handover.request_handover(self._body(request))
        return json_result(handover, 201, {"Location": f"/api/v1/handovers/{handover['id']}"})

    @api("GET", "/handovers/<handover_id>", "A handover; the receiver sees the summary, "
         "never the log", response=HANDOVER_VIEWS, etag=True)
    def get_handover(self, request, handover_id):
        self._authenticate(request)
        return _with_etag(self.handover.get_handover(handover_id))

    @api("POST", "/handovers/<handover_id>/accept", "Accept, naming the new stafettholder "
         "(receiver)", request="HandoverAccept", response="Handover", if_match=True)
    def accept_handover(self, request, handover_id):
        self._authenticate(request)
        return _with_etag(self.handover.accept_handover(
            handover_id, self._body(request), self._required_if_match(request)))

    @api("POST", "/handovers/<handover_id>/decline", "Decline with a reason (receiver)",
         request="HandoverDecline", response="Handover", if_match=True)
    def decline_handover(self, request, handover_id):
        self._authenticate(request)
        return _with_etag(self.handover.decline_handover(
            handover_id, self._body(request), self._required_if_match(request)))

    @api("POST", "/handovers/<handover_id>/cancel", "Cancel a request not yet accepted "
         "(requester)", request="HandoverCancel", response="Handover", if_match=True)
    def cancel_handover(self, request, handover_id):
        self._authenticate(request)
        return _with_etag(self.handover.cancel_handover(
            handover_id, self._body(request), self._required_if_match(request)))
