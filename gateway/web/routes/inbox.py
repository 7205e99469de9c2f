"""The in-app inbox (owner: the notifications service)."""
from __future__ import annotations

from gateway.web import viewmodels as vm
from gateway.web.pages import page, redirect


class InboxPages:
    @page("GET", "/innboks")
    def web_inbox(self, request):
        self._web_actor(request)
        result = self.notifications.inbox_page(50, request.args.get("side") or None, False)
        items = [{**n, "path": vm.local_link(n.get("link"))} for n in result["items"]]
        return self._web_render(request, "inbox.html", title="Innboks", items=items,
                                unread=result.get("unread", 0),
                                next_cursor=result.get("next_cursor"), active="innboks")

    @page("POST", "/innboks/<notification_id>/lest")
    def web_mark_read(self, request, notification_id):
        self._web_actor(request)
        self._web_form(request)
        self.notifications.mark_read(notification_id)
        return redirect("/innboks?melding=lest")
