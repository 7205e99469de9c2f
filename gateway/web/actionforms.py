"""The forms of the stafettholder's and the staff's actions on a log (close, level, baton,
remove a participant, edit or end a measure), and the payload each one becomes. Each
carries the version the page showed (If-Match), so a change meanwhile is caught."""
from __future__ import annotations

from gateway.web.formdefs import ARENAS, LEVELS, _people, person_label, version_field
from gateway.web.forms import Field, Form
from gateway.web.labels import LABELS

MEASURE_STATUSES = list(LABELS["measure_status"].items())


def _version(thing: dict | None) -> dict:
    version = (thing or {}).get("version")
    return {"version": "" if version is None else str(version)}


def close_form(log: dict | None) -> Form:
    return Form(
        Field("reason", "Hvorfor lukkes loggen?", kind="textarea", required=True,
              max_length=2000, rows=4, missing="Skriv hvorfor loggen lukkes.",
              hint="Alle som er med i loggen, også barnet og de foresatte, ser begrunnelsen."),
        version_field(), values=_version(log))


def level_form(log: dict | None) -> Form:
    level = (log or {}).get("level")
    return Form(
        Field("level", "Nytt BTI-nivå", kind="radio", required=True, choices=LEVELS,
              missing="Velg nivået loggen skal ha.",
              hint="Nivåendringen lagres i loggens historikk."),
        version_field(), values={**_version(log), "level": "" if level is None else str(level)})


def baton_form(log: dict | None) -> Form:
    """Pass the baton to another staff participant (not to oneself)."""
    me = (log or {}).get("viewer_participant_id")
    choices = [(p["id"], person_label(p)) for p in (log or {}).get("participants", [])
               if p["kind"] == "staff" and p["id"] != me]
    return Form(
        Field("participant_id", "Hvem skal bli stafettholder?", kind="select", required=True,
              choices=choices, missing="Velg hvem som skal bli stafettholder.",
              hint="Stafettholderen har initiativplikten i loggen. Du blir selv deltaker."),
        version_field(), values=_version(log))


def removal_form(log: dict | None) -> Form:
    return Form(version_field(), values=_version(log))


def measure_edit_form(log: dict | None, measure: dict | None) -> Form:
    measure = measure or {}
    return Form(
        Field("title", "Tittel", required=True, max_length=200),
        Field("goal", "Mål", kind="textarea", required=True, max_length=2000, rows=3),
        Field("description", "Beskrivelse", kind="textarea", max_length=4000, rows=3),
        Field("responsible_id", "Ansvarlig", kind="select", required=True,
              choices=_people(log)),
        Field("arena", "Arena", kind="select", required=True, choices=ARENAS),
        Field("evaluate_by", "Vurderes innen", kind="date", required=True,
              hint="Datoen tiltaket skal vurderes. Den kan ikke være før startdatoen."),
        Field("status", "Status", kind="radio", required=True, choices=MEASURE_STATUSES,
              choice_hints={"completed": "Tiltaket er gjennomført og avsluttet.",
                            "stopped": "Tiltaket avsluttes før det er gjennomført."},
              hint="Velg «Fullført» eller «Avsluttet» for å avslutte tiltaket."),
        version_field(),
        values={**_version(measure), **{k: measure.get(k) or "" for k in (
            "title", "goal", "description", "responsible_id", "arena", "evaluate_by",
            "status")}})


def measure_edit_payload(form: Form) -> dict:
    return {"title": form.text("title"), "goal": form.text("goal"),
            "description": form.text("description"),
            "responsible_id": form.text("responsible_id"), "arena": form.text("arena"),
            "evaluate_by": form.date("evaluate_by"), "status": form.text("status")}


def print_options_form() -> Form:
    return Form(Field("interne", "Hva skal være med?", kind="checkboxes",
                      choices=[("1", "Ta med notater som bare ansatte ser")],
                      hint="Utskriften viser hvem som skrev den ut, og når."))


# -- notification preferences (owner: the notifications service) ------------------------------

HOURS = [(str(h), f"kl. {h:02d}.00") for h in range(24)]


def preferences_form(prefs: dict | None) -> Form:
    prefs = prefs or {}
    channels = prefs.get("channels") or {"inbox": True, "email": True}
    quiet = prefs.get("quiet_hours") or {}
    digest = prefs.get("digest") or {"daily": False, "hour": 7}
    return Form(
        Field("channels", "Hvor vil du få varsler?", kind="checkboxes",
              choices=[("inbox", "I innboksen her i Stafett"), ("email", "På e-post")],
              hint="E-postene sier bare at du har fått et varsel, ikke hva det gjelder."),
        Field("email", "E-postadresse", max_length=254, autocomplete="email",
              hint="Trengs bare for varsler på e-post."),
        Field("digest", "Hvor ofte vil du få e-post?", kind="radio", required=True,
              choices=[("each", "For hvert varsel"), ("daily", "Én samlet e-post om dagen")]),
        Field("hour", "Når skal den daglige e-posten komme?", kind="select", choices=HOURS),
        Field("quiet_start", "Ingen e-post fra klokken", kind="time",
              hint="La stå tom for å få e-post hele døgnet. For eksempel 22:00."),
        Field("quiet_end", "til klokken", kind="time", hint="For eksempel 07:00."),
        version_field(),
        values={"version": str(prefs.get("version", "")), "email": prefs.get("email") or "",
                "channels": [c for c in ("inbox", "email") if channels.get(c)],
                "digest": "daily" if digest.get("daily") else "each",
                "hour": str(digest.get("hour", 7)),
                "quiet_start": quiet.get("start") or "", "quiet_end": quiet.get("end") or ""})


def preferences_payload(form: Form) -> dict:
    channels = form.values.get("channels", [])
    start, end = form.text("quiet_start"), form.text("quiet_end")
    return {"email": form.text("email") or None,
            "channels": {"inbox": "inbox" in channels, "email": "email" in channels},
            "digest": {"daily": form.text("digest") == "daily",
                       "hour": int(form.text("hour") or 7)},
            "quiet_hours": {"start": start, "end": end} if start or end else None,
            "time_zone": "Europe/Oslo"}


# -- agency administration (owners: the notifications and consent services) -----------------

def webhook_form() -> Form:
    return Form(
        Field("url", "Adresse (URL)", required=True, max_length=2000, autocomplete="url",
              hint="Fagsystemets offentlige https-adresse, for eksempel "
                   "https://fagsystem.kommune.no/stafett."),
        Field("description", "Beskrivelse", max_length=200,
              hint="Hva er dette? For eksempel «Skolens fagsystem»."))


def staff_form() -> Form:
    return Form(
        Field("name", "Navn", required=True, max_length=200, autocomplete="off"),
        Field("title", "Stilling", max_length=200, hint="For eksempel «Kontaktlærer»."),
        Field("subject", "Brukerens ID hos innloggingstjenesten", required=True,
              max_length=200, autocomplete="off",
              hint="Den ansatte logger inn med den samme innloggingen som deg. Skriv ID-en "
                   "vedkommende har der (sub)."))
