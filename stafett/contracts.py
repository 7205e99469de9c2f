"""Loading a request against its contract (a marshmallow schema), the same in every service."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from stafett import fields as text_fields
from stafett.errors import FIELD_INVALID, ValidationFailed, flatten

#: marshmallow's own messages (its templates, read from the library, up to the first
#: placeholder) -> our field codes; a message made with ``stafett.errors.coded`` names
#: its own code, anything else is ``field.invalid``
_TEMPLATES = [
    (fields.Field.default_error_messages["required"], "field.required"),
    (fields.Field.default_error_messages["null"], "field.required"),
    (Schema._default_error_messages["unknown"], "field.unknown"),
    (Schema._default_error_messages["type"], "field.not_an_object"),
    (fields.Nested.default_error_messages["type"], "field.not_an_object"),
    (text_fields.Text().error_messages["invalid"], "field.not_a_string"),
    (text_fields.Text().error_messages["invalid_utf8"], "field.not_a_string"),
    (fields.Integer.default_error_messages["invalid"], "field.not_a_number"),
    (fields.Number.default_error_messages["invalid"], "field.not_a_number"),
    (fields.Number.default_error_messages["too_large"], "field.out_of_range"),
    (fields.Boolean.default_error_messages["invalid"], "field.not_a_boolean"),
    (fields.List.default_error_messages["invalid"], "field.not_a_list"),
    (fields.Date.default_error_messages["invalid"], "date.invalid"),
    (fields.DateTime.default_error_messages["invalid"].format(obj_type="datetime"),
     "datetime.invalid"),
    (fields.DateTime.default_error_messages["invalid_awareness"].format(
        awareness="aware", obj_type="datetime"), "datetime.invalid"),
    (text_fields.Email().error_messages["invalid"], "email.invalid"),
    (text_fields.Url().error_messages["invalid"], "url.invalid"),
    (validate.OneOf.default_message, "field.not_a_choice"),
    (validate.ContainsOnly.default_message, "field.not_a_choice"),
    (validate.Length.message_all, "text.length"),
    (validate.Length.message_equal, "text.length"),
    (validate.Length.message_max, "text.length"),
    (validate.Length.message_min, "text.length"),
    (validate.Range.message_all.split("{")[0], "field.out_of_range"),
    (validate.Regexp.default_message, "field.invalid"),
]
TEMPLATES = [(template.split("{")[0], code) for template, code in _TEMPLATES]


def message_code(message) -> str:
    """The field code of one of marshmallow's messages (or one made with ``coded``)."""
    code = getattr(message, "code", None)
    if code:
        return code
    text = str(message)
    for prefix, code in TEMPLATES:
        if prefix and text.startswith(prefix):
            return code
    return FIELD_INVALID


def load(schema: Schema, payload):
    """``schema.load(payload)`` (an absent payload is an empty one); a field error becomes
    ``ValidationFailed`` with marshmallow's messages as the field ``errors`` and their
    codes as ``error_codes`` (422)."""
    try:
        return schema.load(payload or {})
    except ValidationError as exc:
        flat = flatten(exc.messages)
        codes = {name: [message_code(m) for m in messages] for name, messages in flat.items()}
        params = {name: [dict(getattr(m, "params", {}) or {}) for m in messages]
                  for name, messages in flat.items()
                  if any(getattr(m, "params", None) for m in messages)}
        raise ValidationFailed("the request has invalid fields", exc.messages,
                               error_codes=codes, error_params=params) from None
