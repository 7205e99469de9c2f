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
    "LogGuardianView": logs.LogGuardianView, "LogChildView": logs.LogChildView,
    "LogSummary": logs.LogSummary,
    "Handover": handover.HandoverView, "Notification": notifications.NotificationView,
    "HandoverRequest": handover.HandoverIn, "HandoverAccept": handover.AcceptIn,
    "HandoverDecline": handover.DeclineIn, "HandoverCancel": handover.CancelIn,
    "HandoverCitizenView": handover.HandoverCitizenView,
}

# the notifications service's contracts (inbox page, preferences, webhooks, deliveries)
SCHEMAS.update({
    "InboxPage": notifications.InboxPage, "PreferencesRequest": notifications.PreferencesIn,
    "Preferences": notifications.PreferencesView, "WebhookRequest": notifications.WebhookIn,
    "Webhook": notifications.WebhookView, "WebhookCreated": notifications.WebhookCreated,
    "Delivery": notifications.DeliveryView,
})

PROBLEM = {"type": "object", "required": ["type", "title", "status"], "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"}, "instance": {"type": "string"},
    "errors": {"type": "object", "additionalProperties": True}}}

#: query parameters of list operations, by (method, path)
QUERY_PARAMETERS = {
    ("get", "/handovers"): [
        {"name": "direction", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["incoming", "outgoing"]}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
}

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
    ("get", "/handovers", "Incoming and outgoing handovers (?direction=incoming|outgoing)",
     None, 200, "Handover", True),
    ("post", "/handovers", "Request a handover of a log to another agency (stafettholder)",
     "HandoverRequest", 201, "Handover", False),
    ("get", "/handovers/{handover_id}", "A handover; the receiver sees the summary, not the log",
     None, 200, "Handover", False),
    ("post", "/handovers/{handover_id}/accept", "Accept, naming the new stafettholder (receiver)",
     "HandoverAccept", 200, "Handover", False),
    ("post", "/handovers/{handover_id}/decline", "Decline with a reason (receiver)",
     "HandoverDecline", 200, "Handover", False),
    ("post", "/handovers/{handover_id}/cancel", "Cancel a request not yet accepted (requester)",
     "HandoverCancel", 200, "Handover", False),
    ("get", "/notifications", "The actor's in-app inbox, newest first (?unread, ?limit, ?cursor)",
     None, 200, "InboxPage", False),
    ("post", "/notifications/{notification_id}/read", "Mark a notification read", None, 200,
     "Notification", False),
    ("post", "/notifications/{notification_id}/unread", "Mark a notification unread", None,
     200, "Notification", False),
    ("get", "/me/preferences", "The actor's notification preferences (ETag)", None, 200,
     "Preferences", False),
    ("put", "/me/preferences", "Replace the actor's notification preferences (If-Match)",
     "PreferencesRequest", 200, "Preferences", False),
    ("get", "/webhooks", "The agency's webhooks (agency admin or scope stafett:webhooks)",
     None, 200, "Webhook", True),
    ("post", "/webhooks", "Register a webhook; the signing secret is shown once",
     "WebhookRequest", 201, "WebhookCreated", False),
    ("delete", "/webhooks/{webhook_id}", "Delete a webhook", None, 204, None, False),
    ("get", "/webhooks/{webhook_id}/deliveries", "Recent deliveries to a webhook", None, 200,
     "Delivery", True),
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
                           for p in path.split("/") if p.startswith("{")]
            + QUERY_PARAMETERS.get((method, path), []),
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
    return _notifications_details(spec.to_dict())


def _notifications_details(document: dict) -> dict:
    """What the operation table cannot say: inbox query parameters, If-Match, 204."""
    paths = document["paths"]
    paths["/notifications"]["get"]["parameters"] += [
        {"name": "unread", "in": "query", "required": False, "schema": {"type": "boolean"}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}]
    put = paths["/me/preferences"]["put"]
    put["parameters"].append({"name": "If-Match", "in": "header", "required": True,
                              "schema": {"type": "string"},
                              "description": "the ETag from GET /me/preferences"})
    for code in ("412", "428"):
        put["responses"][code] = {"description": "Problem", "content": {
            "application/problem+json": {"schema": _ref("Problem")}}}
    delete = paths["/webhooks/{webhook_id}"]["delete"]["responses"]
    delete["204"] = {"description": "Deleted"}  # no body
    return document
