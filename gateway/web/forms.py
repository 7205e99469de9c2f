"""The web client's forms: fields, what a person typed, and messages next to the fields.

A ``Form`` is a list of ``Field``s. ``Form.read(formdata)`` keeps exactly what was typed
(``values``) and checks the basics in bokmål (required, length, dates, choices); the page
then builds the RPC payload from the values. When the owning service still refuses the
input (``ValidationFailed`` with field ``errors``), ``Form.take_service_errors`` turns its
messages into bokmål ones on the matching fields, so the page re-renders the form with
the typed values kept and the message next to each field (``aria-describedby`` and
``aria-invalid`` in templates/macros.html).

Forms are rendered with ``novalidate``: the browser's own validation bubbles speak the
browser's language and vanish; ours stay next to the field, in bokmål.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from stafett.errors import (Conflict, Forbidden, PreconditionFailed, PreconditionRequired,
                            StafettError, ValidationFailed)

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
        if isinstance(exc, ValidationFailed) and exc.errors:
            for key, messages in flatten(exc.errors).items():
                name = aliases.get(key, aliases.get(key.split(".")[0], key.split(".")[0]))
                for message in messages:
                    self.error(name, translate(key, message))
            if self.ok:
                self.general.append(GENERIC_INVALID)
            return
        self.general.append(problem_text(exc))


GENERIC_INVALID = "Noe i skjemaet ble ikke godtatt. Sjekk feltene og prøv igjen."


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if label[:2] != label[:2].upper() else label


def flatten(errors, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"a.b": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(errors, (list, tuple)):
        if all(isinstance(e, str) for e in errors):
            flat.setdefault(prefix or "_schema", []).extend(errors)
        else:
            for item in errors:
                flat.update(flatten(item, prefix))
    else:
        flat.setdefault(prefix or "_schema", []).append(str(errors))
    return flat


#: the services' field messages (English, for API clients) → what a person reads
MESSAGES = [
    (r"^Missing data for required field", "Fyll ut dette feltet."),
    (r"^Field may not be null", "Fyll ut dette feltet."),
    (r"^Not a valid date", "Skriv en gyldig dato, for eksempel 14.03.2026."),
    (r"^Not a valid datetime|Not a valid aware datetime", "Skriv en gyldig dato og et gyldig klokkeslett."),
    (r"^Must be one of", "Velg et av alternativene som vises."),
    (r"^(Length must be|Shorter than|Longer than)", "Teksten er for kort eller for lang."),
    (r"must be on or after start_date", "Datoen for vurdering kan ikke være før startdatoen."),
    (r"must be an active participant", "Velg en som er aktiv deltaker i loggen."),
    (r"must be after starts_at", "Møtet må slutte etter at det begynner."),
    (r"every invited person", "Alle som inviteres, må være aktive deltakere i loggen."),
    (r"only invited participants can attend", "Bare de som var invitert, kan føres opp som til stede."),
    (r"agency is not covered by consent", "Samtykket dekker ikke virksomheten til denne personen."),
    (r"not active staff in this log", "Velg en ansatt som er aktiv i loggen."),
    (r"no agency with this organisation number", "Velg en virksomhet fra listen."),
    (r"must be another agency than the sender", "Velg en annen virksomhet enn din egen."),
    (r"^is a .*, not ", "Denne typen overgang går til en annen type virksomhet."),
    (r"in the sender's municipality", "Ved flytting må mottakeren ligge i en annen kommune."),
    (r"must be a staff member of the receiving agency", "Velg en ansatt i virksomheten som tar imot."),
    (r"^choose one of", "Du kan ikke skrive denne typen innlegg. Velg en annen."),
    (r"^must be 'all'", "Bare ansatte kan skrive innlegg som bare ansatte ser."),
    (r"name at least one agency or agency type", "Velg minst én virksomhet eller type virksomhet."),
    (r"^unknown agency", "Velg virksomheter fra listen."),
    (r"must not be in the past", "Datoen kan ikke være tilbake i tid."),
    (r"must be after valid_from", "Sluttdatoen må være etter startdatoen."),
    (r"^at most \d+ days after", "Samtykket kan ikke gjelde så lenge. Velg en tidligere sluttdato."),
    (r"identity number|national identity", "Skriv et gyldig fødselsnummer (11 siffer)."),
    (r"^not a child", "Fødselsnummeret hører ikke til et barn."),
    (r"^no child covered", "Fant ikke et barn med dette fødselsnummeret som samtykket dekker "
                           "din virksomhet for."),
    (r"an organisation number", "Velg en virksomhet fra listen."),
    # stafett.fields.Text: what may not be stored, by code point (the person cannot see it)
    (r"^Not allowed: the control character (U\+[0-9A-F]+)",
     "Teksten inneholder et usynlig kontrolltegn (tegnkode \\1) som ikke kan lagres. "
     "Fjern det, for eksempel ved å skrive den delen av teksten på nytt, og prøv igjen."),
    (r"^Not valid text: a lone surrogate (U\+[0-9A-F]+)",
     "Teksten inneholder et ugyldig tegn (tegnkode \\1). Skriv den delen av teksten på "
     "nytt og prøv igjen."),
    (r"^Not allowed: the invisible direction control (U\+[0-9A-F]+)",
     "Teksten inneholder et usynlig tegn som snur skriveretningen (tegnkode \\1). Slike "
     "tegn kan få teksten til å se ut som noe annet, og blir ikke lagret. Fjern det og "
     "prøv igjen."),
]

#: the services' problem details (409 and others) → what a person reads
DETAILS = [
    (r"already has an open log", "Barnet har allerede en åpen stafettlogg."),
    (r"log is closed", "Loggen er lukket og kan ikke endres."),
    (r"stopped measure cannot be evaluated", "Et avsluttet tiltak kan ikke vurderes."),
    (r"already takes part in the log", "Personen er allerede med i loggen."),
    (r"already has an open handover", "Loggen har allerede en overgang som ikke er avsluttet."),
    (r"already has a consent for this period", "Barnet har allerede et samtykke for denne perioden."),
    (r"^the consent is already", "Samtykket er allerede avsluttet."),
    (r"not pending", "Samtykket venter ikke lenger på godkjenning."),
    (r"proposal is already", "Forslaget er allerede besvart."),
    (r"consent no longer covers the receiving agency",
     "Samtykket dekker ikke lenger virksomheten som skal ta imot. De foresatte må samtykke først."),
    (r"cannot be cancelled|cannot become|changed meanwhile",
     "Overgangen er endret i mellomtiden. Last siden på nytt."),
    (r"already holds the stafettholder role", "Personen er allerede stafettholder."),
    (r"only the stafettholder", "Bare stafettholderen kan gjøre dette."),
    (r"only staff", "Bare ansatte i loggen kan gjøre dette."),
    (r"the guardians consent|the youth consents alone",
     "Det er ikke du som samtykker for dette barnet nå."),
    (r"proposals are for the child and guardians", "Ansatte legger til tiltak direkte."),
    (r"read-only access", "Du kan lese loggen, men ikke endre den."),
]


def translate(key: str, message: str) -> str:
    for pattern, text in MESSAGES:
        match = re.search(pattern, message)
        if match:
            return match.expand(text)
    return "Dette feltet ble ikke godtatt. Sjekk det og prøv igjen."


def problem_text(exc: StafettError) -> str:
    if isinstance(exc, (PreconditionFailed, PreconditionRequired)):
        return "Noen har endret dette mens du skrev. Last siden på nytt og prøv igjen."
    for pattern, text in DETAILS:
        if re.search(pattern, exc.detail or ""):
            return text
    if isinstance(exc, Conflict):
        return "Det lot seg ikke gjøre nå, fordi saken er endret. Last siden på nytt."
    if isinstance(exc, Forbidden):
        return "Du har ikke lov til å gjøre dette."
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


def local_datetime(day: str, clock: str, zone) -> str | None:
    """An aware ISO datetime from a date and a time field, in Norwegian time."""
    parsed_day, parsed_time = parse_date(day), parse_time(clock)
    if parsed_day is None or parsed_time is None:
        return None
    return datetime.combine(parsed_day, parsed_time, tzinfo=zone).isoformat()
