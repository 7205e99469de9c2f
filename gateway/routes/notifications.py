"""The inbox, notification preferences and agency webhooks (owner: the notifications service)."""
from werkzeug.wrappers import Response

from gateway.http import api, json_result

#: what an agency system's token must carry to manage its agency's webhooks
WEBHOOKS = "stafett:webhooks"
#: the inbox's own filter (its page also counts the unread: InboxPage)
UNREAD = {"name": "unread", "in": "query", "required": False, "schema": {"type": "boolean"}}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


class NotificationsRoutes:
    # -- the in-app inbox --------------------------------------------------------------------

    @api("GET", "/notifications", "The actor's in-app inbox, newest first",
         response="InboxPage", paged=True, query=(UNREAD,))
    def inbox(self, request):
        self._authenticate(request)
        paging = self._paging(request)
        return self.notifications.inbox_page(paging["limit"], paging["cursor"],
                                             _flag(request.args.get("unread")))

    @api("POST", "/notifications/<notification_id>/read", "Mark a notification read",
         response="Notification")
    def mark_read(self, request, notification_id):
        self._authenticate(request)
        return self.notifications.mark_read(notification_id)

    @api("POST", "/notifications/<notification_id>/unread", "Mark a notification unread",
         response="Notification")
    def mark_unread(self, request, notification_id):
        self._authenticate(request)
        return self.notifications.mark_unread(notification_id)

    # -- preferences (ETag / If-Match) --------------------------------------------------------------

    @api("GET", "/me/preferences", "The actor's notification preferences",
         response="Preferences", etag=True)
    def get_preferences(self, request):
        self._authenticate(request)
        preferences = self.notifications.get_preferences()
        return json_result(preferences, 200, {"ETag": f'"{preferences["version"]}"'})

    @api("PUT", "/me/preferences", "Replace the actor's notification preferences",
         request="PreferencesRequest", response="Preferences", if_match=True)
    def put_preferences(self, request):
        self._authenticate(request)
        preferences = self.notifications.update_preferences(
            self._body(request), self._if_match_header(request))
        return json_result(preferences, 200, {"ETag": f'"{preferences["version"]}"'})

    # -- webhooks for agency systems -------------------------------------------------------------------

    @api("GET", "/webhooks", "The agency's webhooks (agency admin or scope stafett:webhooks)",
         scope=WEBHOOKS, response="Webhook", listing=True)
    def list_webhooks(self, request):
        self._authenticate(request)
        return self._listing(request, self.notifications.list_webhooks())

    @api("POST", "/webhooks", "Register a webhook; the signing secret is shown once",
         scope=WEBHOOKS, request="WebhookRequest", response="WebhookCreated", status=201)
    def create_webhook(self, request):
        # deliberately not @idempotent: a replayed answer would store and re-show the secret
        self._authenticate(request)
        hook = self.notifications.create_webhook(self._body(request))
        return json_result(hook, 201, {"Location": f"/api/v1/webhooks/{hook['id']}",
                                       "Cache-Control": "no-store"})

    @api("DELETE", "/webhooks/<webhook_id>", "Delete a webhook", scope=WEBHOOKS, status=204)
    def delete_webhook(self, request, webhook_id):
        self._authenticate(request)
        self.notifications.delete_webhook(webhook_id)
        deleted = Response(status=204)
        del deleted.headers["Content-Type"]  # no content, so no type
        return deleted

    @api("GET", "/webhooks/<webhook_id>/deliveries", "Deliveries to a webhook, newest first",
         scope=WEBHOOKS, response="Delivery", listing=True)
    def webhook_deliveries(self, request, webhook_id):
        self._authenticate(request)
        return self.notifications.webhook_deliveries(webhook_id, **self._paging(request))
