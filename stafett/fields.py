"""Marshmallow fields every service's contracts share.

``Text`` is the only string field a schema uses (``tests/unit/test_text_fields.py`` fails
on a plain ``fields.String``): what people type is shown to other people, in pages,
e-mails, webhooks and FHIR documents, and stored in PostgreSQL, so a text field

- turns CRLF (what browsers send from a textarea) into LF;
- refuses every control character but tab and line feed (a lone CR too), so NUL, which
  PostgreSQL cannot store in text and which cuts strings short in C code, is never stored;
- refuses lone surrogates (``"\\ud800"`` is valid JSON, but no valid UTF-8, so no database
  can store it);
- refuses the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
  U+2066–U+2069): they are invisible, and make text read as something else where it is
  shown to others ("Trojan Source", CVE-2021-42574): a U+202E in a name or a measure title
  reverses what follows. Refused rather than stripped, because a record of what someone
  wrote about a child is stored as written or not at all; right-to-left scripts need none
  of them (the Unicode bidi algorithm orders them), and the harmless marks U+200E, U+200F
  and U+061C stay allowed.

Each refusal is a field error (422 naming the field) that says which character, by code
point, so a client can find an invisible one.
"""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields

from stafett.errors import coded
from stafett.events import as_utc

#: the field code of each refusal (``error_codes``; the code point is the ``char`` param)
TEXT_CODES = {"control": "text.control_character", "surrogate": "text.lone_surrogate",
              "bidi": "text.direction_control"}

#: control characters (C0 but tab and LF, DEL, C1), surrogates, bidi embeddings,
#: overrides and isolates
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


class Text(fields.String):
    """A string of what people write: CRLF made LF, then no control character but tab and
    LF, no lone surrogate, no bidi embedding, override or isolate (see the module)."""

    default_error_messages = {
        "control": "Not allowed: the control character {code} (only tab and line feed are).",
        "surrogate": "Not valid text: a lone surrogate ({code}) is no character.",
        "bidi": "Not allowed: the invisible direction control {code}, which can make text "
                "read as something else.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).replace("\r\n", "\n")
        match = FORBIDDEN.search(text)
        if match is not None:
            point = ord(match.group())
            kind = ("surrogate" if 0xD800 <= point <= 0xDFFF
                    else "bidi" if point >= 0x202A else "control")
            raise self.make_error(kind, code=f"U+{point:04X}")
        return text

    def make_error(self, key: str, **kwargs) -> ValidationError:
        error = super().make_error(key, **kwargs)
        if key in TEXT_CODES:
            return ValidationError(coded(TEXT_CODES[key], str(error.messages[0]),
                                         char=kwargs["code"]))
        return error


class Email(Text, fields.Email):
    """An e-mail address, with the text rules first."""


class Url(Text, fields.Url):
    """A URL, with the text rules first (a URL validator lets NUL through a path)."""


class UtcDateTime(fields.DateTime):
    """RFC 3339 with the UTC offset, also for the naive values SQLite hands back (the
    OpenAPI document promises ``date-time``, which needs an offset)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(as_utc(value), attr, obj, **kwargs)
