"""Contracts of the logs service.

Input schemas raise field errors. Output views are strict per viewer (minimisation):
staff get the working view, guardians the same in plain terms without internal person ids
or staff-only entries, the child a smaller view. Tests pin their exact field sets.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from stafett.errors import coded
from stafett.fields import Text, UtcDateTime

ARENAS = ("home", "school", "kindergarten", "health", "leisure", "other")
MEASURE_STATUSES = ("planned", "active", "completed", "stopped")
OUTCOMES = ("green", "yellow", "red")
MEETING_MODES = ("in_person", "video", "phone")
ENTRY_KINDS = ("note", "child_voice", "bright_spot")
VISIBILITIES = ("all", "staff")


# -- input ----------------------------------------------------------------------------------

class OpenLogIn(Schema):
    child_id = Text(required=True)
    level = fields.Integer(load_default=1, validate=validate.Range(0, 3))


class LogUpdateIn(Schema):
    level = fields.Integer(required=True, validate=validate.Range(0, 3))


class CloseLogIn(Schema):
    reason = Text(required=True, validate=validate.Length(3, 2000))


class StafettholderIn(Schema):
    participant_id = Text(required=True)


class ParticipantIn(Schema):
    person_id = Text(required=True)
    active_until = fields.Date(load_default=None)


class MeasureIn(Schema):
    title = Text(required=True, validate=validate.Length(1, 200))
    description = Text(load_default="", validate=validate.Length(0, 4000))
    goal = Text(required=True, validate=validate.Length(1, 2000))
    responsible_id = Text(required=True)
    arena = Text(required=True, validate=validate.OneOf(ARENAS))
    start_date = fields.Date(required=True)
    evaluate_by = fields.Date(required=True)
    status = Text(load_default="planned", validate=validate.OneOf(MEASURE_STATUSES))


class MeasureUpdateIn(Schema):
    title = Text(validate=validate.Length(1, 200))
    description = Text(validate=validate.Length(0, 4000))
    goal = Text(validate=validate.Length(1, 2000))
    responsible_id = Text()
    arena = Text(validate=validate.OneOf(ARENAS))
    evaluate_by = fields.Date()
    status = Text(validate=validate.OneOf(MEASURE_STATUSES))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError(coded("log.nothing_to_change",
                                        "send at least one field to change"), "_schema")


class EvaluationIn(Schema):
    outcome = Text(required=True, validate=validate.OneOf(OUTCOMES))
    text = Text(required=True, validate=validate.Length(1, 4000))
    child_view = Text(load_default=None, validate=validate.Length(0, 4000))
    evaluated_on = fields.Date(load_default=None)


class MeetingIn(Schema):
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(load_default=None)
    mode = Text(required=True, validate=validate.OneOf(MEETING_MODES))
    place = Text(load_default=None, validate=validate.Length(0, 200))
    agenda = Text(load_default="", validate=validate.Length(0, 4000))
    invited = fields.List(Text(), required=True, validate=validate.Length(1, 50))


class DecisionIn(MeasureIn):
    """A decision in the minutes that becomes a measure in the same step."""


class MinutesIn(Schema):
    minutes = Text(required=True, validate=validate.Length(1, 20000))
    attended = fields.List(Text(), load_default=list)
    decisions = fields.List(fields.Nested(DecisionIn), load_default=list,
                            validate=validate.Length(0, 20))


class EntryIn(Schema):
    kind = Text(required=True, validate=validate.OneOf(ENTRY_KINDS))
    text = Text(required=True, validate=validate.Length(1, 4000))
    visibility = Text(load_default="all", validate=validate.OneOf(VISIBILITIES))


class ProposalIn(Schema):
    title = Text(required=True, validate=validate.Length(1, 200))
    description = Text(load_default="", validate=validate.Length(0, 4000))
    goal = Text(load_default="", validate=validate.Length(0, 2000))
    arena = Text(required=True, validate=validate.OneOf(ARENAS))


class ProposalAcceptIn(Schema):
    responsible_id = Text(required=True)
    start_date = fields.Date(required=True)
    evaluate_by = fields.Date(required=True)
    goal = Text(validate=validate.Length(1, 2000))


class ProposalDeclineIn(Schema):
    reason = Text(required=True, validate=validate.Length(3, 2000))


# -- views ----------------------------------------------------------------------------------

class ParticipantStaffView(Schema):
    id = Text()
    person_id = Text()
    kind = Text()
    role = Text()
    display_name = Text()
    title = Text(allow_none=True)
    agency = Text(allow_none=True)
    agency_type = Text(allow_none=True)
    active_from = fields.Date()
    active_until = fields.Date(allow_none=True)
    read_only_until = fields.Date(allow_none=True)


class ParticipantCitizenView(Schema):
    """Guardians and the child see who takes part and in which role, not internal ids."""
    id = Text()
    kind = Text()
    role = Text()
    display_name = Text()
    title = Text(allow_none=True)
    agency_type = Text(allow_none=True)


class EvaluationView(Schema):
    id = Text()
    outcome = Text()
    text = Text()
    child_view = Text(allow_none=True)
    evaluator_id = Text()
    evaluated_on = fields.Date()


class ChildEvaluationView(Schema):
    outcome = Text()
    child_view = Text(allow_none=True)
    evaluated_on = fields.Date()


class MeasureView(Schema):
    id = Text()
    title = Text()
    description = Text()
    goal = Text()
    responsible_id = Text()
    proposer_id = Text()
    proposer_role = Text()
    arena = Text()
    start_date = fields.Date()
    evaluate_by = fields.Date()
    status = Text()
    latest_outcome = Text(allow_none=True)
    overdue = fields.Boolean()
    meeting_id = Text(allow_none=True)
    version = fields.Integer()
    evaluations = fields.List(fields.Nested(EvaluationView), metadata={
        "description": "the latest 3 evaluations, newest first (by the day evaluated)"})
    evaluation_total = fields.Integer(metadata={"description": "how many it has"})
    evaluations_next_cursor = Text(allow_none=True, metadata={
        "description": "cursor for GET …/measures/{id}/evaluations to the older ones"})


class ChildMeasureView(Schema):
    id = Text()
    title = Text()
    goal = Text()
    responsible_id = Text()
    proposer_role = Text()
    arena = Text()
    evaluate_by = fields.Date()
    status = Text()
    latest_outcome = Text(allow_none=True)
    evaluations = fields.List(fields.Nested(ChildEvaluationView))
    evaluation_total = fields.Integer()
    evaluations_next_cursor = Text(allow_none=True)


class MeetingView(Schema):
    id = Text()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime(allow_none=True)
    mode = Text()
    place = Text(allow_none=True)
    agenda = Text()
    minutes = Text(allow_none=True)
    invited = fields.List(Text())
    attended = fields.List(Text())
    version = fields.Integer()


class ChildMeetingView(Schema):
    id = Text()
    starts_at = UtcDateTime()
    mode = Text()
    place = Text(allow_none=True)
    agenda = Text()


class EntryView(Schema):
    id = Text()
    kind = Text()
    visibility = Text()
    text = Text()
    author_id = Text()
    created_at = UtcDateTime()


class CitizenEntryView(Schema):
    id = Text()
    kind = Text()
    text = Text()
    author_id = Text()
    created_at = UtcDateTime()


class ProposalView(Schema):
    id = Text()
    proposer_id = Text()
    proposer_role = Text()
    title = Text()
    description = Text()
    goal = Text()
    arena = Text()
    status = Text()
    decline_reason = Text(allow_none=True)
    measure_id = Text(allow_none=True)
    created_at = UtcDateTime()
    answered_at = UtcDateTime(allow_none=True)


class ListInfo(Schema):
    """One of a log's lists, of which the log's view embeds the newest 20."""
    total = fields.Integer(metadata={"description": "how many the viewer may see"})
    next_cursor = Text(allow_none=True, metadata={
        "description": "cursor to the next page of the list, null when all are embedded"})
    next = Text(allow_none=True, metadata={
        "description": "the next page's path (limit 20), null when all are embedded"})


class LogLists(Schema):
    entries = fields.Nested(ListInfo)
    measures = fields.Nested(ListInfo)
    meetings = fields.Nested(ListInfo)
    proposals = fields.Nested(ListInfo)


#: what a log's view says of its lists
LISTS_DESCRIPTION = ("each list in the view holds its newest 20 (meetings: the latest "
                     "planned); here are their totals and the links to the rest")


class LevelView(Schema):
    level = fields.Integer()
    changed_at = UtcDateTime()


def _may(what: str) -> fields.Boolean:
    return fields.Boolean(metadata={"description": f"the viewer may {what} now (the logs "
                                                   "service's rule; false in a closed log)"})


#: the log's can_* flags (domain.permissions) and what each lets the viewer do
MAY = {"can_edit": "change measures (update_measure)", "can_add_measure": "add measures",
       "can_evaluate": "evaluate measures", "can_schedule_meeting": "schedule meetings",
       "can_record_minutes": "record the minutes of meetings",
       "can_add_entry": "add entries (of the kinds in entry_kinds)",
       "can_propose": "propose measures (the child and the guardians)",
       "can_answer_proposals": "accept or decline proposals",
       "can_add_participant": "add participants",
       "can_remove_participant": "remove participants", "can_change_level": "change the level",
       "can_close": "close the log",
       "can_pass_baton": "pass the stafettholder role on (set_stafettholder, a handover)",
       "can_take_baton": "take the baton: the log has no stafettholder (set_stafettholder, "
                         "naming themselves or another who can act)",
       "can_read_access_log": "read the log's access log"}

#: What the viewer may do in the log, as the logs service decides it (domain.permissions):
#: clients show an action by its flag and repeat no role rule.
LogPermissions = Schema.from_dict({
    "audience": Text(metadata={"description": "whose view this is: staff, guardian or child "
                                              "(its field set, and the words a client uses)"}),
    "entry_kinds": fields.List(Text(), metadata={
        "description": "the kinds of entry the viewer may add (staff: any; guardians: note, "
                       "bright_spot; the child: child_voice, bright_spot)"}),
    **{name: _may(what) for name, what in MAY.items()}}, name="LogPermissions")


class LogStaffView(LogPermissions):
    id = Text()
    child_id = Text()
    status = Text()
    level = fields.Integer()
    level_history = fields.List(fields.Nested(LevelView), metadata={
        "description": "the latest 20 level changes, oldest first (the timeline has all)"})
    opened_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)
    close_reason = Text(allow_none=True)
    version = fields.Integer()
    viewer_role = Text()
    viewer_participant_id = Text()
    stafettholder_id = Text(allow_none=True, metadata={
        "description": "the participant holding the stafettholder role who can act; null: "
                       "the log has no stafettholder until someone takes the baton"})
    participants = fields.List(fields.Nested(ParticipantStaffView))
    measures = fields.List(fields.Nested(MeasureView))
    meetings = fields.List(fields.Nested(MeetingView))
    entries = fields.List(fields.Nested(EntryView))
    proposals = fields.List(fields.Nested(ProposalView))
    lists = fields.Nested(LogLists, metadata={"description": LISTS_DESCRIPTION})


class LogGuardianView(LogPermissions):
    id = Text()
    status = Text()
    level = fields.Integer()
    opened_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)
    close_reason = Text(allow_none=True)
    version = fields.Integer()
    viewer_role = Text()
    viewer_participant_id = Text()
    stafettholder_id = Text(allow_none=True, metadata={
        "description": "the participant holding the stafettholder role who can act; null: "
                       "the log has no stafettholder until someone takes the baton"})
    participants = fields.List(fields.Nested(ParticipantCitizenView))
    measures = fields.List(fields.Nested(MeasureView))
    meetings = fields.List(fields.Nested(MeetingView))
    entries = fields.List(fields.Nested(CitizenEntryView))
    proposals = fields.List(fields.Nested(ProposalView))
    lists = fields.Nested(LogLists, metadata={"description": LISTS_DESCRIPTION})


class LogChildView(LogPermissions):
    id = Text()
    status = Text()
    viewer_role = Text()
    viewer_participant_id = Text()
    stafettholder_id = Text(allow_none=True, metadata={
        "description": "the participant holding the stafettholder role who can act; null: "
                       "the log has no stafettholder until someone takes the baton"})
    participants = fields.List(fields.Nested(ParticipantCitizenView))
    measures = fields.List(fields.Nested(ChildMeasureView))
    meetings = fields.List(fields.Nested(ChildMeetingView))
    entries = fields.List(fields.Nested(CitizenEntryView))
    proposals = fields.List(fields.Nested(ProposalView))
    lists = fields.Nested(LogLists, metadata={"description": LISTS_DESCRIPTION})


VIEWS = {"staff": LogStaffView, "guardian": LogGuardianView, "child": LogChildView}
MEASURE_VIEWS = {"staff": MeasureView, "guardian": MeasureView, "child": ChildMeasureView}
MEETING_VIEWS = {"staff": MeetingView, "guardian": MeetingView, "child": ChildMeetingView}
ENTRY_VIEWS = {"staff": EntryView, "guardian": CitizenEntryView, "child": CitizenEntryView}
EVALUATION_VIEWS = {"staff": EvaluationView, "guardian": EvaluationView,
                    "child": ChildEvaluationView}


class LogSummary(Schema):
    id = Text()
    child_id = Text()
    status = Text()
    level = fields.Integer()
    viewer_role = Text()
    open_measures = fields.Integer()
    overdue_measures = fields.Integer()
    red_measures = fields.Integer()


class TimelineItem(Schema):
    at = UtcDateTime()
    kind = Text()
    object_id = Text()
    title = Text(allow_none=True)
    detail = Text(allow_none=True)


class AccessRecordView(Schema):
    at = UtcDateTime()
    who = Text()
    role = Text(allow_none=True)
    agency_type = Text(allow_none=True)
    action = Text()
    outcome = Text()
    #: the child's case has a protective address code ("skjermet" to the family)
    protected = fields.Boolean()
