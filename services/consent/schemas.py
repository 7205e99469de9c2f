"""Contracts of the consent service (marshmallow). Input schemas raise field errors."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.consent.domain import AGENCY_TYPES, PAPER_KINDS
from stafett.fields import Text, UtcDateTime


class AgencyIn(Schema):
    org_number = Text(required=True)
    name = Text(required=True, validate=validate.Length(1, 200))
    type = Text(required=True, validate=validate.OneOf(AGENCY_TYPES))
    municipality = Text(required=True, validate=validate.Length(1, 100))


class AgencyOut(Schema):
    id = Text()
    org_number = Text()
    name = Text()
    type = Text()
    municipality = Text()


class ChildIn(Schema):
    """A registration: the child's national id only. Its name, birth date and who has
    parental responsibility come from the population register (domain.FROM_REGISTER)."""
    national_id = Text(required=True)


class ChildSearchIn(Schema):
    national_id = Text(required=True)


class StaffIn(Schema):
    issuer = Text(required=True)
    subject = Text(required=True)
    name = Text(required=True, validate=validate.Length(1, 200))
    agency = Text(required=True)  # organisation number
    title = Text(load_default=None)


class PersonRef(Schema):
    id = Text()
    name = Text(allow_none=True)


class ChildOut(Schema):
    """A child and its guardians with parental responsibility. In a protected case
    (``protected``: a protective address code) names are null for those with no direct
    role in it."""
    id = Text()
    name = Text(allow_none=True)
    birth_date = fields.Date()
    guardians = fields.List(fields.Nested(PersonRef))
    protected = fields.Boolean()
    can_consent = fields.Boolean(metadata={
        "description": "the viewer may give the child's consent (or replace the open one) "
                       "now: one of those who consent, by the consent service's age rule"})


class StaffOut(Schema):
    id = Text()
    name = Text()
    title = Text(allow_none=True)
    agency = Text()
    agency_type = Text()
    municipality = Text()


class ConsentScope(Schema):
    agencies = fields.List(Text(), load_default=list)
    agency_types = fields.List(Text(validate=validate.OneOf(AGENCY_TYPES)),
                               load_default=list)


class PaperForm(Schema):
    """A signed paper form that staff record on the consenting parties' behalf."""
    kind = Text(required=True, validate=validate.OneOf(PAPER_KINDS))
    # an archive reference, not free text: no room for names or numbers about the child
    reference = Text(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$", error="letters, digits and . _ / - (max 40)"))
    signed_by = fields.List(Text(), required=True, validate=validate.Length(1, 3))


class ConsentIn(Schema):
    scope = fields.Nested(ConsentScope, required=True)
    purpose = Text(required=True, validate=validate.Length(1, 1000))
    valid_from = fields.Date(load_default=None)
    valid_until = fields.Date(load_default=None)
    supersedes = Text(load_default=None)
    paper = fields.Nested(PaperForm, load_default=None)


class ConsentOut(Schema):
    id = Text()
    child_id = Text()
    status = Text()
    scope = fields.Method("_scope")
    purpose = Text()
    valid_from = fields.Date()
    valid_until = fields.Date()
    method = Text()
    consenting_party = Text()
    granted_by = fields.List(Text())
    paper_kind = Text(allow_none=True)
    paper_reference = Text(allow_none=True)
    recorded_by = Text(allow_none=True)
    supersedes_id = Text(allow_none=True)
    created_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)
    version = fields.Integer()
    can_withdraw = fields.Boolean(metadata={
        "description": "the viewer may withdraw it now (one of those who consent; open)"})
    can_approve = fields.Boolean(metadata={
        "description": "the viewer may add their approval now (pending; not yet theirs)"})

    def _scope(self, consent):
        return {"agencies": list(consent.scope_agencies),
                "agency_types": list(consent.scope_agency_types)}


class AgencyListOut(AgencyOut):
    pass
