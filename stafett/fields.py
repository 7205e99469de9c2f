"""Marshmallow fields every service's contracts share."""
from __future__ import annotations

from marshmallow import fields

from stafett.events import as_utc


class UtcDateTime(fields.DateTime):
    """RFC 3339 with the UTC offset, also for the naive values SQLite hands back (the
    OpenAPI document promises ``date-time``, which needs an offset)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(as_utc(value), attr, obj, **kwargs)
