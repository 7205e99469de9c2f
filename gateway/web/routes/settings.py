"""A person's own settings: notification preferences (owner: the notifications service)."""
from __future__ import annotations

from gateway.web import actionforms as af
from gateway.web.pages import redirect
from gateway.web.routes.base import form_flow, form_page


def web_preferences(ctx):
    ctx.authenticate()

    def submit(form):
        ctx.notifications.update_preferences(af.preferences_payload(form),
                                              f'"{form.text("version") or 0}"')
        return redirect("/innstillinger/varsler?melding=varsler")

    return form_flow(
        ctx, af.preferences_form, ctx.notifications.get_preferences, submit,
        lambda form, _, status: form_page(
            ctx, form, status, "Varsler", "/innstillinger/varsler",
            "Lagre innstillingene", "/innboks", active="innboks",
            intro="Velg hvordan du vil få beskjed når noe skjer i loggene du er med i."),
        aliases={"quiet_hours": "quiet_start", "channels": "channels"})
