"""The in-app inbox (owner: the notifications service)."""
from __future__ import annotations

from gateway.web import viewmodels as vm
from gateway.web.pages import redirect
from stafett.errors import NotFound


def web_inbox(ctx):
    result = ctx.notifications.inbox_page(50, ctx.request.args.get("side") or None, False)
    items = [{**n, "path": vm.local_link(n.get("link")),
              "open": f"/innboks/{n['id']}"} for n in result["items"]]
    return ctx.render("inbox.html", title="Innboks", items=items,
                      unread=result.get("unread", 0),
                      next_cursor=result.get("next_cursor"), active="innboks")


def web_mark_read(ctx, notification_id):
    ctx.form()
    ctx.notifications.mark_read(notification_id)
    return redirect("/innboks?melding=lest")


def web_open_notification(ctx, ref):
    """An item opened from the inbox (or from an e-mail, by its event): marked read, and
    on to the item itself (the measure or meeting on the log's page)."""
    try:
        item = ctx.notifications.open_notification(ref)
    except NotFound:
        return redirect("/innboks")
    return redirect(vm.local_link(item.get("link")) or "/innboks")
