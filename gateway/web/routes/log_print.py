"""The log to print, and the meeting preparation view (owner: the logs service).

The print view holds the whole log, everything expanded (every measure with every
evaluation, every meeting, entry and proposal), with who printed it and when; notes that
only staff see are left out unless the person chooses them (``?interne=1``). The print
stylesheet (static/stafett.css, ``@media print``) leaves out navigation and buttons."""
from __future__ import annotations

from gateway.web import actionforms as af
from gateway.web import viewmodels as vm
from stafett.clock import utcnow
from stafett.paging import every_item


def web_print_log(ctx, log_id):
    ctx.authenticate()
    log_view = ctx.logs.get_log(log_id)
    # staff-only notes exist only in the staff's view of the log (the logs service's)
    staff_view = log_view.get("audience") == "staff"
    internal = staff_view and ctx.request.args.get("interne") == "1"
    log = vm.print_log(log_view, _every_list(ctx, log_id), internal)
    options = af.print_options_form()
    options.values["interne"] = ["1"] if internal else []
    return ctx.render(
        "print_log.html", title=f"Stafettloggen til {log['child_name']} – utskrift",
        log=log, internal=internal, options=options if staff_view else None,
        printed_at=utcnow().isoformat(), printed_by=ctx.session().data.get("name"),
        active="logger")


def _every_list(ctx, log_id) -> dict:
    measures = list(every_item(ctx.logs.list_measures, log_id=log_id))
    for measure in measures:
        if measure.get("evaluations_next_cursor"):
            measure["evaluations"] = list(every_item(
                ctx.logs.list_evaluations, log_id=log_id, measure_id=measure["id"]))
            measure["evaluations_next_cursor"] = None
    return {"measures": measures,
            "meetings": list(every_item(ctx.logs.list_meetings, log_id=log_id)),
            "entries": list(every_item(ctx.logs.list_entries, log_id=log_id)),
            "proposals": list(every_item(ctx.logs.list_proposals, log_id=log_id))}


def web_meeting_preparation(ctx, log_id, meeting_id):
    ctx.authenticate()
    log_view = ctx.logs.get_log(log_id)
    prepared = ctx.logs.meeting_preparation(log_id, meeting_id)
    meeting = ctx.logs.get_meeting(log_id, meeting_id)
    entries = list(every_item(ctx.logs.list_entries, log_id=log_id))
    view = vm.preparation(log_view, prepared, meeting, entries)
    return ctx.render(
        "meeting_preparation.html",
        title=f"Forberedelse til møtet {view['meeting']['starts_label']}",
        log=view["log"], prep=view, internal=ctx.request.args.get("interne") == "1",
        printed_at=utcnow().isoformat(),
        printed_by=ctx.session().data.get("name"), active="logger")
