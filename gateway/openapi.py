"""The OpenAPI 3.1 document, generated from the services' marshmallow schemas (apispec)."""
from __future__ import annotations

from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.consent import schemas as consent
from services.handover import schemas as handover
from services.logs import schemas as logs
from services.notifications import schemas as notifications

SCHEMAS = {
    "ChildSearch": consent.ChildSearchIn, "Child": consent.ChildOut,
    "ConsentRequest": consent.ConsentIn, "Consent": consent.ConsentOut,
    "Staff": consent.StaffOut,
    # leaves before the schemas nesting them, so apispec reuses their names
    "ParticipantRequest": logs.ParticipantIn, "Participant": logs.ParticipantStaffView,
    "ParticipantCitizenView": logs.ParticipantCitizenView,
    "MeasureRequest": logs.MeasureIn, "Measure": logs.MeasureView,
    "OpenLog": logs.OpenLogIn, "LogStaffView": logs.LogStaffView,
    "LogCitizenView": logs.LogCitizenView, "LogSummary": logs.LogSummary,
    "Handover": handover.HandoverView, "Notification": notifications.NotificationView,
}

PROBLEM = {"type": "object", "required": ["type", "title", "status"], "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"}, "instance": {"type": "string"},
    "errors": {"type": "object", "additionalProperties": True}}}

# (method, path, summary, request schema, response status, response schema, list?)
OPERATIONS = [
    ("get", "/me", "The authenticated actor", None, 200, None, False),
    ("get", "/children", "Children of the logged-in guardian", None, 200, "Child", True),
    ("post", "/children/search", "Find a child by national id (in the body, never the URL)",
     "ChildSearch", 200, "Child", False),
    ("get", "/children/{child_id}/consents", "Consents for a child (guardians)", None, 200,
     "Consent", True),
    ("post", "/children/{child_id}/consents", "Grant consent (guardian)", "ConsentRequest", 201,
     "Consent", False),
    ("post", "/consents/{consent_id}/withdraw", "Withdraw consent", None, 200, "Consent", False),
    ("get", "/agencies/{org_number}/staff", "Staff directory of an agency", None, 200, "Staff",
     True),
    ("get", "/logs", "Logs the actor takes part in", None, 200, "LogSummary", True),
    ("post", "/logs", "Open a log (staff; becomes stafettholder)", "OpenLog", 201,
     "LogStaffView", False),
    ("get", "/logs/{log_id}", "Read a log, as the actor may see it", None, 200,
     "LogStaffView", False),
    ("post", "/logs/{log_id}/participants", "Add a staff participant (stafettholder)",
     "ParticipantRequest", 201, "Participant", False),
    ("post", "/logs/{log_id}/measures", "Add a measure", "MeasureRequest", 201, "Measure",
     False),
    ("get", "/handovers", "Incoming and outgoing handovers", None, 200, "Handover", True),
    ("get", "/notifications", "The actor's in-app inbox", None, 200, "Notification", True),
    ("post", "/notifications/{notification_id}/read", "Mark a notification read", None, 200,
     "Notification", False),
]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    spec = APISpec(title="Stafett API", version="1", openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "The shared stafettlogg around a child (BTI model)."},
                   servers=[{"url": "/api/v1"}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM)
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    paths: dict[str, dict] = {}
    for method, path, summary, request, status, response, many in OPERATIONS:
        content_schema = ({"type": "object", "properties": {"items": {
            "type": "array", "items": _ref(response)}}} if many and response
            else _ref(response) if response else {"type": "object"})
        operation = {
            "summary": summary, "security": [{"bearer": []}],
            "parameters": [{"name": p.strip("{}"), "in": "path", "required": True,
                            "schema": {"type": "string"}}
                           for p in path.split("/") if p.startswith("{")],
            "responses": {str(status): {"description": "OK", "content": {
                "application/json": {"schema": content_schema}}}},
        }
        for code in ("400", "401", "404", "409", "422", "503"):
            operation["responses"][code] = {"description": "Problem", "content": {
                "application/problem+json": {"schema": _ref("Problem")}}}
        if request:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _ref(request)}}}
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
