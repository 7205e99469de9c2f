"""Every code the services answer with, as a person reads it: bokmål, plain language.

Templates use these through Jinja filters (``label``, ``outcome``); an unknown code falls
back to a neutral text rather than showing the code.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from stafett.clock import as_utc, utcnow

TIME_ZONE = ZoneInfo("Europe/Oslo")

#: evaluation colours: text, a short plain explanation, the icon name (colour is never the
#: only signal: every badge carries its text and an icon of its own shape)
OUTCOMES = {
    "green": {"text": "Grønn – virker", "icon": "check",
              "plain": "Tiltaket virker."},
    "yellow": {"text": "Gul – virker delvis", "icon": "half",
               "plain": "Tiltaket virker delvis."},
    "red": {"text": "Rød – virker ikke", "icon": "cross",
            "plain": "Tiltaket virker ikke."},
    None: {"text": "Ikke evaluert", "icon": "circle",
           "plain": "Tiltaket er ikke vurdert ennå."},
}

LABELS = {
    "arena": {"home": "Hjemme", "school": "Skolen", "kindergarten": "Barnehagen",
              "health": "Helse", "leisure": "Fritid", "other": "Annet"},
    "measure_status": {"planned": "Planlagt", "active": "Pågår", "completed": "Fullført",
                       "stopped": "Avsluttet"},
    "role": {"stafettholder": "Stafettholder", "member": "Deltaker",
             "former": "Tidligere stafettholder", "guardian": "Foresatt", "child": "Barnet",
             "system": "Fagsystem"},
    "agency_type": {"kindergarten": "Barnehage", "school": "Skole",
                    "health_station": "Helsestasjon og skolehelsetjeneste", "ppt": "PPT",
                    "child_welfare": "Barnevernstjenesten", "nav": "NAV", "bup": "BUP",
                    "other": "Annen virksomhet"},
    "meeting_mode": {"in_person": "Møte ansikt til ansikt", "video": "Videomøte",
                     "phone": "Telefonmøte"},
    "entry_kind": {"note": "Notat", "child_voice": "Barnets stemme", "bright_spot": "Lysglimt"},
    "visibility": {"all": "Alle i loggen, også barnet og de foresatte",
                   "staff": "Bare ansatte i loggen"},
    "log_status": {"open": "Åpen", "closed": "Lukket"},
    "level": {0: "Nivå 0 – bekymring", 1: "Nivå 1 – tiltak i egen tjeneste",
              2: "Nivå 2 – utvidet samarbeid", 3: "Nivå 3 – helhetlig samarbeid"},
    "proposal_status": {"proposed": "Venter på svar", "accepted": "Godtatt – er blitt et tiltak",
                        "declined": "Ikke godtatt"},
    "consent_status": {"pending": "Venter på godkjenning", "active": "Gjelder",
                       "withdrawn": "Trukket tilbake", "expired": "Utløpt",
                       "superseded": "Erstattet av et nytt samtykke"},
    "consent_method": {"digital": "Gitt digitalt", "paper": "Registrert fra signert skjema"},
    "consenting_party": {"guardians": "De foresatte", "youth": "Ungdommen selv"},
    "handover_status": {"consent_pending": "Venter på samtykke fra de foresatte",
                        "awaiting_acceptance": "Venter på svar fra mottakeren",
                        "accepted": "Godtatt – loggen flyttes", "completed": "Fullført",
                        "declined": "Avslått", "cancelled": "Avbrutt", "expired": "Utløpt"},
    "transition": {"kindergarten_to_school": "Fra barnehage til skole",
                   "primary_to_lower_secondary": "Fra barneskole til ungdomsskole",
                   "lower_secondary_to_upper_secondary": "Fra ungdomsskole til videregående",
                   "to_nav": "Til NAV", "municipality_move": "Flytting til en annen kommune",
                   "other": "Annen overgang"},
    "handover_role": {"requester": "Du sendte", "receiver": "Til deg",
                      "consenting_party": "Om barnet ditt"},
    "timeline": {"log_opened": "Loggen ble opprettet", "level_changed": "BTI-nivået ble endret",
                 "participant_added": "Ny deltaker", "participant_removed": "Deltaker fjernet",
                 "measure_added": "Nytt tiltak", "measure_evaluated": "Tiltak vurdert",
                 "meeting_scheduled": "Møte avtalt", "meeting_minuted": "Referat skrevet",
                 "entry_note": "Notat", "entry_child_voice": "Barnets stemme",
                 "entry_bright_spot": "Lysglimt", "proposal_made": "Forslag til tiltak",
                 "proposal_accepted": "Forslag godtatt", "proposal_declined": "Forslag ikke godtatt",
                 "log_closed": "Loggen ble lukket"},
    "access_action": {"read": "så i loggen", "read_notices": "så varsler om loggen",
                      "open": "opprettet loggen",
                      "list": "så listen over logger", "change_level": "endret BTI-nivået",
                      "close": "lukket loggen", "change_stafettholder": "byttet stafettholder",
                      "add_participant": "la til en deltaker",
                      "remove_participant": "fjernet en deltaker",
                      "add_measure": "la til et tiltak", "update_measure": "endret et tiltak",
                      "evaluate": "vurderte et tiltak", "schedule_meeting": "avtalte et møte",
                      "record_minutes": "skrev referat", "prepare_meeting": "forberedte et møte",
                      "add_entry": "skrev i loggen", "propose": "foreslo et tiltak",
                      "accept_proposal": "godtok et forslag",
                      "decline_proposal": "svarte nei til et forslag",
                      "export_fhir": "hentet loggen til et fagsystem",
                      "prepare_handover": "forberedte en overgang",
                      "compile_handover_summary": "laget et sammendrag for en overgang",
                      "apply_handover": "flyttet loggen til en ny virksomhet"},
    # what a record of the child's access log did, by service, action and object
    "access_what": {"consent.read.consents": "så samtykkene",
                    "consent.read.consent": "så et samtykke",
                    "consent.grant.consent": "ga eller registrerte et samtykke",
                    "consent.approve.consent": "godkjente et samtykke",
                    "consent.withdraw.consent": "trakk tilbake et samtykke",
                    "consent.search.child": "slo opp barnet",
                    "consent.register.child": "registrerte barnet",
                    "consent.resolve.citizen": "logget inn",
                    "consent.change_guardianship.guardianship":
                        "fikk endret foreldreansvar fra folkeregisteret",
                    "handover.request.handover": "ba om en overgang",
                    "handover.read.handover": "så en overgang",
                    "handover.accept.handover": "tok imot en overgang",
                    "handover.decline.handover": "sa nei til en overgang",
                    "handover.cancel.handover": "avlyste en overgang",
                    "notifications.read.notifications": "så varsler om barnet",
                    "logs.read.access_log": "så hvem som har sett loggen"},
    "access_service": {"consent": "Samtykke", "logs": "Stafettloggen",
                       "handover": "Overgang", "notifications": "Varsler"},
    "access_outcome": {"allowed": "Fikk tilgang", "denied": "Ble nektet", "rejected": "Ble avvist"},
    "notification_kind": {},
}

FALLBACK = {"access_action": "gjorde noe i loggen", "notification_kind": "Varsel",
            "access_what": "gjorde noe i saken"}


def label(value, kind: str) -> str:
    table = LABELS.get(kind, {})
    if value in table:
        return table[value]
    return FALLBACK.get(kind, "Ukjent")


def outcome(value) -> dict:
    return OUTCOMES.get(value, OUTCOMES[None])


MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
          "september", "oktober", "november", "desember")


def _parse(value):
    if isinstance(value, (date, datetime)):
        return value
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def norsk_date(value) -> str:
    """14. mars 2026"""
    moment = _parse(value) if value else None
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = _local(moment).date()
    return f"{moment.day}. {MONTHS[moment.month - 1]} {moment.year}"


def norsk_datetime(value) -> str:
    """14. mars 2026 kl. 14.00 (Norwegian time)"""
    moment = _parse(value) if value else None
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return norsk_date(moment)
    local = _local(moment)
    return f"{norsk_date(local.date())} kl. {local:%H.%M}"


def oslo_today(now: datetime | None = None) -> date:
    """Today in Norway (a form's default date): from midnight to 01:00 or 02:00 Oslo time
    the date in UTC, and on a server in UTC ``date.today()``, is still yesterday."""
    return _local(now or utcnow()).date()


def _local(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(TIME_ZONE)
