"""The stafettlogg (owner: the logs service). Updates take If-Match; every list is paged by
the logs service in its database (services/logs/lists.py): the gateway passes limit and
cursor through."""
from gateway.http import api, json_result
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


def etag(version) -> dict:
    return {"ETag": f'"{version}"'}


class LogsRoutes:
    # -- the log ----------------------------------------------------------------------------

    @api("GET", "/logs", "Logs the actor takes part in (an agency system: those its agency "
         "takes part in), newest first", scope=READ, response="LogSummary", listing=True)
    def my_logs(self, request):
        self._authenticate(request)
        return self.logs.my_logs(**self._paging(request))

    @api("POST", "/logs", "Open a log (staff; becomes stafettholder)", request="OpenLog",
         response="LogStaffView", status=201, etag=True)
    @idempotent
    def open_log(self, request):
        self._authenticate(request)
        log = self.logs.open_log(self._body(request))
        return json_result(log, 201, {"Location": f"/api/v1/logs/{log['id']}",
                                      **etag(log["version"])})

    @api("GET", "/logs/<log_id>", "Read a log, as the actor may see it: of its entries, "
         "measures (each with its latest 3 evaluations), meetings and proposals the newest "
         "20, and in `lists` each list's total and the link to its next page", scope=READ,
         response=LOG_VIEWS, etag=True)
    def get_log(self, request, log_id):
        self._authenticate(request)
        log = self.logs.get_log(log_id, encoded=True)  # JSON text, passed through
        return json_result(log, 200, etag(log["version"]) if "version" in log else None)

    @api("PATCH", "/logs/<log_id>", "Change the level (stafettholder)", request="LogUpdate",
         response="LogStaffView", if_match=True)
    def update_log(self, request, log_id):
        self._authenticate(request)
        log = self.logs.update_log(log_id, self._body(request), self._if_match(request))
        return json_result(log, 200, etag(log["version"]))

    @api("POST", "/logs/<log_id>/close", "Close the log with a reason (stafettholder)",
         request="CloseLog", response="LogStaffView", if_match=True)
    def close_log(self, request, log_id):
        self._authenticate(request)
        log = self.logs.close_log(log_id, self._body(request), self._if_match(request))
        return json_result(log, 200, etag(log["version"]))

    @api("POST", "/logs/<log_id>/stafettholder", "Pass the stafettholder role to another "
         "staff participant who can act (stafettholder; while the log has none, any staff "
         "participant who can act takes the baton)", request="StafettholderRequest",
         response="LogStaffView", if_match=True)
    def set_stafettholder(self, request, log_id):
        self._authenticate(request)
        log = self.logs.set_stafettholder(log_id, self._body(request), self._if_match(request))
        return json_result(log, 200, etag(log["version"]))

    # -- participants -----------------------------------------------------------------------

    @api("POST", "/logs/<log_id>/participants", "Add a staff participant (stafettholder)",
         request="ParticipantRequest", response="Participant", status=201)
    @idempotent
    def add_participant(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.add_participant(log_id, self._body(request)), 201)

    @api("DELETE", "/logs/<log_id>/participants/<participant_id>", "End a participation "
         "(stafettholder; If-Match is the log's ETag)", response="Participant",
         if_match=True)
    def remove_participant(self, request, log_id, participant_id):
        self._authenticate(request)
        return self.logs.remove_participant(log_id, participant_id, self._if_match(request))

    # -- measures and evaluations -----------------------------------------------------------

    @api("GET", "/logs/<log_id>/measures", "The log's measures, newest first, each with "
         "its latest 3 evaluations", scope=READ, response=MEASURE_VIEWS, listing=True)
    def list_measures(self, request, log_id):
        self._authenticate(request)
        return self.logs.list_measures(log_id, **self._paging(request))

    @api("POST", "/logs/<log_id>/measures", "Add a measure (staff participant)",
         request="MeasureRequest", response="Measure", status=201, etag=True)
    @idempotent
    def add_measure(self, request, log_id):
        self._authenticate(request)
        measure = self.logs.add_measure(log_id, self._body(request))
        return json_result(measure, 201, {
            "Location": f"/api/v1/logs/{log_id}/measures/{measure['id']}",
            **(etag(measure["version"]) if "version" in measure else {})})

    @api("GET", "/logs/<log_id>/measures/<measure_id>", "One measure", scope=READ,
         response=MEASURE_VIEWS, etag=True)
    def get_measure(self, request, log_id, measure_id):
        self._authenticate(request)
        measure = self.logs.get_measure(log_id, measure_id)
        return json_result(measure, 200, etag(measure["version"]) if "version" in measure
                           else None)

    @api("PATCH", "/logs/<log_id>/measures/<measure_id>", "Change a measure (staff "
         "participant)", request="MeasureUpdate", response="Measure", if_match=True)
    def update_measure(self, request, log_id, measure_id):
        self._authenticate(request)
        measure = self.logs.update_measure(log_id, measure_id, self._body(request),
                                           self._if_match(request))
        return json_result(measure, 200, etag(measure["version"]))

    @api("GET", "/logs/<log_id>/measures/<measure_id>/evaluations", "A measure's "
         "evaluations (green, yellow, red), the latest first", scope=READ,
         response=EVALUATION_VIEWS, listing=True)
    def list_evaluations(self, request, log_id, measure_id):
        self._authenticate(request)
        return self.logs.list_evaluations(log_id, measure_id, **self._paging(request))

    @api("POST", "/logs/<log_id>/measures/<measure_id>/evaluations", "Evaluate a measure "
         "(staff participant)", request="EvaluationRequest", response="Evaluation",
         status=201)
    @idempotent
    def add_evaluation(self, request, log_id, measure_id):
        self._authenticate(request)
        return json_result(self.logs.add_evaluation(log_id, measure_id, self._body(request)),
                           201)

    # -- meetings ---------------------------------------------------------------------------

    @api("GET", "/logs/<log_id>/meetings", "The log's meetings, the latest planned first",
         scope=READ, response=MEETING_VIEWS, listing=True)
    def list_meetings(self, request, log_id):
        self._authenticate(request)
        return self.logs.list_meetings(log_id, **self._paging(request))

    @api("POST", "/logs/<log_id>/meetings", "Schedule a meeting (staff participant)",
         request="MeetingRequest", response="Meeting", status=201, etag=True)
    @idempotent
    def schedule_meeting(self, request, log_id):
        self._authenticate(request)
        meeting = self.logs.schedule_meeting(log_id, self._body(request))
        return json_result(meeting, 201, etag(meeting["version"]))

    @api("POST", "/logs/<log_id>/meetings/<meeting_id>/minutes", "Record the minutes and "
         "decisions of a meeting", request="MinutesRequest", response="Meeting",
         if_match=True)
    def record_minutes(self, request, log_id, meeting_id):
        self._authenticate(request)
        meeting = self.logs.record_minutes(log_id, meeting_id, self._body(request),
                                           self._if_match(request))
        return json_result(meeting, 200, etag(meeting["version"]))

    @api("GET", "/logs/<log_id>/meetings/<meeting_id>/preparation", "What to go through at "
         "a meeting: open measures, evaluations due, and the newest 50 changes since the "
         "previous meeting (more_changes_cursor continues the timeline, order=newest) "
         "(staff)")
    def meeting_preparation(self, request, log_id, meeting_id):
        self._authenticate(request)
        return self.logs.meeting_preparation(log_id, meeting_id)

    # -- entries and proposals --------------------------------------------------------------

    @api("GET", "/logs/<log_id>/entries", "Notes, bright spots and the child's voice, "
         "newest first", scope=READ, response=ENTRY_VIEWS, listing=True)
    def list_entries(self, request, log_id):
        self._authenticate(request)
        return self.logs.list_entries(log_id, **self._paging(request))

    @api("POST", "/logs/<log_id>/entries", "Add an entry", request="EntryRequest",
         response=ENTRY_VIEWS, status=201)
    @idempotent
    def add_entry(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.add_entry(log_id, self._body(request)), 201)

    @api("GET", "/logs/<log_id>/proposals", "Measures proposed by the child and guardians, "
         "newest first", response="Proposal", listing=True)
    def list_proposals(self, request, log_id):
        self._authenticate(request)
        return self.logs.list_proposals(log_id, **self._paging(request))

    @api("POST", "/logs/<log_id>/proposals", "Propose a measure (child or guardian)",
         request="ProposalRequest", response="Proposal", status=201)
    @idempotent
    def propose_measure(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.propose_measure(log_id, self._body(request)), 201)

    @api("POST", "/logs/<log_id>/proposals/<proposal_id>/accept", "Make a proposal a "
         "measure (stafettholder; If-Match is the log's ETag)", request="ProposalAccept",
         response="Proposal", if_match=True, etag=False)
    def accept_proposal(self, request, log_id, proposal_id):
        self._authenticate(request)
        return self.logs.accept_proposal(log_id, proposal_id, self._body(request),
                                         self._required_if_match(request))

    @api("POST", "/logs/<log_id>/proposals/<proposal_id>/decline", "Decline a proposal "
         "with a reason (stafettholder; If-Match is the log's ETag)",
         request="ProposalDecline", response="Proposal", if_match=True, etag=False)
    def decline_proposal(self, request, log_id, proposal_id):
        self._authenticate(request)
        return self.logs.decline_proposal(log_id, proposal_id, self._body(request),
                                         self._required_if_match(request))

    # -- timeline, access log, export, statistics -------------------------------------------

    @api("GET", "/logs/<log_id>/timeline", "Everything that happened, oldest first "
         "(order=newest: the newest first)", scope=READ, response="TimelineItem",
         listing=True, query=(ORDER,))
    def timeline(self, request, log_id):
        self._authenticate(request)
        order = request.args.get("order", "oldest")
        if order not in ("oldest", "newest"):
            raise BadRequest("order is oldest or newest")
        return self.logs.timeline(log_id, **self._paging(request),
                                  newest_first=order == "newest")

    @api("GET", "/logs/<log_id>/access-log", "Who read or changed the log, and who was "
         "refused (stafettholder, guardians, the child)", response="AccessRecord",
         listing=True)
    def access_log(self, request, log_id):
        self._authenticate(request)
        return self.logs.access_log(log_id, **self._paging(request))

    @api("GET", "/logs/<log_id>/fhir", "The log as a FHIR R5 Bundle (CarePlan, Goals, "
         "Observations)", scope=READ, media_type="application/fhir+json")
    def log_fhir(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.log_fhir(log_id), content_type="application/fhir+json")

    @api("GET", "/audit", "The access records of the agency's staff (agency auditor)",
         response="AccessRecord", listing=True)
    def agency_audit(self, request):
        self._authenticate(request)
        return self.logs.agency_audit(**self._paging(request))

    @api("GET", "/stats", "Aggregate statistics in distinct children; figures below the "
         "threshold (5), and those that would give one back, are null (staff)")
    def statistics(self, request):
        self._authenticate(request)
        return self.logs.statistics()
