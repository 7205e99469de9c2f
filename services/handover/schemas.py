"""Contracts of the handover service (marshmallow). Input schemas raise field errors.

Views are per viewer (minimisation): staff on either side get ``HandoverView`` (the
summary only when ``domain.shows_summary`` says so, never the log); those who consent for
the child get ``HandoverCitizenView``, which says where the log is going and why, without
internal staff ids or the summary.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.handover.domain import STATES, TRANSITION_KINDS
from stafett.fields import Text, UtcDateTime

DATE = {"format": "date"}
DATE_TIME = {"format": "date-time"}


# -- input ------------------------------------------------------------------------------------

class HandoverIn(Schema):
    log_id = Text(required=True, validate=validate.Length(1, 36))
    to_agency = Text(required=True, validate=validate.Regexp(
        r"^\d{9}$", error="an organisation number: nine digits"))
    transition = Text(required=True, validate=validate.OneOf(TRANSITION_KINDS))
    to_person_id = Text(load_default=None, allow_none=True,
                                 validate=validate.Length(1, 36))
    note = Text(load_default=None, allow_none=True, validate=validate.Length(0, 2000))


class AcceptIn(Schema):
    new_stafettholder_person_id = Text(required=True, validate=validate.Length(1, 36))
    #: further staff of the receiving agency to take part in the log
    participant_person_ids = fields.List(Text(validate=validate.Length(1, 36)),
                                         load_default=list, validate=validate.Length(0, 10))


class DeclineIn(Schema):
    reason = Text(required=True, validate=validate.Length(3, 2000))


class CancelIn(Schema):
    reason = Text(load_default=None, allow_none=True,
                           validate=validate.Length(0, 2000))


class ListIn(Schema):
    direction = Text(load_default=None, allow_none=True,
                              validate=validate.OneOf(("incoming", "outgoing")))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


# -- the summary (compiled by the logs service; only these fields are passed on) ---------------

class ActiveMeasure(Schema):
    title = Text()
    goal = Text()
    arena = Text()
    responsible_role = Text(allow_none=True)
    responsible_agency_type = Text(allow_none=True)
    start_date = Text(allow_none=True, metadata=DATE)
    evaluate_by = Text(allow_none=True, metadata=DATE)
    latest_outcome = Text(allow_none=True)


class EvaluatedMeasure(Schema):
    title = Text()
    outcome = Text()
    evaluated_on = Text(allow_none=True, metadata=DATE)
    text = Text(allow_none=True)


class DatedText(Schema):
    text = Text()
    created_at = Text(allow_none=True, metadata=DATE_TIME)


class HandoverSummary(Schema):
    compiled_at = Text(allow_none=True, metadata=DATE_TIME)
    level = fields.Integer(allow_none=True)
    active_measures = fields.List(fields.Nested(ActiveMeasure))
    what_worked = fields.List(fields.Nested(EvaluatedMeasure))
    what_did_not = fields.List(fields.Nested(EvaluatedMeasure))
    child_voice = fields.List(fields.Nested(DatedText))
    open_questions = fields.List(fields.Nested(DatedText))


class ChildRef(Schema):
    id = Text()
    name = Text(allow_none=True)  # null in a protected case before acceptance
    birth_date = Text(metadata=DATE)


# -- views ------------------------------------------------------------------------------------

def _may(what: str) -> fields.Boolean:
    return fields.Boolean(metadata={"description": f"the viewer may {what} now (the "
                                                   "handover service's rule)"})


#: what staff may do with the handover (domain.permissions), and whether they see names
StaffPermissions = Schema.from_dict({
    **{name: _may(what) for name, what in (
        ("can_accept", "accept it (the receiver, while it awaits acceptance)"),
        ("can_decline", "decline it (the receiver, while it awaits acceptance)"),
        ("can_cancel", "cancel it (the requester, before acceptance)"))},
    "direct_role": fields.Boolean(metadata={
        "description": "the viewer has a direct role in the child's case (the requester; the "
                       "receiver once it accepted): in a protected case only they see names"})},
    name="HandoverStaffPermissions")


class HandoverView(StaffPermissions):
    id = Text()
    log_id = Text()
    child_id = Text(allow_none=True)
    child = fields.Nested(ChildRef, allow_none=True)
    from_agency = Text()
    from_agency_type = Text(allow_none=True)
    to_agency = Text()
    to_agency_type = Text(allow_none=True)
    to_person_id = Text(allow_none=True)
    transition = Text(metadata={"enum": list(TRANSITION_KINDS)})
    status = Text(metadata={"enum": list(STATES)})
    viewer_role = Text(metadata={"enum": ["requester", "receiver"]})
    requested_by_person_id = Text(allow_none=True)
    note = Text(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    expires_at = UtcDateTime(allow_none=True)
    offered_at = UtcDateTime(allow_none=True)
    accepted_at = UtcDateTime(allow_none=True)
    accepted_by_person_id = Text(allow_none=True)
    new_stafettholder_person_id = Text(allow_none=True)
    receiving_person_ids = fields.List(Text(), allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    ended_at = UtcDateTime(allow_none=True)
    reason = Text(allow_none=True)
    reason_code = Text(allow_none=True)
    version = fields.Integer()
    summary = fields.Nested(HandoverSummary, allow_none=True)


class HandoverCitizenView(Schema):
    id = Text()
    child_id = Text(allow_none=True)
    from_agency = Text()
    to_agency = Text()
    transition = Text(metadata={"enum": list(TRANSITION_KINDS)})
    status = Text(metadata={"enum": list(STATES)})
    viewer_role = Text(metadata={"enum": ["consenting_party"]})
    created_at = UtcDateTime()
    expires_at = UtcDateTime(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    reason_code = Text(allow_none=True)
    can_consent = _may("give the consent the request waits for (those the consent service "
                       "names)")
