"""Consent: the list, grant (superseding the open one), withdraw, approve (owner: consent)."""
from __future__ import annotations

from gateway.web import formdefs as fd
from gateway.web import viewmodels as vm
from gateway.web.forms import Form
from gateway.web.pages import redirect
from gateway.web.routes.base import child_names, form_flow, form_page
from stafett.errors import BadRequest, Conflict, Forbidden, NotFound
from stafett.paging import every_item


def web_consents(ctx):
    actor = ctx.actor
    if actor.kind == "citizen":
        children = ctx.consent.my_children()
    else:
        names = child_names(ctx, (entry["child_id"]
                                  for entry in every_item(ctx.logs.my_logs)))
        children = [{"id": child_id, "name": name} for child_id, name in names.items()]
    agencies = vm.agency_names(ctx.consent.list_agencies())
    groups = []
    for child in children:
        try:
            consents = ctx.consent.list_consents(child["id"])
        except NotFound:
            continue
        consents = [{**c, "scope_text": vm.consent_scope_text(c, agencies)}
                    for c in sorted(consents, key=lambda c: c["created_at"], reverse=True)]
        groups.append({"child": child, "consents": consents,
                       "is_self": child["id"] == actor.person_id,
                       "who": _who_consents(ctx, child["id"])
                       if actor.kind == "citizen" else None})
    return ctx.render("consents.html", title="Samtykker", groups=groups,
                      for_family=actor.kind == "citizen", active="samtykker")


def _who_consents(ctx, child_id: str) -> dict:
    """Who consents for the child (the consent service's age rule), for one who does not
    (consent's ``can_consent``): they are shown that and how to be heard, not the controls."""
    parties = ctx.consent.child_parties(child_id)
    asked = parties.get("consenting_person_ids") or []
    guardians = {g["id"]: g["name"] for g in parties.get("guardians", [])}
    return {"youth_consents": parties.get("consenting_party") == "youth",
            "is_self": ctx.actor.person_id == child_id,
            "child_name": (parties.get("child") or {}).get("name"),
            "names": [guardians.get(p) or (parties.get("child") or {}).get("name")
                      for p in asked]}


def _may_consent(ctx, child_id: str) -> bool:
    """Consent's ``can_consent`` for one of the citizen's children (one not among them:
    the service's own answer decides, so the form is not hidden)."""
    child = next((c for c in ctx.consent.my_children() if c["id"] == child_id), None)
    return child is None or bool(child.get("can_consent"))


def _not_the_one_who_consents(ctx, child_id: str):
    """A citizen who does not consent for the child (consent's ``can_consent``) is shown
    who does and how to be heard, not the form; None: the form is shown."""
    if ctx.actor.kind != "citizen" or ctx.request.method != "GET" \
            or _may_consent(ctx, child_id):
        return None
    return ctx.render("consent_who.html", 200, title="Hvem samtykker",
                      who=_who_consents(ctx, child_id), active="samtykker")


def web_new_consent(ctx, child_id):
    refused = _not_the_one_who_consents(ctx, child_id)
    if refused is not None:
        return refused

    def load():
        open_consent = next((c for c in ctx.consent.list_consents(child_id)
                             if c["status"] in ("active", "pending")), None)
        return ctx.consent.list_agencies(), open_consent

    def make(data):
        agencies, open_consent = data or ([], None)
        return fd.consent_form(agencies, open_consent)

    def submit(form):
        ctx.consent.grant_consent(child_id, fd.consent_payload(form))
        return redirect("/samtykker?melding=samtykke")

    def show(form, data, status):
        replacing = bool(data and data[1])
        return form_page(
            ctx, form, status, "Endre samtykket" if replacing else "Gi samtykke",
            f"/samtykker/{child_id}/nytt",
            "Gi samtykke", "/samtykker", active="samtykker",
            intro=("Samtykket gjelder samarbeid i stafettloggen. " + (
                "Det nye samtykket erstatter det som gjelder nå. Feltene viser det som "
                "gjelder nå." if replacing else
                "Du kan trekke det tilbake når som helst.")))

    return form_flow(ctx, make, load, submit, show,
                     aliases={"scope": "agency_types", "scope.agencies": "agencies",
                              "scope.agency_types": "agency_types"},
                     check=fd.check_consent_form)


def web_withdraw_consent(ctx, consent_id):
    consent = ctx.consent.get_consent(consent_id)
    refused = _not_the_one_who_consents(ctx, consent["child_id"])
    if refused is not None:
        return refused
    error = None
    if ctx.request.method == "POST":
        ctx.form()
        try:
            ctx.consent.withdraw_consent(consent_id)
            return redirect("/samtykker?melding=samtykke-trukket")
        except (Conflict, Forbidden) as exc:
            form = Form()
            form.take_service_errors(exc)
            error = form.general[0]
    agencies = vm.agency_names(ctx.consent.list_agencies())
    return ctx.render("consent_withdraw.html", 409 if error else 200,
                      title="Trekk tilbake samtykket", consent=consent, error=error,
                      scope=vm.consent_scope_text(consent, agencies), active="samtykker")


def web_approve_consent(ctx, consent_id):
    ctx.form()
    try:
        ctx.consent.approve_consent(consent_id)
    except (Conflict, Forbidden):
        raise BadRequest("not approvable")
    return redirect("/samtykker?melding=samtykke-godkjent")
