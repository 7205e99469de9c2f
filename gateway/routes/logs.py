"""The stafettlogg (owner: the logs service)."""
from gateway.http import api, json_result


class LogsRoutes:
    @api("GET", "/logs")
    def my_logs(self, request):
        self._authenticate(request)
        return {"items": self.logs.my_logs()}

    @api("POST", "/logs")
    def open_log(self, request):
        self._authenticate(request)
        log = self.logs.open_log(self._body(request))
        return json_result(log, 201, {"Location": f"/api/v1/logs/{log['id']}",
                                      "ETag": f'"{log["version"]}"'})

    @api("GET", "/logs/<log_id>")
    def get_log(self, request, log_id):
        self._authenticate(request)
        log = self.logs.get_log(log_id)
        return json_result(log, 200, {"ETag": f'"{log["version"]}"'})

    @api("POST", "/logs/<log_id>/participants")
    def add_participant(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.add_participant(log_id, self._body(request)), 201)

    @api("POST", "/logs/<log_id>/measures")
    def add_measure(self, request, log_id):
        self._authenticate(request)
        measure = self.logs.add_measure(log_id, self._body(request))
        return json_result(measure, 201,
                           {"Location": f"/api/v1/logs/{log_id}/measures/{measure['id']}"})
