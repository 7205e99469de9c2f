"""The inbox, notification preferences and agency webhooks (owner: the notifications service)."""
from werkzeug.wrappers import Response

from gateway.http import json_result, versioned

#: what an agency system's token must carry to manage its agency's webhooks
WEBHOOKS = "stafett:webhooks"
#: the inbox's own filter (its page also counts the unread: InboxPage)
UNREAD = {"name": "unread", "in": "query", "required": False, "schema": {"type": "boolean"}}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def inbox(ctx):
    paging = ctx.paging()
    return ctx.notifications.inbox_page(paging["limit"], paging["cursor"],
                                        _flag(ctx.request.args.get("unread")))


def mark_read(ctx, notification_id):
    return ctx.notifications.mark_read(notification_id)


def mark_unread(ctx, notification_id):
    return ctx.notifications.mark_unread(notification_id)


def get_preferences(ctx):
    return versioned(ctx.notifications.get_preferences())


def put_preferences(ctx):
    return versioned(ctx.notifications.update_preferences(ctx.body(), ctx.if_match_header()))


def list_webhooks(ctx):
    return ctx.listing(ctx.notifications.list_webhooks())


def create_webhook(ctx):
    # deliberately not @idempotent: a replayed answer would store and re-show the secret
    hook = ctx.notifications.create_webhook(ctx.body())
    return json_result(hook, 201, {"Location": f"/api/v1/webhooks/{hook['id']}",
                                   "Cache-Control": "no-store"})


def delete_webhook(ctx, webhook_id):
    ctx.notifications.delete_webhook(webhook_id)
    deleted = Response(status=204)
    del deleted.headers["Content-Type"]  # no content, so no type
    return deleted


def webhook_deliveries(ctx, webhook_id):
    return ctx.notifications.webhook_deliveries(webhook_id, **ctx.paging())
