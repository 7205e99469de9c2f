"""Contracts of the consent service (marshmallow). Input schemas raise field errors."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.consent.domain import AGENCY_TYPES, PAPER_KINDS
from stafett.fields import UtcDateTime


class AgencyIn(Schema):
    org_number = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    type = fields.String(required=True, validate=validate.OneOf(AGENCY_TYPES))
    municipality = fields.String(required=True, validate=validate.Length(1, 100))


class AgencyOut(Schema):
    id = fields.String()
    org_number = fields.String()
    name = fields.String()
    type = fields.String()
    municipality = fields.String()


class GuardianIn(Schema):
    national_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    parental_responsibility = fields.Boolean(load_default=True)


class ChildIn(Schema):
    national_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    guardians = fields.List(fields.Nested(GuardianIn), required=True,
                            validate=validate.Length(1, 2))


class ChildSearchIn(Schema):
    national_id = fields.String(required=True)


class StaffIn(Schema):
    issuer = fields.String(required=True)
    subject = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    agency = fields.String(required=True)  # organisation number
    title = fields.String(load_default=None)


class PersonRef(Schema):
    id = fields.String()
    name = fields.String()


class ChildOut(Schema):
    id = fields.String()
    name = fields.String()
    birth_date = fields.Date()
    guardians = fields.List(fields.Nested(PersonRef))


class StaffOut(Schema):
    id = fields.String()
    name = fields.String()
    title = fields.String(allow_none=True)
    agency = fields.String()
    agency_type = fields.String()
    municipality = fields.String()


class ConsentScope(Schema):
    agencies = fields.List(fields.String(), load_default=list)
    agency_types = fields.List(fields.String(validate=validate.OneOf(AGENCY_TYPES)),
                               load_default=list)


class PaperForm(Schema):
    """A signed paper form that staff record on the consenting parties' behalf."""
    kind = fields.String(required=True, validate=validate.OneOf(PAPER_KINDS))
    # an archive reference, not free text: no room for names or numbers about the child
    reference = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$", error="letters, digits and . _ / - (max 40)"))
    signed_by = fields.List(fields.String(), required=True, validate=validate.Length(1, 3))


class ConsentIn(Schema):
    scope = fields.Nested(ConsentScope, required=True)
    purpose = fields.String(required=True, validate=validate.Length(1, 1000))
    valid_from = fields.Date(load_default=None)
    valid_until = fields.Date(load_default=None)
    supersedes = fields.String(load_default=None)
    paper = fields.Nested(PaperForm, load_default=None)


class ConsentOut(Schema):
    id = fields.String()
    child_id = fields.String()
    status = fields.String()
    scope = fields.Method("_scope")
    purpose = fields.String()
    valid_from = fields.Date()
    valid_until = fields.Date()
    method = fields.String()
    consenting_party = fields.String()
    granted_by = fields.List(fields.String())
    paper_kind = fields.String(allow_none=True)
    paper_reference = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    supersedes_id = fields.String(allow_none=True)
    created_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)
    version = fields.Integer()

    def _scope(self, consent):
        return {"agencies": list(consent.scope_agencies),
                "agency_types": list(consent.scope_agency_types)}


class AgencyListOut(AgencyOut):
    pass
