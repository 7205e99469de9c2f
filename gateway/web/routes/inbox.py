"""The in-app inbox (owner: the notifications service)."""
from __future__ import annotations

from gateway.web import viewmodels as vm
from gateway.web.pages import redirect


def web_inbox(ctx):
    result = ctx.notifications.inbox_page(50, ctx.request.args.get("side") or None, False)
    items = [{**n, "path": vm.local_link(n.get("link"))} for n in result["items"]]
    return ctx.render("inbox.html", title="Innboks", items=items,
                      unread=result.get("unread", 0),
                      next_cursor=result.get("next_cursor"), active="innboks")


def web_mark_read(ctx, notification_id):
    ctx.form()
    ctx.notifications.mark_read(notification_id)
    return redirect("/innboks?melding=lest")
