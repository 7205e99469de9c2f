"""Pages for agency leaders and administrators: statistics (owner: the logs service),
webhooks (owner: the notifications service) and the agency's staff (owner: the consent
service). The services decide who may; the header links only to what a person's roles
allow (``me.roles``)."""
from __future__ import annotations

from gateway.web import actionforms as af
from gateway.web.forms import Form
from gateway.web.labels import LABELS
from gateway.web.pages import redirect
from gateway.web.routes.base import FORM_ERRORS, form_flow, form_page

ADMIN = "agency_admin"


def web_statistics(ctx):
    ctx.authenticate()
    stats = ctx.logs.statistics()
    return ctx.render("statistics.html", title="Statistikk", stats=stats,
                      arenas=list(LABELS["arena"].items()), active="statistikk")


# -- webhooks -------------------------------------------------------------------------

def web_webhooks(ctx):
    ctx.authenticate()

    def submit(form):
        hook = ctx.notifications.create_webhook(
            {"url": form.text("url"), "description": form.text("description") or None})
        # the signing secret is shown once, here, and never again
        return _webhooks_page(ctx, af.webhook_form(), 201, created=hook)

    return form_flow(
        ctx, lambda _: af.webhook_form(), lambda: None, submit,
        lambda form, _, status: _webhooks_page(ctx, form, status))


def _webhooks_page(ctx, form, status, created=None):
    return ctx.render("webhooks.html", status, title="Webhooker",
                      hooks=ctx.notifications.list_webhooks(), form=form,
                      created=created, active="virksomhet")


def web_delete_webhook(ctx, webhook_id):
    ctx.authenticate()
    hook = next((h for h in ctx.notifications.list_webhooks() if h["id"] == webhook_id),
                None)
    if hook is None:
        return ctx.not_found()
    form = Form()
    if ctx.request.method == "POST":
        ctx.form()
        try:
            ctx.notifications.delete_webhook(webhook_id)
            return redirect("/virksomhet/webhooker?melding=webhook-slettet")
        except FORM_ERRORS as exc:
            form.take_service_errors(exc)
    return form_page(
        ctx, form, 200 if form.ok else 409, "Slett webhooken",
        f"/virksomhet/webhooker/{webhook_id}/slett", "Slett webhooken",
        "/virksomhet/webhooker", active="virksomhet",
        intro=f"{hook['url']} får ikke flere hendelser fra Stafett.")


# -- the agency's staff ---------------------------------------------------------------

def web_staff(ctx):
    actor = ctx.authenticate()
    issuer = ctx.session().identity.get("issuer")

    def load():
        agency = next((a for a in ctx.consent.list_agencies()
                       if a["org_number"] == actor.agency), None)
        return agency, ctx.consent.list_staff(actor.agency) if agency else []

    def submit(form):
        ctx.consent.provision_staff({
            "issuer": issuer, "subject": form.text("subject"), "name": form.text("name"),
            "title": form.text("title") or None, "agency": actor.agency})
        return redirect("/virksomhet/ansatte?melding=ansatt")

    return form_flow(
        ctx, lambda _: af.staff_form(), load, submit,
        lambda form, data, status: ctx.render(
            "staff.html", status, title="Ansatte i virksomheten", form=form,
            agency=data[0], staff=data[1], active="virksomhet",
            # the consent service lets an agency's administrator add its staff
            can_provision=ADMIN in actor.roles))
