"""Contracts of the logs service.

Input schemas raise field errors. Output views are strict per viewer (minimisation):
staff get the working view, guardians the same in plain terms without internal person ids
or staff-only entries, the child a smaller view. Tests pin their exact field sets.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from stafett.fields import UtcDateTime

ARENAS = ("home", "school", "kindergarten", "health", "leisure", "other")
MEASURE_STATUSES = ("planned", "active", "completed", "stopped")
OUTCOMES = ("green", "yellow", "red")
MEETING_MODES = ("in_person", "video", "phone")
ENTRY_KINDS = ("note", "child_voice", "bright_spot")
VISIBILITIES = ("all", "staff")


# -- input ----------------------------------------------------------------------------------

class OpenLogIn(Schema):
    child_id = fields.String(required=True)
    level = fields.Integer(load_default=1, validate=validate.Range(0, 3))


class LogUpdateIn(Schema):
    level = fields.Integer(required=True, validate=validate.Range(0, 3))


class CloseLogIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(3, 2000))


class StafettholderIn(Schema):
    participant_id = fields.String(required=True)


class ParticipantIn(Schema):
    person_id = fields.String(required=True)
    active_until = fields.Date(load_default=None)


class MeasureIn(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(0, 4000))
    goal = fields.String(required=True, validate=validate.Length(1, 2000))
    responsible_id = fields.String(required=True)
    arena = fields.String(required=True, validate=validate.OneOf(ARENAS))
    start_date = fields.Date(required=True)
    evaluate_by = fields.Date(required=True)
    status = fields.String(load_default="planned", validate=validate.OneOf(MEASURE_STATUSES))


class MeasureUpdateIn(Schema):
    title = fields.String(validate=validate.Length(1, 200))
    description = fields.String(validate=validate.Length(0, 4000))
    goal = fields.String(validate=validate.Length(1, 2000))
    responsible_id = fields.String()
    arena = fields.String(validate=validate.OneOf(ARENAS))
    evaluate_by = fields.Date()
    status = fields.String(validate=validate.OneOf(MEASURE_STATUSES))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("send at least one field to change", "_schema")


class EvaluationIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    text = fields.String(required=True, validate=validate.Length(1, 4000))
    child_view = fields.String(load_default=None, validate=validate.Length(0, 4000))
    evaluated_on = fields.Date(load_default=None)


class MeetingIn(Schema):
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(load_default=None)
    mode = fields.String(required=True, validate=validate.OneOf(MEETING_MODES))
    place = fields.String(load_default=None, validate=validate.Length(0, 200))
    agenda = fields.String(load_default="", validate=validate.Length(0, 4000))
    invited = fields.List(fields.String(), required=True, validate=validate.Length(1, 50))


class DecisionIn(MeasureIn):
    """A decision in the minutes that becomes a measure in the same step."""


class MinutesIn(Schema):
    minutes = fields.String(required=True, validate=validate.Length(1, 20000))
    attended = fields.List(fields.String(), load_default=list)
    decisions = fields.List(fields.Nested(DecisionIn), load_default=list,
                            validate=validate.Length(0, 20))


class EntryIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(ENTRY_KINDS))
    text = fields.String(required=True, validate=validate.Length(1, 4000))
    visibility = fields.String(load_default="all", validate=validate.OneOf(VISIBILITIES))


class ProposalIn(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(0, 4000))
    goal = fields.String(load_default="", validate=validate.Length(0, 2000))
    arena = fields.String(required=True, validate=validate.OneOf(ARENAS))


class ProposalAcceptIn(Schema):
    responsible_id = fields.String(required=True)
    start_date = fields.Date(required=True)
    evaluate_by = fields.Date(required=True)
    goal = fields.String(validate=validate.Length(1, 2000))


class ProposalDeclineIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(3, 2000))


# -- views ----------------------------------------------------------------------------------

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
    read_only_until = fields.Date(allow_none=True)


class ParticipantCitizenView(Schema):
    """Guardians and the child see who takes part and in which role, not internal ids."""
    id = fields.String()
    kind = fields.String()
    role = fields.String()
    display_name = fields.String()
    title = fields.String(allow_none=True)
    agency_type = fields.String(allow_none=True)


class EvaluationView(Schema):
    id = fields.String()
    outcome = fields.String()
    text = fields.String()
    child_view = fields.String(allow_none=True)
    evaluator_id = fields.String()
    evaluated_on = fields.Date()


class ChildEvaluationView(Schema):
    outcome = fields.String()
    child_view = fields.String(allow_none=True)
    evaluated_on = fields.Date()


class MeasureView(Schema):
    id = fields.String()
    title = fields.String()
    description = fields.String()
    goal = fields.String()
    responsible_id = fields.String()
    proposer_id = fields.String()
    proposer_role = fields.String()
    arena = fields.String()
    start_date = fields.Date()
    evaluate_by = fields.Date()
    status = fields.String()
    latest_outcome = fields.String(allow_none=True)
    overdue = fields.Boolean()
    meeting_id = fields.String(allow_none=True)
    version = fields.Integer()
    evaluations = fields.List(fields.Nested(EvaluationView))


class ChildMeasureView(Schema):
    id = fields.String()
    title = fields.String()
    goal = fields.String()
    responsible_id = fields.String()
    proposer_role = fields.String()
    arena = fields.String()
    evaluate_by = fields.Date()
    status = fields.String()
    latest_outcome = fields.String(allow_none=True)
    evaluations = fields.List(fields.Nested(ChildEvaluationView))


class MeetingView(Schema):
    id = fields.String()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime(allow_none=True)
    mode = fields.String()
    place = fields.String(allow_none=True)
    agenda = fields.String()
    minutes = fields.String(allow_none=True)
    invited = fields.List(fields.String())
    attended = fields.List(fields.String())
    version = fields.Integer()


class ChildMeetingView(Schema):
    id = fields.String()
    starts_at = UtcDateTime()
    mode = fields.String()
    place = fields.String(allow_none=True)
    agenda = fields.String()


class EntryView(Schema):
    id = fields.String()
    kind = fields.String()
    visibility = fields.String()
    text = fields.String()
    author_id = fields.String()
    created_at = UtcDateTime()


class CitizenEntryView(Schema):
    id = fields.String()
    kind = fields.String()
    text = fields.String()
    author_id = fields.String()
    created_at = UtcDateTime()


class ProposalView(Schema):
    id = fields.String()
    proposer_id = fields.String()
    proposer_role = fields.String()
    title = fields.String()
    description = fields.String()
    goal = fields.String()
    arena = fields.String()
    status = fields.String()
    decline_reason = fields.String(allow_none=True)
    measure_id = fields.String(allow_none=True)
    created_at = UtcDateTime()
    answered_at = UtcDateTime(allow_none=True)


class LevelView(Schema):
    level = fields.Integer()
    changed_at = UtcDateTime()


class LogStaffView(Schema):
    id = fields.String()
    child_id = fields.String()
    status = fields.String()
    level = fields.Integer()
    level_history = fields.List(fields.Nested(LevelView))
    opened_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)
    version = fields.Integer()
    viewer_role = fields.String()
    viewer_participant_id = fields.String()
    participants = fields.List(fields.Nested(ParticipantStaffView))
    measures = fields.List(fields.Nested(MeasureView))
    meetings = fields.List(fields.Nested(MeetingView))
    entries = fields.List(fields.Nested(EntryView))
    proposals = fields.List(fields.Nested(ProposalView))


class LogGuardianView(Schema):
    id = fields.String()
    status = fields.String()
    level = fields.Integer()
    opened_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)
    version = fields.Integer()
    viewer_role = fields.String()
    viewer_participant_id = fields.String()
    participants = fields.List(fields.Nested(ParticipantCitizenView))
    measures = fields.List(fields.Nested(MeasureView))
    meetings = fields.List(fields.Nested(MeetingView))
    entries = fields.List(fields.Nested(CitizenEntryView))
    proposals = fields.List(fields.Nested(ProposalView))


class LogChildView(Schema):
    id = fields.String()
    status = fields.String()
    viewer_role = fields.String()
    viewer_participant_id = fields.String()
    participants = fields.List(fields.Nested(ParticipantCitizenView))
    measures = fields.List(fields.Nested(ChildMeasureView))
    meetings = fields.List(fields.Nested(ChildMeetingView))
    entries = fields.List(fields.Nested(CitizenEntryView))
    proposals = fields.List(fields.Nested(ProposalView))


VIEWS = {"staff": LogStaffView, "guardian": LogGuardianView, "child": LogChildView}
MEASURE_VIEWS = {"staff": MeasureView, "guardian": MeasureView, "child": ChildMeasureView}
MEETING_VIEWS = {"staff": MeetingView, "guardian": MeetingView, "child": ChildMeetingView}
ENTRY_VIEWS = {"staff": EntryView, "guardian": CitizenEntryView, "child": CitizenEntryView}


class LogSummary(Schema):
    id = fields.String()
    child_id = fields.String()
    status = fields.String()
    level = fields.Integer()
    viewer_role = fields.String()
    open_measures = fields.Integer()
    overdue_measures = fields.Integer()
    red_measures = fields.Integer()


class TimelineItem(Schema):
    at = UtcDateTime()
    kind = fields.String()
    object_id = fields.String()
    title = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)


class AccessRecordView(Schema):
    at = UtcDateTime()
    who = fields.String()
    role = fields.String(allow_none=True)
    agency_type = fields.String(allow_none=True)
    action = fields.String()
    outcome = fields.String()
