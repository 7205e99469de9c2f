"""Why an access happened: one catalogue of purposes, each a code stored on the access
record where it is written (and hashed with it) and a sentence in plain bokmål the family
reads in its access log ("Hvorfor").

A call site passes the purpose it knows (``audited_work(..., purpose=...)``, or
``work.purpose = ...`` once the body knows the viewer's role); otherwise the record gets the
default for its action (``default_for``). Records written before purposes existed have none
and are explained by the same default when shown (``explain``).
"""
from __future__ import annotations

#: code -> what the family reads (bokmål, lower case: "Hvorfor: leste loggen som deltaker")
PURPOSES: dict[str, str] = {
    "participant_read": "leste loggen som deltaker",
    "participant_write": "endret loggen som deltaker",
    "family_read": "innsyn for barnet og de foresatte",
    "family_write": "barnet eller de foresatte skrev i loggen",
    "opened_after_consent": "åpnet loggen etter samtykke",
    "access_log": "så hvem som har sett loggen",
    "audit": "revisjon",
    "consent": "behandlet samtykke",
    "consent_read": "leste samtykkene",
    "child_lookup": "slo opp barnet for å finne saken",
    "child_registration": "registrerte barnet",
    "identification": "kjente igjen den som logget inn",
    "population_register": "endring fra folkeregisteret",
    "handover": "overføring av loggen til en annen tjeneste",
    "handover_read": "leste en overføring av loggen",
    "notification_read": "leste varsler om barnet",
    "own_settings": "endret egne varslingsinnstillinger",
    "administration": "administrasjon av tjenesten",
    "statistics": "statistikk uten personopplysninger",
    "export": "hentet loggen til fagsystem",
    "system": "automatisk behandling i systemet",
}

#: (object_type, action) -> the purpose when the call site gives none; then by object type
_DEFAULTS = {
    ("log", "open"): "opened_after_consent",
    ("log", "apply_handover"): "handover",
    ("log", "export_fhir"): "export",
    ("log", "prepare_handover"): "handover",
    ("log", "compile_handover_summary"): "handover",
    ("access_log", "read"): "access_log",
    ("access_log", "audit"): "audit",
    ("consents", "read"): "consent_read",
    ("consent", "read"): "consent_read",
    ("child", "search"): "child_lookup",
    ("child", "register"): "child_registration",
    ("handover", "read"): "handover_read",
    ("handovers", "list"): "handover_read",
}
_BY_OBJECT = {
    "consent": "consent", "consents": "consent", "guardianship": "population_register",
    "protection": "population_register", "citizen": "identification", "child": "child_lookup",
    "children": "child_lookup", "handover": "handover", "handovers": "handover",
    "notifications": "notification_read", "preferences": "own_settings",
    "webhook": "administration", "staff": "administration", "number_keys": "administration",
    "statistics": "statistics", "access_log": "access_log",
}
_WRITES = ("add", "update", "create", "record", "schedule", "close", "propose", "accept",
           "decline", "remove", "set", "take", "delete")


def checked(code: str | None) -> str | None:
    if code is not None and code not in PURPOSES:
        raise ValueError(f"no purpose {code!r} in the catalogue (stafett/audit/purposes.py)")
    return code


def default_for(action: str, object_type: str) -> str:
    found = _DEFAULTS.get((object_type, action)) or _BY_OBJECT.get(object_type)
    if found:
        return found
    return "participant_write" if action.startswith(_WRITES) else "participant_read"


def for_viewer(role: str | None, action: str, object_type: str, write: bool) -> str:
    """Work on a log by someone with a role in it: the action's own purpose where it has
    one (opening, a handover, the access log), else a participant's or the family's read or
    write."""
    own = _DEFAULTS.get((object_type, action)) or (
        "access_log" if object_type == "access_log" else None)
    if own:
        return own
    family = role in ("guardian", "child")
    if write:
        return "family_write" if family else "participant_write"
    return "family_read" if family else "participant_read"


def explain(record) -> tuple[str, str]:
    """(code, bokmål text) of a record, old records by their action's default."""
    code = record.get("purpose") or default_for(record["action"], record["object_type"])
    return code, PURPOSES[code]
