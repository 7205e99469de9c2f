"""What many pages share: the form flow, the form page, children's names."""
from __future__ import annotations

from gateway.web.forms import Form
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ValidationFailed)

#: how a child in a protected case is shown to those with no direct role in it
PROTECTED_CHILD = "Barn med skjermet adresse"
#: refusals a form shows next to its fields (or over it); anything else is an error page
FORM_ERRORS = (ValidationFailed, Conflict, Forbidden, PreconditionFailed, PreconditionRequired)


def form_flow(ctx, make_form, load, submit, show, aliases=None, check=None):
    """GET shows ``make_form(load())``. POST reads the form (CSRF first), calls
    ``submit(form)`` (which redirects); a refusal re-renders the form with the typed
    values kept and the messages next to the fields, with status 422. ``load`` runs
    only when a form is shown, so a successful POST reads nothing extra."""
    if ctx.request.method == "GET":
        data = load()
        return show(make_form(data), data, 200)
    typed = make_form(None).read(ctx.form())
    if check is not None:  # what the form can tell at once, with the basics
        check(typed)
    if typed.ok:
        try:
            return submit(typed)
        except FORM_ERRORS as exc:
            typed.take_service_errors(exc, aliases)
    data = load()
    shown = make_form(data)
    shown.values.update(typed.values)
    shown.errors, shown.general = typed.errors, typed.general
    return show(shown, data, 422)


def form_page(ctx, form: Form, status: int, title: str, action: str, submit: str, back: str,
              intro: str | None = None, active: str = "logger", more_button: str | None = None):
    return ctx.render("form.html", status, form=form, title=title, action=action,
                      submit=submit, back=back, intro=intro, more_button=more_button,
                      active=active)


def child_names(ctx, child_ids, no_direct_role=()) -> dict:
    """Names of children the actor already reached through their own logs or handovers;
    a child in a protected case (protective address code) is not named to an actor with
    no direct role in it (``no_direct_role``: e.g. a receiver before acceptance)."""
    names = {}
    for child_id in dict.fromkeys(c for c in child_ids if c):
        try:
            parties = ctx.consent.child_parties(child_id)
        except NotFound:
            names[child_id] = "Ukjent barn"
            continue
        names[child_id] = (PROTECTED_CHILD if parties.get("protected")
                           and child_id in no_direct_role else parties["child"]["name"])
    return names


def audience_of(log_view: dict | None) -> str | None:
    """Whose view the logs service gave (staff, guardian, child): the wording of the
    family's forms (None: not known yet)."""
    return (log_view or {}).get("audience")
