"""Contracts of the logs service. Output schemas differ per viewer (minimisation)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

ARENAS = ("home", "school", "kindergarten", "health", "leisure", "other")
MEASURE_STATUSES = ("planned", "active", "completed", "stopped")


class OpenLogIn(Schema):
    child_id = fields.String(required=True)
    level = fields.Integer(load_default=1, validate=validate.Range(0, 3))


class ParticipantIn(Schema):
    person_id = fields.String(required=True)


class MeasureIn(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(0, 4000))
    goal = fields.String(required=True, validate=validate.Length(1, 2000))
    responsible_id = fields.String(required=True)
    arena = fields.String(required=True, validate=validate.OneOf(ARENAS))
    start_date = fields.Date(required=True)
    evaluate_by = fields.Date(required=True)
    status = fields.String(load_default="planned", validate=validate.OneOf(MEASURE_STATUSES))


class ParticipantStaffView(Schema):
    id = fields.String()
    person_id = fields.String()
    kind = fields.String()
    role = fields.String()
    display_name = fields.String()
    title = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    agency_type = fields.String(allow_none=True)
    active_from = fields.Date()
    active_until = fields.Date(allow_none=True)


class ParticipantCitizenView(Schema):
    """Guardians and the child see who takes part and in which role, not internal ids."""
    id = fields.String()
    kind = fields.String()
    role = fields.String()
    display_name = fields.String()
    title = fields.String(allow_none=True)
    agency_type = fields.String(allow_none=True)


class MeasureView(Schema):
    id = fields.String()
    title = fields.String()
    description = fields.String()
    goal = fields.String()
    responsible_id = fields.String()
    proposer_id = fields.String()
    arena = fields.String()
    start_date = fields.Date()
    evaluate_by = fields.Date()
    status = fields.String()
    version = fields.Integer()


class LogStaffView(Schema):
    id = fields.String()
    child_id = fields.String()
    status = fields.String()
    level = fields.Integer()
    opened_at = fields.DateTime()
    version = fields.Integer()
    viewer_role = fields.String()
    participants = fields.List(fields.Nested(ParticipantStaffView))
    measures = fields.List(fields.Nested(MeasureView))


class LogCitizenView(Schema):
    id = fields.String()
    status = fields.String()
    level = fields.Integer()
    opened_at = fields.DateTime()
    version = fields.Integer()
    viewer_role = fields.String()
    participants = fields.List(fields.Nested(ParticipantCitizenView))
    measures = fields.List(fields.Nested(MeasureView))


class LogSummary(Schema):
    id = fields.String()
    child_id = fields.String()
    status = fields.String()
    level = fields.Integer()
    viewer_role = fields.String()
