"""Handovers: start, the lists, accept, decline, cancel (owner: the handover service)."""
from __future__ import annotations

from gateway.web import formdefs as fd
from gateway.web import viewmodels as vm
from gateway.web.forms import Form, problem_text
from gateway.web.pages import redirect
from gateway.web.routes.base import FORM_ERRORS, child_names, form_flow, form_page
from stafett.errors import Conflict, Forbidden, PreconditionFailed


def web_new_handover(ctx, log_id):
    actor = ctx.actor

    def load():
        agencies = [a for a in ctx.consent.list_agencies() if a["org_number"] != actor.agency]
        people = []
        for agency in agencies:
            people += [(p["id"], f"{p['name']}, {agency['name']}")
                       for p in ctx.consent.list_staff(agency["org_number"])]
        return [(a["org_number"], a["name"]) for a in agencies], people

    def submit(form):
        ctx.handover.request_handover(fd.handover_payload(log_id, form))
        return redirect("/overganger?melding=overgang")

    return form_flow(
        ctx, lambda data: fd.handover_form(*(data or ([], []))), load, submit,
        lambda form, _, status: form_page(
            ctx, form, status, "Start en overgang", f"/logger/{log_id}/overgang",
            "Send forespørselen", f"/logger/{log_id}", active="overganger",
            intro="Loggen og stafettholderrollen flyttes til en annen virksomhet når "
                  "mottakeren godtar. Til da er du stafettholder."))


def web_handovers(ctx):
    result = ctx.handover.list_handovers(None, 50, ctx.request.args.get("side") or None)
    items = result["items"]
    names = vm.agency_names(ctx.consent.list_agencies())
    # a receiver has no part in the log before it accepts: the handover service says
    # who has a direct role (``direct_role``; the family's view has no such field)
    children = child_names(
        ctx, (h.get("child_id") for h in items),
        no_direct_role={h.get("child_id") for h in items if h.get("direct_role") is False})
    return ctx.render("handovers.html", title="Overganger", items=items,
                      agencies=names, children=children,
                      next_cursor=result["next_cursor"], active="overganger")


def web_handover(ctx, handover_id):
    return _handover_page(ctx, handover_id)


def _handover_page(ctx, handover_id, accept=None, decline=None, status=200,
                   error=None):
    actor = ctx.actor
    handover = ctx.handover.get_handover(handover_id)
    names = vm.agency_names(ctx.consent.list_agencies())
    colleagues = []
    if handover.get("can_accept") and actor.agency:  # who may take it in
        colleagues = [(p["id"], p["name"] + (f" – {p['title']}" if p.get("title") else ""))
                      for p in ctx.consent.list_staff(actor.agency)]
    shown = fd.accept_handover_form(colleagues, handover.get("version"))
    if accept is not None:
        shown.values.update(accept.values)
        shown.errors, shown.general = accept.errors, accept.general
    child_name = (handover.get("child") or {}).get("name")
    # the family's view (those who consent) names no child: its name, and their choice
    family = _family_choice(ctx, handover) if "child" not in handover else None
    if family:
        child_name = family["child_name"]
    return ctx.render("handover.html", status, title="Overgang",
                      handover=handover, agencies=names, child_name=child_name,
                      accept=shown, family=family,
                      decline=decline or fd.decline_form(fd.HANDOVER_DECLINE_HINT,
                                                         handover.get("version")),
                      error=error, active="overganger")


def _family_choice(ctx, handover) -> dict:
    """What those who consent are shown: the child's name, and while the handover waits
    for them (``can_consent``), what the consent in force covers now and what a yes adds."""
    child_id = handover.get("child_id")
    child_name = child_names(ctx, [child_id]).get(child_id) if child_id else None
    shown = {"child_name": child_name, "is_youth": child_id == ctx.actor.person_id}
    if handover.get("can_consent"):
        agencies = vm.agency_names(ctx.consent.list_agencies())
        open_consent = _open_consent(ctx, child_id)
        shown["covers_now"] = vm.consent_scope_text(open_consent, agencies) \
            if open_consent else []
    return shown


def _open_consent(ctx, child_id: str) -> dict | None:
    """The child's consent in force (or waiting for a guardian's approval), if any."""
    return next((c for c in ctx.consent.list_consents(child_id)
                 if c["status"] in ("active", "pending")), None)


def web_consent_to_handover(ctx, handover_id):
    """Those who consent say yes: a new consent that adds the receiving agency to the
    one in force (it replaces it); the handover service offers it when consent covers."""
    ctx.form()
    handover = ctx.handover.get_handover(handover_id)
    child_id = handover["child_id"]
    try:
        consent = ctx.consent.grant_consent(child_id, fd.handover_consent_payload(
            _open_consent(ctx, child_id), handover["to_agency"]))
    except FORM_ERRORS as exc:
        return _handover_page(ctx, handover_id, status=409, error=problem_text(exc))
    done = "overgang-samtykke" if consent["status"] == "active" else "samtykke-venter"
    return redirect(f"/overganger/{handover_id}?melding={done}")


def web_refuse_handover(ctx, handover_id):
    """Those who consent say no: the request ends and the requester is told."""
    ctx.form()
    try:
        ctx.handover.refuse_consent(handover_id)
    except FORM_ERRORS as exc:
        return _handover_page(ctx, handover_id, status=409, error=problem_text(exc))
    return redirect(f"/overganger/{handover_id}?melding=overgang-nei")


def web_accept_handover(ctx, handover_id):
    form = fd.accept_handover_form([]).read(ctx.form())
    if form.ok:
        try:
            ctx.handover.accept_handover(handover_id, {
                "new_stafettholder_person_id": form.text("new_stafettholder_person_id"),
                "participant_person_ids": form.values.get("participant_person_ids", [])},
                fd.form_version(form))
            return redirect("/overganger?melding=overgang-godtatt")
        except FORM_ERRORS as exc:
            form.take_service_errors(exc)
    return _handover_page(ctx, handover_id, accept=form, status=422)


def web_decline_handover(ctx, handover_id):
    form = fd.decline_form(fd.HANDOVER_DECLINE_HINT).read(ctx.form())
    if form.ok:
        try:
            ctx.handover.decline_handover(handover_id, {"reason": form.text("reason")},
                                          fd.form_version(form))
            return redirect("/overganger?melding=overgang-avslatt")
        except FORM_ERRORS as exc:
            form.take_service_errors(exc)
    return _handover_page(ctx, handover_id, decline=form, status=422)


def web_cancel_handover(ctx, handover_id):
    version = ctx.form().get("version", "")
    try:
        ctx.handover.cancel_handover(handover_id, {}, fd.version_of(version))
    except (Conflict, Forbidden, PreconditionFailed) as exc:
        form = Form()
        form.take_service_errors(exc)
        return _handover_page(ctx, handover_id, status=409,
                              error=form.general[0])
    return redirect("/overganger?melding=overgang-avbrutt")
