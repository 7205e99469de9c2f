"""The stafettlogg (owner: the logs service). Updates take If-Match; every list is paged by
the logs service in its database (services/logs/lists.py): the gateway passes limit and
cursor through."""
from gateway.http import json_result, versioned
from gateway.idempotency import idempotent
from stafett.errors import BadRequest

#: what an agency system's token needs to read the logs its agency takes part in
READ = "stafett:logs.read"
#: a log or measure as the viewer may see it: staff, guardian or child view
LOG_VIEWS = ("LogStaffView", "LogGuardianView", "LogChildView")
MEASURE_VIEWS = ("Measure", "ChildMeasure")
MEETING_VIEWS = ("Meeting", "ChildMeeting")
ENTRY_VIEWS = ("Entry", "CitizenEntry")
ORDER = {"name": "order", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["oldest", "newest"], "default": "oldest"}}
EVALUATION_VIEWS = ("Evaluation", "ChildEvaluation")


def my_logs(ctx):
    return ctx.logs.my_logs(**ctx.paging())


@idempotent
def open_log(ctx):
    log = ctx.logs.open_log(ctx.body())
    return versioned(log, 201, {"Location": f"/api/v1/logs/{log['id']}"})


def get_log(ctx, log_id):
    # the service's JSON text, passed through (stafett.web.preencoded), its version beside it
    return versioned(ctx.logs.get_log(log_id, encoded=True))


def update_log(ctx, log_id):
    return versioned(ctx.logs.update_log(log_id, ctx.body(), ctx.if_match()))


def close_log(ctx, log_id):
    return versioned(ctx.logs.close_log(log_id, ctx.body(), ctx.if_match()))


def set_stafettholder(ctx, log_id):
    return versioned(ctx.logs.set_stafettholder(log_id, ctx.body(), ctx.if_match()))


# -- participants -----------------------------------------------------------------------

@idempotent
def add_participant(ctx, log_id):
    return json_result(ctx.logs.add_participant(log_id, ctx.body()), 201)


def remove_participant(ctx, log_id, participant_id):
    return ctx.logs.remove_participant(log_id, participant_id, ctx.if_match())


# -- measures and evaluations -----------------------------------------------------------

def list_measures(ctx, log_id):
    return ctx.logs.list_measures(log_id, **ctx.paging())


@idempotent
def add_measure(ctx, log_id):
    measure = ctx.logs.add_measure(log_id, ctx.body())
    return versioned(measure, 201,
                     {"Location": f"/api/v1/logs/{log_id}/measures/{measure['id']}"})


def get_measure(ctx, log_id, measure_id):
    return versioned(ctx.logs.get_measure(log_id, measure_id))


def update_measure(ctx, log_id, measure_id):
    return versioned(ctx.logs.update_measure(log_id, measure_id, ctx.body(), ctx.if_match()))


def list_evaluations(ctx, log_id, measure_id):
    return ctx.logs.list_evaluations(log_id, measure_id, **ctx.paging())


@idempotent
def add_evaluation(ctx, log_id, measure_id):
    return json_result(ctx.logs.add_evaluation(log_id, measure_id, ctx.body()), 201)


# -- meetings ---------------------------------------------------------------------------

def list_meetings(ctx, log_id):
    return ctx.logs.list_meetings(log_id, **ctx.paging())


@idempotent
def schedule_meeting(ctx, log_id):
    meeting = ctx.logs.schedule_meeting(log_id, ctx.body())
    return versioned(meeting, 201)


def record_minutes(ctx, log_id, meeting_id):
    return versioned(ctx.logs.record_minutes(log_id, meeting_id, ctx.body(), ctx.if_match()))


def meeting_preparation(ctx, log_id, meeting_id):
    return ctx.logs.meeting_preparation(log_id, meeting_id)


# -- entries and proposals --------------------------------------------------------------

def list_entries(ctx, log_id):
    return ctx.logs.list_entries(log_id, **ctx.paging())


@idempotent
def add_entry(ctx, log_id):
    return json_result(ctx.logs.add_entry(log_id, ctx.body()), 201)


def list_proposals(ctx, log_id):
    return ctx.logs.list_proposals(log_id, **ctx.paging())


@idempotent
def propose_measure(ctx, log_id):
    return json_result(ctx.logs.propose_measure(log_id, ctx.body()), 201)


def accept_proposal(ctx, log_id, proposal_id):
    return ctx.logs.accept_proposal(log_id, proposal_id, ctx.body(),
                                    ctx.required_if_match())


def decline_proposal(ctx, log_id, proposal_id):
    return ctx.logs.decline_proposal(log_id, proposal_id, ctx.body(),
                                     ctx.required_if_match())


# -- timeline, access log, export, statistics -------------------------------------------

def timeline(ctx, log_id):
    order = ctx.request.args.get("order", "oldest")
    if order not in ("oldest", "newest"):
        raise BadRequest("order is oldest or newest")
    return ctx.logs.timeline(log_id, **ctx.paging(), newest_first=order == "newest")


def access_log(ctx, log_id):
    return ctx.logs.access_log(log_id, **ctx.paging())


def log_fhir(ctx, log_id):
    return json_result(ctx.logs.log_fhir(log_id), content_type="application/fhir+json")


def statistics(ctx):
    return ctx.logs.statistics()
