"""The stafettholder's and the staff's actions on a log, a page each: close the log,
change its level, pass the baton, remove a participant, edit or end a measure (owner: the
logs service, which decides who may; the log page shows the links only to those it lets).
Each form sends back the version its page showed (If-Match)."""
from __future__ import annotations

from gateway.web import actionforms as af
from gateway.web import formdefs as fd
from gateway.web.pages import redirect
from gateway.web.routes.base import form_flow, form_page
from gateway.web.routes.logs import _log_form


def web_close_log(ctx, log_id):
    return _log_form(
        ctx, log_id, af.close_form,
        lambda form: ctx.logs.close_log(log_id, {"reason": form.text("reason")},
                                         fd.form_version(form)),
        "Lukk loggen", "lukk", "Lukk loggen", "lukket",
        intro="En lukket logg kan leses, men ikke endres. Varsle gjerne de andre "
              "deltakerne først.")


def web_change_level(ctx, log_id):
    return _log_form(
        ctx, log_id, af.level_form,
        lambda form: ctx.logs.update_log(log_id, {"level": int(form.text("level"))},
                                          fd.form_version(form)),
        "Endre BTI-nivå", "niva", "Lagre nivået", "niva")


def web_pass_baton(ctx, log_id):
    return _log_form(
        ctx, log_id, af.baton_form,
        lambda form: ctx.logs.set_stafettholder(
            log_id, {"participant_id": form.text("participant_id")},
            fd.form_version(form)),
        "Gi stafettpinnen videre", "gi-stafettpinnen", "Gi stafettpinnen videre",
        "stafettpinne-gitt")


def web_remove_participant(ctx, log_id, participant_id):
    ctx.authenticate()

    def submit(form):
        ctx.logs.remove_participant(log_id, participant_id, fd.form_version(form))
        return redirect(f"/logger/{log_id}?melding=deltaker-fjernet")

    def show(form, log_view, status):
        person = next((p for p in log_view.get("participants", [])
                       if p["id"] == participant_id), None)
        if person is None:
            return ctx.not_found()
        return form_page(
            ctx, form, status, f"Fjern {person['display_name']} fra loggen",
            f"/logger/{log_id}/deltakere/{participant_id}/fjern", "Fjern fra loggen",
            f"/logger/{log_id}",
            intro=f"{fd.person_label(person)} blir ikke lenger med i loggen, og får "
                  "ikke lenger se den. Det de har skrevet, står igjen.")

    return form_flow(ctx, af.removal_form,
                               lambda: ctx.logs.get_log(log_id), submit, show)


def web_edit_measure(ctx, log_id, measure_id):
    ctx.authenticate()

    def submit(form):
        ctx.logs.update_measure(log_id, measure_id, af.measure_edit_payload(form),
                                 fd.form_version(form))
        return redirect(f"/logger/{log_id}?melding=tiltak-endret#tiltak-{measure_id}")

    return form_flow(
        ctx, lambda data: af.measure_edit_form(*(data or (None, None))),
        lambda: (ctx.logs.get_log(log_id), ctx.logs.get_measure(log_id, measure_id)),
        submit,
        lambda form, data, status: form_page(
            ctx, form, status, f"Endre eller avslutt «{data[1]['title']}»",
            f"/logger/{log_id}/tiltak/{measure_id}/endre", "Lagre endringene",
            f"/logger/{log_id}"))
