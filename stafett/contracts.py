"""Loading a request against its contract (a marshmallow schema), the same in every service."""
from __future__ import annotations

from marshmallow import Schema, ValidationError

from stafett.errors import ValidationFailed


def load(schema: Schema, payload):
    """``schema.load(payload)`` (an absent payload is an empty one); a field error becomes
    ``ValidationFailed`` with marshmallow's messages as the field ``errors`` (422)."""
    try:
        return schema.load(payload or {})
    except ValidationError as exc:
        raise ValidationFailed("the request has invalid fields", exc.messages)
