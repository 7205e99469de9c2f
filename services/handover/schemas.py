"""Contracts of the handover service (marshmallow). Input schemas raise field errors.

Views are per viewer (minimisation): staff on either side get ``HandoverView`` (the
summary only when ``domain.shows_summary`` says so, never the log); those who consent for
the child get ``HandoverCitizenView``, which says where the log is going and why, without
internal staff ids or the summary.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.handover.domain import STATES, TRANSITION_KINDS
from stafett.fields import UtcDateTime

DATE = {"format": "date"}
DATE_TIME = {"format": "date-time"}


# -- input ------------------------------------------------------------------------------------

class HandoverIn(Schema):
    log_id = fields.String(required=True, validate=validate.Length(1, 36))
    to_agency = fields.String(required=True, validate=validate.Regexp(
        r"^\d{9}$", error="an organisation number: nine digits"))
    transition = fields.String(required=True, validate=validate.OneOf(TRANSITION_KINDS))
    to_person_id = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(1, 36))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, 2000))


class AcceptIn(Schema):
    new_stafettholder_person_id = fields.String(required=True, validate=validate.Length(1, 36))
    #: further staff of the receiving agency to take part in the log
    participant_person_ids = fields.List(fields.String(validate=validate.Length(1, 36)),
                                         load_default=list, validate=validate.Length(0, 10))


class DeclineIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(3, 2000))


class CancelIn(Schema):
    reason = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(0, 2000))


class ListIn(Schema):
    direction = fields.String(load_default=None, allow_none=True,
                              validate=validate.OneOf(("incoming", "outgoing")))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


# -- the summary (compiled by the logs service; only these fields are passed on) ---------------

class ActiveMeasure(Schema):
    title = fields.String()
    goal = fields.String()
    arena = fields.String()
    responsible_role = fields.String(allow_none=True)
    responsible_agency_type = fields.String(allow_none=True)
    start_date = fields.String(allow_none=True, metadata=DATE)
    evaluate_by = fields.String(allow_none=True, metadata=DATE)
    latest_outcome = fields.String(allow_none=True)


class EvaluatedMeasure(Schema):
    title = fields.String()
    outcome = fields.String()
    evaluated_on = fields.String(allow_none=True, metadata=DATE)
    text = fields.String(allow_none=True)


class DatedText(Schema):
    text = fields.String()
    created_at = fields.String(allow_none=True, metadata=DATE_TIME)


class HandoverSummary(Schema):
    compiled_at = fields.String(allow_none=True, metadata=DATE_TIME)
    level = fields.Integer(allow_none=True)
    active_measures = fields.List(fields.Nested(ActiveMeasure))
    what_worked = fields.List(fields.Nested(EvaluatedMeasure))
    what_did_not = fields.List(fields.Nested(EvaluatedMeasure))
    child_voice = fields.List(fields.Nested(DatedText))
    open_questions = fields.List(fields.Nested(DatedText))


class ChildRef(Schema):
    id = fields.String()
    name = fields.String()
    birth_date = fields.String(metadata=DATE)


# -- views ------------------------------------------------------------------------------------

class HandoverView(Schema):
    id = fields.String()
    log_id = fields.String()
    child_id = fields.String(allow_none=True)
    child = fields.Nested(ChildRef, allow_none=True)
    from_agency = fields.String()
    from_agency_type = fields.String(allow_none=True)
    to_agency = fields.String()
    to_agency_type = fields.String(allow_none=True)
    to_person_id = fields.String(allow_none=True)
    transition = fields.String(metadata={"enum": list(TRANSITION_KINDS)})
    status = fields.String(metadata={"enum": list(STATES)})
    viewer_role = fields.String(metadata={"enum": ["requester", "receiver"]})
    requested_by_person_id = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    expires_at = UtcDateTime(allow_none=True)
    offered_at = UtcDateTime(allow_none=True)
    accepted_at = UtcDateTime(allow_none=True)
    accepted_by_person_id = fields.String(allow_none=True)
    new_stafettholder_person_id = fields.String(allow_none=True)
    receiving_person_ids = fields.List(fields.String(), allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    ended_at = UtcDateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)
    version = fields.Integer()
    summary = fields.Nested(HandoverSummary, allow_none=True)


class HandoverCitizenView(Schema):
    id = fields.String()
    child_id = fields.String(allow_none=True)
    from_agency = fields.String()
    to_agency = fields.String()
    transition = fields.String(metadata={"enum": list(TRANSITION_KINDS)})
    status = fields.String(metadata={"enum": list(STATES)})
    viewer_role = fields.String(metadata={"enum": ["consenting_party"]})
    created_at = UtcDateTime()
    expires_at = UtcDateTime(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    reason_code = fields.String(allow_none=True)
