"""Mine logger, the log page and the forms on a log (owner: the logs service)."""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

from gateway.routes.access_log import child_access_page, record_proof

from gateway.web import formdefs as fd
from gateway.web import viewmodels as vm
from gateway.web.forms import problem_text
from gateway.web.pages import redirect
from gateway.web.routes.base import FORM_ERRORS, audience_of, child_names, form_flow, form_page
from stafett.errors import Conflict, NotFound, StafettError, ValidationFailed
from stafett.paging import every_item

#: a page of one of a log's lists: as many as the log's page shows of each
LIST_PAGE = 20
#: a handover in these states still needs someone to act (shown at the top of the log)
OPEN_HANDOVER = ("consent_pending", "awaiting_acceptance", "accepted")


def web_logs(ctx):
    return logs_page(ctx)


def logs_page(ctx):
    actor = ctx.authenticate()  # also / when logged in (a public page)
    logs = list(every_item(ctx.logs.my_logs))
    names = child_names(ctx, (entry["child_id"] for entry in logs))
    logs = sorted(logs, key=lambda entry: (entry["status"] != "open",
                                           -entry["overdue_measures"] - entry["red_measures"],
                                           names.get(entry["child_id"], "")))
    return ctx.render("logs.html", title="Mine logger", logs=logs,
                      names=names, for_staff=actor.kind == "staff", active="logger")


def web_new_log(ctx):
    def submit(form):
        try:
            child = ctx.consent.resolve_citizen(
                "search", {"national_id": form.text("national_id")})
            opened = ctx.logs.open_log({"child_id": child["person_id"],
                                        "level": int(form.text("level") or 1)})
        except NotFound:
            raise ValidationFailed("no child", {"national_id": ["no child covered"]},
                                   code="child.not_covered")
        return redirect(f"/logger/{opened['id']}?melding=logg")

    return form_flow(
        ctx, lambda _: fd.new_log_form(), lambda: None, submit,
        lambda form, _, status: form_page(
            ctx, form, status, "Opprett en stafettlogg", "/logger/ny", "Opprett loggen",
            "/logger", intro="Loggen kan opprettes når de foresatte (eller ungdommen selv) "
                             "har samtykket til at din virksomhet er med."))


def web_log(ctx, log_id):
    return _log_page(ctx, log_id)


def _log_page(ctx, log_id, baton=None, status=200):
    log_view = ctx.logs.get_log(log_id)
    latest = ctx.logs.timeline(log_id, limit=10, newest_first=True)
    view = vm.log_page(log_view, latest["items"])
    return ctx.render("log.html", status,
                      title=f"Stafettloggen til {view['child_name']}",
                      log=view, more_timeline=latest["next_cursor"] is not None,
                      handover=_open_handover(ctx, log_view),
                      # the family's view carries no version: it cannot take the baton
                            baton=baton or fd.take_baton_form(log_view.get("version")),
                            active="logger")


def web_take_baton(ctx, log_id):
    """The log has no stafettholder: a staff participant who can act takes the baton."""
    form = fd.take_baton_form().read(ctx.form())
    if form.ok:
        try:
            me = ctx.logs.get_log(log_id)["viewer_participant_id"]
            ctx.logs.set_stafettholder(log_id, {"participant_id": me},
                                       fd.form_version(form))
            return redirect(f"/logger/{log_id}?melding=stafettpinne")
        except FORM_ERRORS as exc:
            form.general.append(problem_text(exc))
            return _log_page(ctx, log_id, baton=form, status=409)
    return _log_page(ctx, log_id, baton=form, status=422)


def _log_list(ctx, log_id, kind, read, heading, lead, empty, path,
              back=None, back_text="Tilbake til loggen"):
    """One page of a list of the log, with the names of the people it names: the log's
    view gives the participants (and who may do what), ``read(limit, cursor)`` the page,
    from the logs service, which pages it. ``heading`` may be a function (read once the
    actor is known)."""
    log_view = ctx.logs.get_log(log_id)
    heading = heading() if callable(heading) else heading
    cursor = ctx.request.args.get("side") or None
    result = read(LIST_PAGE, cursor)
    log = vm.log_page(log_view, [])
    items = vm.log_items(log_view, {kind: result["items"]})[kind]
    return ctx.render(
        "log_list.html", title=heading, log=log, kind=kind, items=items,
        heading=heading, lead=lead, empty=empty, back=back or f"/logger/{log_id}",
        back_text=back_text, older=vm.page_link(path, result.get("next_cursor")),
        newest=path if cursor else None, active="logger")


def web_entries(ctx, log_id):
    return _log_list(
        ctx, log_id, "entries",
        lambda limit, cursor: ctx.logs.list_entries(log_id, limit, cursor),
        "Innlegg", "Alt som er skrevet i loggen, det nyeste først.", "Ingen innlegg ennå.",
        f"/logger/{log_id}/innlegg")


def web_measures(ctx, log_id):
    return _log_list(
        ctx, log_id, "measures",
        lambda limit, cursor: ctx.logs.list_measures(log_id, limit, cursor),
        "Tiltak", "Alle tiltakene i loggen, det nyeste først.", "Ingen tiltak ennå.",
        f"/logger/{log_id}/tiltak")


def web_meetings(ctx, log_id):
    return _log_list(
        ctx, log_id, "meetings",
        lambda limit, cursor: ctx.logs.list_meetings(log_id, limit, cursor),
        "Møter", "Alle møtene, det som er lengst fram i tid først.", "Ingen møter ennå.",
        f"/logger/{log_id}/moter")


def web_proposals(ctx, log_id):
    return _log_list(
        ctx, log_id, "proposals",
        lambda limit, cursor: ctx.logs.list_proposals(log_id, limit, cursor),
        "Forslag", "Forslagene og hva som ble av dem, det nyeste først.",
        "Ingen forslag ennå.", f"/logger/{log_id}/forslag")


def web_evaluations(ctx, log_id, measure_id):
    return _log_list(
        ctx, log_id, "evaluations",
        lambda limit, cursor: ctx.logs.list_evaluations(log_id, measure_id, limit,
                                                        cursor),
        lambda: f"Vurderinger av «{ctx.logs.get_measure(log_id, measure_id)['title']}»",
        "Alle vurderingene, den siste først.",
        "Tiltaket er ikke vurdert ennå.", f"/logger/{log_id}/tiltak/{measure_id}/vurderinger")


def web_timeline(ctx, log_id):
    result = ctx.logs.timeline(log_id, limit=50, cursor=ctx.request.args.get("side") or None)
    return ctx.render("timeline.html", title="Tidslinje", log_id=log_id,
                      items=[vm.timeline_item(i) for i in result["items"]],
                      next_cursor=result.get("next_cursor"), active="logger")


def web_access_log(ctx, log_id):
    """The child's access log across the services (gateway/routes/access_log.py)."""
    child_id = ctx.logs.access_log_child(log_id)
    result = child_access_page(ctx, child_id, 50, ctx.request.args.get("side") or None)
    return ctx.render("access_log.html", title="Hvem har sett saken",
                      log_id=log_id, child_id=child_id,
                      records=[vm.access_record(r) for r in result["items"]],
                      next_cursor=result.get("next_cursor"), active="logger")


def web_access_record(ctx, log_id, record, part):
    """One record (``oppforing.json``) or its proof (``bevis.json``), to download and check
    with ``python -m stafett.audit.verify_inclusion`` (docs/audit.md)."""
    if part not in ("oppforing.json", "bevis.json"):
        raise NotFound("no such download")
    proof = record_proof(ctx, ctx.logs.access_log_child(log_id), record)
    body = proof["record"] if part == "oppforing.json" else proof
    return Response(json.dumps(body, ensure_ascii=False, indent=2),
                    content_type="application/json; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{part}"'})


def _open_handover(ctx, log_view: dict) -> dict | None:
    """A handover of this log not finished yet, as the handover service lists it for
    the actor (the family's view names the child, not the log): at the top of the log."""
    try:
        items = ctx.handover.list_handovers(None, 50, None)["items"]
    except StafettError:
        return None
    return next((h for h in items if h.get("status") in OPEN_HANDOVER and (
        h.get("log_id") == log_view["id"] if h.get("log_id") else
        h.get("child_id") == log_view.get("child_id"))), None)


def _log_form(ctx, log_id, make_form, submit, title, path, button, done,
              intro=None, aliases=None, made=None):
    """A form on a log: shown with the log's participants, posted to a service. The
    confirmation links to what was made: ``made(result)`` names its anchor on the log's
    page (default: by ``done``, the kind, and the id the service answered)."""

    def send(form):
        result = submit(form)
        anchor = made(result) if made else vm.made_anchor(done, result)
        return redirect(vm.confirmed(log_id, done, anchor))

    return form_flow(
        ctx, make_form, lambda: ctx.logs.get_log(log_id), send,
        lambda form, _, status: form_page(
            ctx, form, status, title, f"/logger/{log_id}/{path}", button,
            f"/logger/{log_id}", intro=intro), aliases)


def web_new_measure(ctx, log_id):
    return _log_form(
        ctx, log_id, fd.measure_form,
        lambda form: ctx.logs.add_measure(log_id, fd.measure_payload(form)),
        "Nytt tiltak", "tiltak/nytt", "Legg til tiltaket", "tiltak",
        intro="Et tiltak er lite, konkret og tidsavgrenset, med én ansvarlig.")


def web_new_evaluation(ctx, log_id, measure_id):
    return _log_form(
        ctx, log_id, lambda _: fd.evaluation_form(),
        lambda form: ctx.logs.add_evaluation(log_id, measure_id, fd.evaluation_payload(form)),
        "Vurder tiltaket", f"tiltak/{measure_id}/vurdering", "Lagre vurderingen",
        "vurdering", made=lambda _: f"tiltak-{measure_id}")


def web_new_meeting(ctx, log_id):
    return _log_form(
        ctx, log_id, fd.meeting_form,
        lambda form: ctx.logs.schedule_meeting(log_id, fd.meeting_payload(form)),
        "Avtal et samarbeidsmøte", "moter/nytt", "Avtal møtet", "mote",
        aliases={"starts_at": "starts", "ends_at": "ends"})


def web_minutes(ctx, log_id, meeting_id):
    """Minutes, attendance, and decisions that each become a measure in the same step
    ("Legg til et vedtak til" shows one more block, keeping what was typed)."""
    if ctx.request.method == "GET":
        return _minutes_page(ctx, log_id, meeting_id, None, 1, 200)
    formdata = ctx.form()
    decisions = fd.decision_count(formdata)
    typed = fd.minutes_form(None, None, decisions).read(formdata)
    if formdata.get("flere"):
        typed.errors, typed.general = {}, []
        return _minutes_page(ctx, log_id, meeting_id, typed, decisions + 1, 200)
    fd.check_decisions(typed, decisions)
    if typed.ok:
        try:
            payload = fd.minutes_payload(typed, decisions)
            ctx.logs.record_minutes(log_id, meeting_id, payload, fd.form_version(typed))
            done = "referat-tiltak" if payload["decisions"] else "referat"
            return redirect(vm.confirmed(log_id, done, f"mote-{meeting_id}"))
        except FORM_ERRORS as exc:
            typed.take_service_errors(exc, fd.decision_aliases(decisions))
    return _minutes_page(ctx, log_id, meeting_id, typed, decisions, 422)


def _minutes_page(ctx, log_id, meeting_id, typed, decisions, status):
    log_view = ctx.logs.get_log(log_id)
    meeting = ctx.logs.get_meeting(log_id, meeting_id)
    shown = fd.minutes_form(log_view, meeting, decisions)
    if typed is not None:
        shown.values.update({k: v for k, v in typed.values.items() if k != "decisions"})
        shown.errors, shown.general = typed.errors, typed.general
    if not vm.has_begun(meeting) and not shown.general:
        shown.general.append(problem_text(Conflict("", code="meeting.not_started")))
    return form_page(
        ctx, shown, status, "Skriv referat", f"/logger/{log_id}/moter/{meeting_id}/referat",
        "Lagre referatet", f"/logger/{log_id}",
        intro="Det som ble bestemt, kan bli tiltak med en gang: skriv hvert vedtak "
              "nedenfor, med ansvarlig og dato for vurdering.",
        more_button="Legg til et vedtak til")


def web_new_entry(ctx, log_id):
    return _log_form(
        ctx, log_id, lambda log_view: fd.entry_form(),
        lambda form: ctx.logs.add_entry(log_id, fd.entry_payload(form)),
        "Skriv i loggen", "innlegg/nytt", "Lagre innlegget", "innlegg")


def web_my_voice(ctx, log_id):
    return _log_form(
        ctx, log_id, lambda log_view: fd.voice_form(log_view),
        lambda form: ctx.logs.add_entry(log_id, fd.entry_payload(form)),
        "Min stemme", "min-stemme", "Legg det i loggen", "stemme",
        intro="Her kan du skrive hva du tenker, hva som er vanskelig, og hva som hjelper.")


def web_new_proposal(ctx, log_id):
    return _log_form(
        ctx, log_id, lambda log_view: fd.proposal_form(audience_of(log_view)),
        lambda form: ctx.logs.propose_measure(log_id, fd.proposal_payload(form)),
        "Foreslå et tiltak", "forslag/nytt", "Send forslaget", "forslag",
        intro="Stafettholderen svarer på forslaget. Du ser svaret i loggen.")


def web_new_participant(ctx, log_id):
    def make(data):
        if data is None:
            return fd.participant_form([])
        log_view, agencies = data
        taking_part = {p.get("person_id") for p in log_view.get("participants", [])}
        choices = []
        for agency in agencies:
            for person in ctx.consent.list_staff(agency["org_number"]):
                if person["id"] not in taking_part:
                    title = f" – {person['title']}" if person.get("title") else ""
                    choices.append((person["id"], f"{person['name']}{title}, {agency['name']}"))
        return fd.participant_form(choices)

    def submit(form):
        ctx.logs.add_participant(log_id, {"person_id": form.text("person_id")})
        return redirect(f"/logger/{log_id}?melding=deltaker")

    return form_flow(
        ctx, make, lambda: (ctx.logs.get_log(log_id), ctx.consent.list_agencies()),
        submit,
        lambda form, _, status: form_page(
            ctx, form, status, "Legg til en deltaker", f"/logger/{log_id}/deltakere/ny",
            "Legg til", f"/logger/{log_id}"))


def web_proposal(ctx, log_id, proposal_id):
    return _proposal_page(ctx, log_id, proposal_id)


def web_accept_proposal(ctx, log_id, proposal_id):
    form = fd.accept_proposal_form(None, {}).read(ctx.form())
    if form.ok:
        try:
            ctx.logs.accept_proposal(log_id, proposal_id, fd.accept_proposal_payload(form),
                                     fd.form_version(form))
            return redirect(f"/logger/{log_id}?melding=forslag-godtatt")
        except FORM_ERRORS as exc:
            form.take_service_errors(exc)
    return _proposal_page(ctx, log_id, proposal_id, accept=form, status=422)


def web_decline_proposal(ctx, log_id, proposal_id):
    form = fd.decline_form().read(ctx.form())
    if form.ok:
        try:
            ctx.logs.decline_proposal(log_id, proposal_id, {"reason": form.text("reason")},
                                      fd.form_version(form))
            return redirect(f"/logger/{log_id}?melding=forslag-avslatt")
        except FORM_ERRORS as exc:
            form.take_service_errors(exc)
    return _proposal_page(ctx, log_id, proposal_id, decline=form, status=422)


def _proposal_page(ctx, log_id, proposal_id, accept=None, decline=None,
                   status=200):
    log_view = ctx.logs.get_log(log_id)
    proposal = ctx.logs.get_proposal(log_id, proposal_id)  # the view holds the newest 20
    shown = fd.accept_proposal_form(log_view, proposal)
    if accept is not None:
        shown.values.update(accept.values)
        shown.errors, shown.general = accept.errors, accept.general
    view = vm.log_page(log_view, [])
    return ctx.render("proposal.html", status, title="Svar på forslaget",
                      log=view,
                      proposal=vm.log_items(log_view, {"proposals": [proposal]})[
                          "proposals"][0],
                      accept=shown,
                      decline=decline or fd.decline_form(version=log_view["version"]),
                      active="logger")
