"""Contracts of the notifications service."""
from __future__ import annotations

from marshmallow import Schema, fields


class NotificationView(Schema):
    id = fields.String()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    link = fields.String()
    log_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read = fields.Method("_read")

    def _read(self, notification):
        return notification.read_at is not None
