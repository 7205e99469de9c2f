"""The inbox, notification preferences and agency webhooks (owner: the notifications service)."""
from werkzeug.wrappers import Response

from gateway.http import api, json_result
from stafett.errors import BadRequest

#: what an agency system's token must carry to manage its agency's webhooks
WEBHOOKS = "stafett:webhooks"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _limit(value: str | None, default: int = 50) -> int:
    if value in (None, ""):
        return default
    try:
        return max(1, min(int(value), 200))
    except ValueError:
        raise BadRequest("limit must be a number")


class NotificationsRoutes:
    # -- the in-app inbox --------------------------------------------------------------------

    @api("GET", "/notifications")
    def inbox(self, request):
        self._authenticate(request)
        return self.notifications.inbox_page(_limit(request.args.get("limit")),
                                             request.args.get("cursor") or None,
                                             _flag(request.args.get("unread")))

    @api("POST", "/notifications/<notification_id>/read")
    def mark_read(self, request, notification_id):
        self._authenticate(request)
        return self.notifications.mark_read(notification_id)

    @api("POST", "/notifications/<notification_id>/unread")
    def mark_unread(self, request, notification_id):
        self._authenticate(request)
        return self.notifications.mark_unread(notification_id)

    # -- preferences (ETag / If-Match) --------------------------------------------------------------

    @api("GET", "/me/preferences")
    def get_preferences(self, request):
        self._authenticate(request)
        preferences = self.notifications.get_preferences()
        return json_result(preferences, 200, {"ETag": f'"{preferences["version"]}"'})

    @api("PUT", "/me/preferences")
    def put_preferences(self, request):
        self._authenticate(request)
        preferences = self.notifications.update_preferences(
            self._body(request), request.headers.get("If-Match"))
        return json_result(preferences, 200, {"ETag": f'"{preferences["version"]}"'})

    # -- webhooks for agency systems -------------------------------------------------------------------

    @api("GET", "/webhooks", scope=WEBHOOKS)
    def list_webhooks(self, request):
        self._authenticate(request)
        return {"items": self.notifications.list_webhooks()}

    @api("POST", "/webhooks", scope=WEBHOOKS)
    def create_webhook(self, request):
        # deliberately not @idempotent: a replayed answer would store and re-show the secret
        self._authenticate(request)
        hook = self.notifications.create_webhook(self._body(request))
        return json_result(hook, 201, {"Location": f"/api/v1/webhooks/{hook['id']}",
                                       "Cache-Control": "no-store"})

    @api("DELETE", "/webhooks/<webhook_id>", scope=WEBHOOKS)
    def delete_webhook(self, request, webhook_id):
        self._authenticate(request)
        self.notifications.delete_webhook(webhook_id)
        return Response(status=204)

    @api("GET", "/webhooks/<webhook_id>/deliveries", scope=WEBHOOKS)
    def webhook_deliveries(self, request, webhook_id):
        self._authenticate(request)
        return {"items": self.notifications.webhook_deliveries(
            webhook_id, _limit(request.args.get("limit")))}
