"""Handovers between institutions (owner: the handover service)."""
from gateway.http import api


class HandoverRoutes:
    @api("GET", "/handovers")
    def list_handovers(self, request):
        self._authenticate(request)
        return {"items": self.handover.list_handovers()}
