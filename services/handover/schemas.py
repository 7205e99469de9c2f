"""Contracts of the handover service."""
from __future__ import annotations

from marshmallow import Schema, fields


class HandoverView(Schema):
    id = fields.String()
    log_id = fields.String()
    from_agency = fields.String()
    to_agency = fields.String()
    transition = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    reason = fields.String(allow_none=True)
