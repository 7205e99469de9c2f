"""The OpenAPI 3.1 document, generated with apispec from the services' marshmallow schemas
and from each route's own contract in the route table (``api(..., request=, response=,
listing=, ...)`` in gateway/routes/table.py): a route cannot exist without being
documented. Each operation's ``operationId`` is its function's name, its tag its resource."""
from __future__ import annotations

from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from gateway.http import MAX_IF_MATCH
from gateway.routes.route import Route, api_routes
from services.consent import schemas as consent
from services.handover import schemas as handover
from services.logs import schemas as logs
from services.notifications import schemas as notifications
from stafett.fields import Text
from stafett.paging import DEFAULT_LIMIT, MAX_CURSOR, MAX_LIMIT


class Me(Schema):
    kind = Text(metadata={"enum": ["citizen", "staff", "system"]})
    person_id = Text(allow_none=True)
    agency = Text(allow_none=True)
    agency_type = Text(allow_none=True)
    roles = fields.List(Text())
    scopes = fields.List(Text())


class AuditCheckpoint(Schema):
    """A service's newest checkpoint (stafett/transparency.py, docs/security.md)."""
    service = Text()
    origin = Text(metadata={"description": "the checkpoint's first line and key name"})
    tree_size = fields.Integer()
    root_hash = Text(metadata={"description": "base64 SHA-256 (RFC 9162)"})
    created_at = fields.DateTime()
    note = Text(metadata={"description": "the C2SP signed note, as the witness keeps it"})
    verifier_key = Text(metadata={"description": "<name>+<key id>+<base64 Ed25519 key>"})


class AuditCheckpoints(Schema):
    checkpoints = fields.List(fields.Nested(AuditCheckpoint))


class AuditConsistency(Schema):
    service = Text()
    first = fields.Integer()
    second = fields.Integer()
    proof = fields.List(Text(), metadata={"description": "base64 hashes (RFC 9162 2.1.4)"})


class AccessRecordFields(Schema):
    """What every view of an access record shows (docs/audit.md)."""
    ref = Text(metadata={"description": "<service>:<record id>, for the record and its proof"})
    service = Text(metadata={"enum": ["consent", "logs", "handover", "notifications"]})
    id = Text()
    at = fields.DateTime()
    actor_ref = Text()
    actor_kind = Text()
    agency = Text(allow_none=True)
    role = Text(allow_none=True)
    action = Text()
    object_type = Text()
    outcome = Text(metadata={"enum": ["allowed", "denied", "rejected"]})
    purpose = Text(metadata={"description": "a code of stafett/audit/purposes.py"})
    why = Text(metadata={"description": "the purpose in plain bokmål"})
    protected = fields.Boolean()


class ChildAccessRecord(AccessRecordFields):
    """One access record about a child, as the family reads it."""
    who = Text(metadata={"description": "a staff member's name; a citizen by role"})
    title = Text(allow_none=True)
    agency_name = Text(allow_none=True)
    agency_type = Text(allow_none=True)


class AccessRecordContent(Schema):
    """A record exactly as its service hashed it (keys sorted when hashed)."""
    class Meta:
        unknown = "include"


class AccessRecordProof(Schema):
    service = Text()
    record = fields.Nested(AccessRecordContent)
    leaf_index = fields.Integer()
    tree_size = fields.Integer()
    root_hash = Text(metadata={"description": "base64 SHA-256"})
    inclusion_path = fields.List(Text(), metadata={"description": "base64 hashes, RFC 9162 "
                                                                  "2.1.3"})
    checkpoint = Text(metadata={"description": "the C2SP signed note"})
    verifier_key = Text(allow_none=True)


class AuditedAccess(AccessRecordFields):
    """One access by the agency's staff, for its auditor."""
    object_id = Text(allow_none=True)
    subject_id = Text(allow_none=True)
    reason = Text(allow_none=True)
    anomalies = fields.List(Text(metadata={"enum": ["denied", "bulk", "outside_participation",
                                                    "after_consent_ended"]}))


#: component name → marshmallow schema; leaves before the schemas nesting them, so
#: apispec reuses their names
SCHEMAS = {
    "Me": Me,
    "AuditCheckpoint": AuditCheckpoint, "AuditCheckpoints": AuditCheckpoints,
    "AuditConsistency": AuditConsistency, "ChildAccessRecord": ChildAccessRecord,
    "AccessRecordContent": AccessRecordContent, "AccessRecordProof": AccessRecordProof,
    "AuditedAccess": AuditedAccess,
    # consent
    "Agency": consent.AgencyListOut, "Child": consent.ChildOut,
    "ChildRegistration": consent.ChildIn, "ChildSearch": consent.ChildSearchIn,
    "ConsentRequest": consent.ConsentIn, "Consent": consent.ConsentOut,
    "Staff": consent.StaffOut,
    # the gateway fills in the agency (from the path) and the issuer (the caller's)
    "StaffRequest": consent.StaffIn(exclude=("issuer", "agency")),
    # logs
    "ParticipantRequest": logs.ParticipantIn, "Participant": logs.ParticipantStaffView,
    "ParticipantCitizenView": logs.ParticipantCitizenView,
    "Evaluation": logs.EvaluationView, "ChildEvaluation": logs.ChildEvaluationView,
    "MeasureRequest": logs.MeasureIn, "MeasureUpdate": logs.MeasureUpdateIn,
    "Measure": logs.MeasureView, "ChildMeasure": logs.ChildMeasureView,
    "EvaluationRequest": logs.EvaluationIn,
    "MeetingRequest": logs.MeetingIn, "MinutesRequest": logs.MinutesIn,
    "Meeting": logs.MeetingView, "ChildMeeting": logs.ChildMeetingView,
    "EntryRequest": logs.EntryIn, "Entry": logs.EntryView, "CitizenEntry": logs.CitizenEntryView,
    "ProposalRequest": logs.ProposalIn, "ProposalAccept": logs.ProposalAcceptIn,
    "ProposalDecline": logs.ProposalDeclineIn, "Proposal": logs.ProposalView,
    "OpenLog": logs.OpenLogIn, "LogUpdate": logs.LogUpdateIn, "CloseLog": logs.CloseLogIn,
    "StafettholderRequest": logs.StafettholderIn,
    "ListInfo": logs.ListInfo, "LogLists": logs.LogLists,
    "LogStaffView": logs.LogStaffView, "LogGuardianView": logs.LogGuardianView,
    "LogChildView": logs.LogChildView, "LogSummary": logs.LogSummary,
    "TimelineItem": logs.TimelineItem, "AccessRecord": logs.AccessRecordView,
    # handover
    "Handover": handover.HandoverView, "HandoverCitizenView": handover.HandoverCitizenView,
    "HandoverRequest": handover.HandoverIn, "HandoverAccept": handover.AcceptIn,
    "HandoverDecline": handover.DeclineIn, "HandoverCancel": handover.CancelIn,
    # notifications
    "Notification": notifications.NotificationView, "InboxPage": notifications.InboxPage,
    "PreferencesRequest": notifications.PreferencesIn,
    "Preferences": notifications.PreferencesView, "WebhookRequest": notifications.WebhookIn,
    "Webhook": notifications.WebhookView, "WebhookCreated": notifications.WebhookCreated,
    "Delivery": notifications.DeliveryView,
}

PROBLEM = {"type": "object", "required": ["type", "title", "status"], "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"}, "instance": {"type": "string"},
    "code": {"type": "string", "description": "stable machine code, listed on /problems"},
    "errors": {"type": "object", "additionalProperties": True},
    "error_codes": {"type": "object", "description": "{field: [code]}, with errors",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    "error_params": {"type": "object", "additionalProperties": True}}}

PAGING = [
    {"name": "limit", "in": "query", "required": False, "schema": {
        "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
    {"name": "cursor", "in": "query", "required": False,
     "schema": {"type": "string", "maxLength": MAX_CURSOR},
     "description": "next_cursor of the previous page, as given"}]
IF_MATCH = {"name": "If-Match", "in": "header", "required": True,
            "schema": {"type": "string", "maxLength": MAX_IF_MATCH},
            "description": "the ETag you last read"}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                   "description": "retry safely: a replay returns the first response"}
ETAG_HEADER = {"ETag": {"description": "the version, for If-Match",
                        "schema": {"type": "string"}}}

#: the problems every authenticated route may answer
ERRORS = {"400": "Bad request", "401": "Not authenticated", "403": "Forbidden",
          "404": "Not found (or not yours to see)", "409": "Conflict",
          "422": "Invalid fields", "429": "Rate limited (Retry-After)",
          "503": "A service is unavailable (Retry-After)"}
BODY_ERRORS = {"413": "Body too large", "415": "Send application/json"}
IF_MATCH_ERRORS = {"412": "Changed since you read it", "428": "Send If-Match"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _schema(response) -> dict:
    if isinstance(response, tuple):  # the view depends on who asks
        return {"anyOf": [_ref(name) for name in response]}
    return _ref(response)


def _operation(route: Route) -> dict:
    method, path, contract = route.method.lower(), route.openapi_path, route.contract
    body = _schema(contract.response) if contract.response else {"type": "object"}
    if contract.listing:
        body = {"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": body},
            "next_cursor": {"type": ["string", "null"]}}}
    success = {"description": "OK"}
    if contract.status != 204:
        success["content"] = {contract.media_type: {"schema": body}}
    if contract.etag:
        success["headers"] = ETAG_HEADER
    parameters = [{"name": part.strip("{}"), "in": "path", "required": True,
                   "schema": {"type": "string"}}
                  for part in path.split("/") if part.startswith("{")]
    parameters += PAGING if contract.paged else []
    parameters += list(contract.query)
    parameters += [IF_MATCH] if contract.if_match else []
    parameters += [IDEMPOTENCY_KEY] if route.idempotent else []
    errors = dict(ERRORS)
    if method in ("post", "put", "patch"):
        errors.update(BODY_ERRORS)
    if contract.if_match:
        errors.update(IF_MATCH_ERRORS)
    operation = {
        "operationId": route.name, "tags": list(route.tags),
        "summary": contract.summary, "security": [{"bearer": []}], "parameters": parameters,
        "responses": {str(contract.status): success, **{
            code: {"description": text, "content": {
                "application/problem+json": {"schema": _ref("Problem")}}}
            for code, text in sorted(errors.items())}},
    }
    if route.scope:  # the only operations open to agency systems, with this scope
        operation["x-agency-system-scope"] = route.scope
    if contract.request:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(contract.request)}}}
    return operation


@lru_cache(maxsize=4)
def openapi_document(routes: tuple[Route, ...]) -> dict:
    """The document of the API routes in ``routes`` (gateway/routes/table.py; passed in, so
    that this module imports neither the table nor the gateway service)."""
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
    for method, path, _, route in api_routes(routes):
        paths.setdefault(path, {})[method.lower()] = _operation(route)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
