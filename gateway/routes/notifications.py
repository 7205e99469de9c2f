"""The in-app inbox (owner: the notifications service)."""
from gateway.http import api


class NotificationsRoutes:
    @api("GET", "/notifications")
    def inbox(self, request):
        self._authenticate(request)
        return {"items": self.notifications.inbox()}

    @api("POST", "/notifications/<notification_id>/read")
    def mark_read(self, request, notification_id):
        self._authenticate(request)
        return self.notifications.mark_read(notification_id)
