"""The stafettlogg (owner: the logs service). Updates take If-Match; lists are paged."""
from gateway.http import api, json_result
from gateway.idempotency import idempotent

#: what an agency system's token needs to read the logs its agency takes part in
READ = "stafett:logs.read"


def etag(version) -> dict:
    return {"ETag": f'"{version}"'}


class LogsRoutes:
    # -- the log ----------------------------------------------------------------------------

    @api("GET", "/logs", scope=READ)
    def my_logs(self, request):
        self._authenticate(request)
        return {"items": self.logs.my_logs()}

    @api("POST", "/logs")
    @idempotent
    def open_log(self, request):
        self._authenticate(request)
        log = self.logs.open_log(self._body(request))
        return json_result(log, 201, {"Location": f"/api/v1/logs/{log['id']}",
                                      **etag(log["version"])})

    @api("GET", "/logs/<log_id>", scope=READ)
    def get_log(self, request, log_id):
        self._authenticate(request)
        log = self.logs.get_log(log_id)
        return json_result(log, 200, etag(log["version"]) if "version" in log else None)

    @api("PATCH", "/logs/<log_id>")
    def update_log(self, request, log_id):
        self._authenticate(request)
        log = self.logs.update_log(log_id, self._body(request), self._if_match(request))
        return json_result(log, 200, etag(log["version"]))

    @api("POST", "/logs/<log_id>/close")
    def close_log(self, request, log_id):
        self._authenticate(request)
        log = self.logs.close_log(log_id, self._body(request), self._if_match(request))
        return json_result(log, 200, etag(log["version"]))

    @api("POST", "/logs/<log_id>/stafettholder")
    def set_stafettholder(self, request, log_id):
        self._authenticate(request)
        log = self.logs.set_stafettholder(log_id, self._body(request), self._if_match(request))
        return json_result(log, 200, etag(log["version"]))

    # -- participants -----------------------------------------------------------------------

    @api("POST", "/logs/<log_id>/participants")
    @idempotent
    def add_participant(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.add_participant(log_id, self._body(request)), 201)

    @api("DELETE", "/logs/<log_id>/participants/<participant_id>")
    def remove_participant(self, request, log_id, participant_id):
        self._authenticate(request)
        return self.logs.remove_participant(log_id, participant_id, self._if_match(request))

    # -- measures and evaluations -----------------------------------------------------------

    @api("GET", "/logs/<log_id>/measures", scope=READ)
    def list_measures(self, request, log_id):
        self._authenticate(request)
        return {"items": self.logs.list_measures(log_id)}

    @api("POST", "/logs/<log_id>/measures")
    @idempotent
    def add_measure(self, request, log_id):
        self._authenticate(request)
        measure = self.logs.add_measure(log_id, self._body(request))
        return json_result(measure, 201, {
            "Location": f"/api/v1/logs/{log_id}/measures/{measure['id']}",
            **(etag(measure["version"]) if "version" in measure else {})})

    @api("GET", "/logs/<log_id>/measures/<measure_id>", scope=READ)
    def get_measure(self, request, log_id, measure_id):
        self._authenticate(request)
        measure = self.logs.get_measure(log_id, measure_id)
        return json_result(measure, 200, etag(measure["version"]) if "version" in measure
                           else None)

    @api("PATCH", "/logs/<log_id>/measures/<measure_id>")
    def update_measure(self, request, log_id, measure_id):
        self._authenticate(request)
        measure = self.logs.update_measure(log_id, measure_id, self._body(request),
                                           self._if_match(request))
        return json_result(measure, 200, etag(measure["version"]))

    @api("GET", "/logs/<log_id>/measures/<measure_id>/evaluations", scope=READ)
    def list_evaluations(self, request, log_id, measure_id):
        self._authenticate(request)
        return {"items": self.logs.list_evaluations(log_id, measure_id)}

    @api("POST", "/logs/<log_id>/measures/<measure_id>/evaluations")
    @idempotent
    def add_evaluation(self, request, log_id, measure_id):
        self._authenticate(request)
        return json_result(self.logs.add_evaluation(log_id, measure_id, self._body(request)),
                           201)

    # -- meetings ---------------------------------------------------------------------------

    @api("GET", "/logs/<log_id>/meetings", scope=READ)
    def list_meetings(self, request, log_id):
        self._authenticate(request)
        return {"items": self.logs.list_meetings(log_id)}

    @api("POST", "/logs/<log_id>/meetings")
    @idempotent
    def schedule_meeting(self, request, log_id):
        self._authenticate(request)
        meeting = self.logs.schedule_meeting(log_id, self._body(request))
        return json_result(meeting, 201, etag(meeting["version"]))

    @api("POST", "/logs/<log_id>/meetings/<meeting_id>/minutes")
    def record_minutes(self, request, log_id, meeting_id):
        self._authenticate(request)
        meeting = self.logs.record_minutes(log_id, meeting_id, self._body(request),
                                           self._if_match(request))
        return json_result(meeting, 200, etag(meeting["version"]))

    @api("GET", "/logs/<log_id>/meetings/<meeting_id>/preparation")
    def meeting_preparation(self, request, log_id, meeting_id):
        self._authenticate(request)
        return self.logs.meeting_preparation(log_id, meeting_id)

    # -- entries and proposals --------------------------------------------------------------

    @api("GET", "/logs/<log_id>/entries", scope=READ)
    def list_entries(self, request, log_id):
        self._authenticate(request)
        return {"items": self.logs.list_entries(log_id)}

    @api("POST", "/logs/<log_id>/entries")
    @idempotent
    def add_entry(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.add_entry(log_id, self._body(request)), 201)

    @api("GET", "/logs/<log_id>/proposals")
    def list_proposals(self, request, log_id):
        self._authenticate(request)
        return {"items": self.logs.list_proposals(log_id)}

    @api("POST", "/logs/<log_id>/proposals")
    @idempotent
    def propose_measure(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.propose_measure(log_id, self._body(request)), 201)

    @api("POST", "/logs/<log_id>/proposals/<proposal_id>/accept")
    def accept_proposal(self, request, log_id, proposal_id):
        self._authenticate(request)
        return self.logs.accept_proposal(log_id, proposal_id, self._body(request))

    @api("POST", "/logs/<log_id>/proposals/<proposal_id>/decline")
    def decline_proposal(self, request, log_id, proposal_id):
        self._authenticate(request)
        return self.logs.decline_proposal(log_id, proposal_id, self._body(request))

    # -- timeline, access log, export, statistics -------------------------------------------

    @api("GET", "/logs/<log_id>/timeline", scope=READ)
    def timeline(self, request, log_id):
        self._authenticate(request)
        return self.logs.timeline(log_id, **self._paging(request))

    @api("GET", "/logs/<log_id>/access-log")
    def access_log(self, request, log_id):
        self._authenticate(request)
        return self.logs.access_log(log_id, **self._paging(request))

    @api("GET", "/logs/<log_id>/fhir", scope=READ)
    def log_fhir(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.log_fhir(log_id), content_type="application/fhir+json")

    @api("GET", "/audit")
    def agency_audit(self, request):
        self._authenticate(request)
        return self.logs.agency_audit(**self._paging(request))

    @api("GET", "/stats")
    def statistics(self, request):
        self._authenticate(request)
        return self.logs.statistics()
