"""The web client's forms: fields, what a person typed, and messages next to the fields.

A ``Form`` is a list of ``Field``s. ``Form.read(formdata)`` keeps exactly what was typed
(``values``) and checks the basics in bokmål (required, length, dates, choices); the page
then builds the RPC payload from the values. When the owning service still refuses the
input (``ValidationFailed`` with field ``error_codes``), ``Form.take_service_errors`` looks
its codes up in the bokmål catalogue (``gateway/web/messages.py``; never the English
messages) and puts the texts on the matching fields, so the page re-renders the form with
the typed values kept and the message next to each field (``aria-describedby`` and
``aria-invalid`` in templates/macros.html).

Forms are rendered with ``novalidate``: the browser's own validation bubbles speak the
browser's language and vanish; ours stay next to the field, in bokmål.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from gateway.web import messages
from stafett.errors import (FIELD_INVALID, Conflict, Forbidden, PreconditionFailed,
                            PreconditionRequired, StafettError, ValidationFailed, flatten)

REQUIRED = "Fyll ut {label_lower}."
CHOOSE = "Velg {label_lower}."


@dataclass
class Field:
    name: str
    label: str
    kind: str = "text"          # text | textarea | date | time | select | radio | checkboxes | hidden | password
    required: bool = False
    hint: str | None = None
    max_length: int | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    #: for radio/checkboxes: a longer text per choice (shown under the choice)
    choice_hints: dict[str, str] = field(default_factory=dict)
    #: for radio: an icon per choice (outcome colours), see macros.html
    choice_icons: dict[str, str] = field(default_factory=dict)
    autocomplete: str | None = None
    inputmode: str | None = None
    rows: int = 5
    #: what to say when a required field is left empty (default: "Fyll ut …" / "Velg …")
    missing: str | None = None
    #: fields in a row with the same group are shown together, under it as a legend
    group: str | None = None

    @property
    def id(self) -> str:
        return "felt-" + self.name.replace("_", "-")

    @property
    def multiple(self) -> bool:
        return self.kind == "checkboxes"


class Form:
    def __init__(self, *fields: Field, values: dict | None = None):
        self.fields = list(fields)
        self.values: dict = dict(values or {})
        self.errors: dict[str, list[str]] = {}
        self.general: list[str] = []

    def __getitem__(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def __contains__(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general

    def error(self, name: str, message: str) -> None:
        if name in self:
            self.errors.setdefault(name, []).append(message)
        else:
            self.general.append(message)

    def read(self, formdata) -> "Form":
        """Take what was typed (kept as typed) and check the basics."""
        for f in self.fields:
            if f.multiple:
                raw = [v for v in formdata.getlist(f.name) if v]
                self.values[f.name] = raw
                allowed = {c for c, _ in f.choices}
                if f.required and not raw:
                    self.error(f.name, f.missing or CHOOSE.format(label_lower=_lower(f.label)))
                elif allowed and any(v not in allowed for v in raw):
                    self.error(f.name, "Velg bare blant alternativene som vises.")
                continue
            value = (formdata.get(f.name) or "").strip() if f.kind != "textarea" else (
                formdata.get(f.name) or "").strip("\r\n ")
            self.values[f.name] = value
            if not value:
                if f.required:
                    template = CHOOSE if f.kind in ("select", "radio") else REQUIRED
                    self.error(f.name, f.missing or template.format(label_lower=_lower(f.label)))
                continue
            if f.max_length and len(value) > f.max_length:
                self.error(f.name, f"Teksten kan være høyst {f.max_length} tegn "
                                   f"(nå {len(value)}).")
            if f.kind in ("select", "radio") and f.choices and value not in {c for c, _ in f.choices}:
                self.error(f.name, "Velg et av alternativene som vises.")
            if f.kind == "date" and parse_date(value) is None:
                self.error(f.name, "Skriv datoen som dd.mm.åååå, for eksempel 14.03.2026.")
            if f.kind == "time" and parse_time(value) is None:
                self.error(f.name, "Skriv klokkeslettet som tt:mm, for eksempel 14:00.")
        return self

    def date(self, name: str) -> str | None:
        parsed = parse_date(self.values.get(name) or "")
        return parsed.isoformat() if parsed else None

    def text(self, name: str) -> str:
        return self.values.get(name) or ""

    def take_service_errors(self, exc: StafettError, aliases: dict | None = None) -> None:
        """The service's refusal as bokmål messages on the fields (or over the form)."""
        aliases = aliases or {}
        if isinstance(exc, NonexistentTime):
            self.error(aliases.get(exc.key, exc.key), exc.text)
            return
        if isinstance(exc, ValidationFailed) and exc.errors:
            for key, texts in field_texts(exc).items():
                name = aliases.get(key, aliases.get(key.split(".")[0], key.split(".")[0]))
                for text in texts:
                    self.error(name, text)
            if self.ok:
                self.general.append(GENERIC_INVALID)
            return
        self.general.append(problem_text(exc))


GENERIC_INVALID = "Noe i skjemaet ble ikke godtatt. Sjekk feltene og prøv igjen."


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if label[:2] != label[:2].upper() else label


def field_texts(exc: ValidationFailed) -> dict[str, list[str]]:
    """The field errors as bokmål, by their codes (``exc.error_codes``), never by the
    English messages: ``{"a.b": [text]}``."""
    codes = exc.error_codes or {key: [FIELD_INVALID] * len(messages)
                                for key, messages in flatten(exc.errors).items()}
    texts = {}
    for key, field_codes in codes.items():
        params = exc.error_params.get(key) or []
        texts[key] = [messages.field_message(code, params[i] if i < len(params) else None)
                      for i, code in enumerate(field_codes)]
    return texts


def problem_text(exc: StafettError) -> str:
    """The refusal as bokmål, by its code; by its kind when the code is not in the
    catalogue."""
    text = messages.problem_message(exc.code)
    if text:
        return text
    if isinstance(exc, (PreconditionFailed, PreconditionRequired)):
        return messages.PROBLEM_MESSAGES["version.changed"]
    if isinstance(exc, Conflict):
        return messages.PROBLEM_MESSAGES["state.conflict"]
    if isinstance(exc, Forbidden):
        return messages.PROBLEM_MESSAGES["access.forbidden"]
    return GENERIC_INVALID


# -- values -----------------------------------------------------------------------------------

def parse_date(value: str) -> date | None:
    """ISO (from <input type=date>) or Norwegian dd.mm.åååå."""
    value = (value or "").strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", value)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def parse_time(value: str) -> time | None:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", (value or "").strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def local_datetime(day: str, clock: str, zone, key: str = "starts_at") -> str | None:
    """The instant a date and a time field name in Norwegian time (``zone``), as an ISO
    datetime in UTC: 14:00 is 13:00Z in winter and 12:00Z in summer.

    The hour that comes twice on the last Sunday of October (02:00-02:59) is read as the
    first one, in summer time (``fold=0``). A time in the hour that is skipped on the last
    Sunday of March (02:00-02:59) does not exist: ``NonexistentTime`` on field ``key``."""
    parsed_day, parsed_time = parse_date(day), parse_time(clock)
    if parsed_day is None or parsed_time is None:
        return None
    moment = datetime.combine(parsed_day, parsed_time, tzinfo=zone)
    back = moment.astimezone(timezone.utc).astimezone(zone)
    if (back.date(), back.time()) != (moment.date(), moment.time()):
        raise NonexistentTime(key, moment)
    return moment.astimezone(timezone.utc).isoformat()


class NonexistentTime(ValidationFailed):
    """A wall time the clocks skip (spring forward), found by the web client itself: the
    form shows ``text`` next to the time field, like a service's refusal."""

    def __init__(self, key: str, moment: datetime):
        super().__init__("no such time in Europe/Oslo", {key: ["no such time"]})
        self.key = key
        self.text = (f"Klokkeslettet finnes ikke denne dagen: klokka stilles fram fra 02.00 "
                     f"til 03.00 natt til {moment.day}. mars. Velg et annet klokkeslett.")
