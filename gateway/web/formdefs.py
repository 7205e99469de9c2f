"""The concrete forms of the web client, and the RPC payload each one becomes.

Choices come from what the services answered (participants of the log, agencies, staff),
so a person only ever picks among things that exist; the services still check everything.
"""
from __future__ import annotations

import re
from datetime import timedelta

from gateway.web import messages
from gateway.web.forms import CHOOSE, REQUIRED, Field, Form, local_datetime
from gateway.web.labels import LABELS, OUTCOMES, TIME_ZONE, oslo_today

VERSION = re.compile(r"[0-9]{1,18}", re.ASCII)

ARENAS = list(LABELS["arena"].items())
LEVELS = [(str(k), v) for k, v in LABELS["level"].items()]


def _people(log: dict | None, kinds=("staff", "guardian", "child")) -> list[tuple[str, str]]:
    return [(p["id"], person_label(p)) for p in (log or {}).get("participants", [])
            if p["kind"] in kinds]


def person_label(p: dict) -> str:
    role = LABELS["role"].get(p.get("role"), "")
    extra = p.get("title") or role
    if p.get("agency_type") and p["kind"] == "staff":
        extra = f"{extra}, {LABELS['agency_type'].get(p['agency_type'], '')}".strip(", ")
    return f"{p['display_name']} ({extra.lower() if p['kind'] != 'staff' else extra})"


# -- logs -------------------------------------------------------------------------------------

def new_log_form() -> Form:
    return Form(
        Field("national_id", "Barnets fødselsnummer", required=True, max_length=11,
              hint="11 siffer. Fødselsnummeret sendes bare i skjemaet, og vises ikke i adresser "
                   "eller logger.", autocomplete="off", inputmode="numeric"),
        Field("level", "BTI-nivå", kind="select", required=True, choices=LEVELS,
              hint="Nivået kan endres senere."),
        values={"level": "1"})


def measure_form(log: dict) -> Form:
    today = oslo_today().isoformat()
    return Form(
        Field("title", "Tittel", required=True, max_length=200,
              hint="Et lite, konkret tiltak. For eksempel «Fast plass nær døra»."),
        Field("goal", "Mål", kind="textarea", required=True, max_length=2000, rows=3,
              hint="Hva skal bli bedre for barnet?"),
        Field("description", "Beskrivelse", kind="textarea", max_length=4000, rows=3),
        Field("responsible_id", "Ansvarlig", kind="select", required=True,
              choices=_people(log), hint="Én person har ansvaret for tiltaket."),
        Field("arena", "Arena", kind="select", required=True, choices=ARENAS),
        Field("start_date", "Startdato", kind="date", required=True),
        Field("evaluate_by", "Vurderes innen", kind="date", required=True,
              hint="Datoen tiltaket skal vurderes. Den kan ikke være før startdatoen.",
              missing="Skriv datoen tiltaket skal vurderes innen."),
        Field("status", "Status", kind="radio", required=True,
              choices=[("planned", "Planlagt"), ("active", "Pågår")]),
        values={"start_date": today, "status": "active"})


def measure_payload(form: Form) -> dict:
    return {"title": form.text("title"), "goal": form.text("goal"),
            "description": form.text("description"),
            "responsible_id": form.text("responsible_id"), "arena": form.text("arena"),
            "start_date": form.date("start_date"), "evaluate_by": form.date("evaluate_by"),
            "status": form.text("status")}


def evaluation_form() -> Form:
    return Form(
        Field("outcome", "Hvordan virker tiltaket?", kind="radio", required=True,
              missing="Velg hvordan tiltaket virker: grønn, gul eller rød.",
              choices=[(k, OUTCOMES[k]["text"]) for k in ("green", "yellow", "red")],
              choice_icons={k: OUTCOMES[k]["icon"] for k in ("green", "yellow", "red")}),
        Field("text", "Vurdering", kind="textarea", required=True, max_length=4000,
              hint="Hva har skjedd siden tiltaket startet?", missing="Skriv vurderingen."),
        Field("child_view", "Barnets egne ord", kind="textarea", max_length=4000, rows=3,
              hint="Hva sier barnet selv om tiltaket? Skriv det slik barnet sa det."),
        Field("evaluated_on", "Dato for vurderingen", kind="date", required=True),
        values={"evaluated_on": oslo_today().isoformat()})


def evaluation_payload(form: Form) -> dict:
    return {"outcome": form.text("outcome"), "text": form.text("text"),
            "child_view": form.text("child_view") or None,
            "evaluated_on": form.date("evaluated_on")}


def meeting_form(log: dict) -> Form:
    people = _people(log)
    return Form(
        Field("day", "Dato", kind="date", required=True),
        Field("starts", "Starter klokken", kind="time", required=True, hint="For eksempel 14:00.",
              missing="Skriv når møtet starter."),
        Field("ends", "Slutter klokken", kind="time"),
        Field("mode", "Møteform", kind="radio", required=True,
              choices=list(LABELS["meeting_mode"].items())),
        Field("place", "Sted", max_length=200, hint="For eksempel «Møterom 2» eller en lenke."),
        Field("agenda", "Saker på møtet", kind="textarea", max_length=4000, rows=4),
        Field("invited", "Hvem inviteres?", kind="checkboxes", required=True, choices=people,
              missing="Velg minst én som skal inviteres."),
        values={"mode": "in_person", "invited": []})  # each invitation is a choice


def meeting_payload(form: Form) -> dict | None:
    starts = local_datetime(form.text("day"), form.text("starts"), TIME_ZONE)
    ends = (local_datetime(form.text("day"), form.text("ends"), TIME_ZONE, "ends_at")
            if form.text("ends") else None)
    return {"starts_at": starts, "ends_at": ends, "mode": form.text("mode"),
            "place": form.text("place") or None, "agenda": form.text("agenda"),
            "invited": form.values.get("invited", [])}


#: a decision in the minutes is evaluated this many days after it starts, unless changed
DECISION_EVALUATE_DAYS = 42
#: the fields of one decision (``decision_<n>_<name>``): typing a title or a goal makes
#: it a decision, which then needs all of them
DECISION_FIELDS = ("title", "goal", "responsible_id", "arena", "start_date", "evaluate_by")


def minutes_form(log: dict | None, meeting: dict | None, decisions: int = 1) -> Form:
    """The minutes, who attended (nobody ticked: each is a statement of fact), and
    ``decisions`` decisions that each become a measure in the same step, with the
    responsible person (the writer) and the dates filled in to start from."""
    names = dict(_people(log))
    meeting = meeting or {}
    invited = [(p, names.get(p, "Tidligere deltaker")) for p in meeting.get("invited", [])]
    fields = [
        Field("minutes", "Referat", kind="textarea", required=True, max_length=20000, rows=8,
              hint="Hva ble sagt, og hva ble bestemt?", missing="Skriv referatet."),
        Field("attended", "Hvem var til stede?", kind="checkboxes", choices=invited),
        version_field(), Field("decisions", "vedtak", kind="hidden")]
    start = oslo_today()
    values = {"attended": [], "version": str(meeting.get("version", "")),
              "decisions": str(decisions)}
    for n in range(1, decisions + 1):
        fields += decision_fields(n, log)
        values.update({f"decision_{n}_responsible_id": (log or {}).get("viewer_participant_id",
                                                                        ""),
                       f"decision_{n}_start_date": start.isoformat(),
                       f"decision_{n}_evaluate_by": (
                           start + timedelta(days=DECISION_EVALUATE_DAYS)).isoformat()})
    return Form(*fields, values=values)


def decision_fields(n: int, log: dict | None) -> list[Field]:
    group = f"Vedtak {n} (blir et tiltak)"
    return [
        Field(f"decision_{n}_title", "Hva ble bestemt?", max_length=200, group=group,
              hint="Kort og konkret, som tittelen på et tiltak. La stå tom hvis møtet ikke "
                   "bestemte noe." if n == 1 else None),
        Field(f"decision_{n}_goal", "Mål", kind="textarea", max_length=2000, rows=2,
              group=group, hint="Hva skal bli bedre for barnet?"),
        Field(f"decision_{n}_responsible_id", "Ansvarlig", kind="select", choices=_people(log),
              group=group),
        Field(f"decision_{n}_arena", "Arena", kind="select", choices=ARENAS, group=group),
        Field(f"decision_{n}_start_date", "Startdato", kind="date", group=group),
        Field(f"decision_{n}_evaluate_by", "Vurderes innen", kind="date", group=group,
              hint="Foreslått: seks uker etter start. Du kan endre datoen."),
    ]


def decision_count(formdata) -> int:
    """How many decision blocks the posted form had (1 to 20)."""
    text = (formdata.get("decisions") or "1").strip()
    return min(max(int(text), 1), 20) if text.isdigit() and len(text) < 3 else 1


def check_decisions(form: Form, decisions: int) -> None:
    """A block with a title or a goal is a decision: then every field of it is needed."""
    for n in range(1, decisions + 1):
        name = f"decision_{n}_"
        if not (form.text(name + "title") or form.text(name + "goal")):
            continue
        for key in DECISION_FIELDS:
            if not form.text(name + key) and not form.errors.get(name + key):
                field = form[name + key]
                form.error(field.name, (CHOOSE if field.kind == "select" else REQUIRED)
                           .format(label_lower=field.label[:1].lower() + field.label[1:]))


def minutes_payload(form: Form, decisions: int) -> dict:
    made = []
    for n in range(1, decisions + 1):
        name = f"decision_{n}_"
        if form.text(name + "title") or form.text(name + "goal"):
            made.append({"title": form.text(name + "title"), "goal": form.text(name + "goal"),
                         "responsible_id": form.text(name + "responsible_id"),
                         "arena": form.text(name + "arena"),
                         "start_date": form.date(name + "start_date"),
                         "evaluate_by": form.date(name + "evaluate_by"), "status": "active"})
    return {"minutes": form.text("minutes"), "attended": form.values.get("attended", []),
            "decisions": made}


def decision_aliases(decisions: int) -> dict:
    """The service's field keys for a decision (``decisions.0.title``) -> the form's."""
    return {f"decisions.{n - 1}.{key}": f"decision_{n}_{key}"
            for n in range(1, decisions + 1) for key in DECISION_FIELDS}


def entry_form() -> Form:
    """Staff's entry: any kind, and who may read it."""
    return Form(
        Field("kind", "Hva slags innlegg?", kind="radio", required=True,
              choices=list(LABELS["entry_kind"].items()), missing="Velg hva slags innlegg det er.",
              choice_hints={"child_voice": "Barnets egne ord, skrevet slik barnet sa dem.",
                            "bright_spot": "Noe som gikk bra."}),
        Field("visibility", "Hvem kan lese det?", kind="radio", required=True,
              choices=list(LABELS["visibility"].items()), missing="Velg hvem som kan lese det."),
        Field("text", "Tekst", kind="textarea", required=True, max_length=4000,
              missing="Skriv teksten."),
        values={"kind": "note", "visibility": "all"})


#: the family's words for the kinds of entry the logs service lets them write
VOICE_KINDS = {"child_voice": "Min stemme", "note": "Foresattes stemme",
               "bright_spot": "Lysglimt – noe som gikk bra"}


def voice_form(log_view: dict | None) -> Form:
    """The child's voice, or the guardians' own words: the kinds the log's view says the
    viewer may write (``entry_kinds``), in the words of its ``audience``. ``None`` (when
    posted): no choices shown; the logs service checks the posted kind."""
    view = log_view or {}
    child = view.get("audience") == "child"
    kinds = [(kind, VOICE_KINDS[kind]) for kind in view.get("entry_kinds", [])
             if kind in VOICE_KINDS]
    return Form(
        Field("text", "Det jeg vil si" if child else "Det vi vil si", kind="textarea",
              required=True, max_length=4000, missing="Skriv det du vil si.",
              hint=("Skriv med dine egne ord. Alle som er med i loggen, kan lese det."
                    if child else "Skriv med egne ord. Alle som er med i loggen, også barnet, "
                                  "kan lese det.")),
        Field("kind", "Hva slags innlegg?", kind="radio", required=True, choices=kinds,
              missing="Velg hva slags innlegg det er."),
        values={"kind": kinds[0][0] if kinds else ("child_voice" if child else "note")})


def entry_payload(form: Form) -> dict:
    payload = {"kind": form.text("kind"), "text": form.text("text")}
    if "visibility" in form:
        payload["visibility"] = form.text("visibility")
    return payload


def proposal_form(audience: str | None) -> Form:
    """In the child's words for the child (``audience``, from the log's view)."""
    child = audience == "child"
    return Form(
        Field("title", "Hva foreslår du?" if child else "Forslag til tiltak", required=True,
              max_length=200, hint="Kort og konkret. For eksempel «Sitte nærmest døra».",
              missing="Skriv hva du foreslår."),
        Field("goal", "Hva håper du det hjelper på?", kind="textarea", max_length=2000, rows=3),
        Field("description", "Mer om forslaget", kind="textarea", max_length=4000, rows=3),
        Field("arena", "Hvor skal det skje?", kind="select", required=True, choices=ARENAS,
              missing="Velg hvor det skal skje."),
        values={"arena": "school" if child else "home"})


def proposal_payload(form: Form) -> dict:
    return {"title": form.text("title"), "goal": form.text("goal"),
            "description": form.text("description"), "arena": form.text("arena")}


def version_field() -> Field:
    """The version the page showed, sent back so a change meanwhile is caught (If-Match)."""
    return Field("version", "versjon", kind="hidden")


def form_version(form: Form) -> int | None:
    return version_of(form.text("version"))


def version_of(text: str | None) -> int | None:
    """The version a page was shown at (a hidden field): None if there is none; a value
    that is no version of ours (not up to 18 ASCII digits) is -1, which matches nothing,
    so the service answers it as changed meanwhile, never with a 500 from int()."""
    if not text:
        return None
    return int(text) if VERSION.fullmatch(text) else -1


def accept_proposal_form(log: dict | None, proposal: dict) -> Form:
    return Form(
        Field("responsible_id", "Ansvarlig", kind="select", required=True, choices=_people(log)),
        Field("goal", "Mål", kind="textarea", max_length=2000, rows=3,
              hint="La stå som foreslått, eller gjør målet tydeligere."),
        Field("start_date", "Startdato", kind="date", required=True),
        Field("evaluate_by", "Vurderes innen", kind="date", required=True),
        version_field(),  # the log's: answering a proposal changes the log
        values={"goal": proposal.get("goal") or "", "start_date": oslo_today().isoformat(),
                "version": str((log or {}).get("version", ""))})


def accept_proposal_payload(form: Form) -> dict:
    payload = {"responsible_id": form.text("responsible_id"),
               "start_date": form.date("start_date"), "evaluate_by": form.date("evaluate_by")}
    if form.text("goal"):
        payload["goal"] = form.text("goal")
    return payload


def decline_form(hint: str = "Den som foreslo tiltaket, ser begrunnelsen.",
                 version=None) -> Form:
    return Form(Field("reason", "Begrunnelse", kind="textarea", required=True, max_length=2000,
                      rows=3, hint=hint), version_field(),
                values={"version": "" if version is None else str(version)})


def take_baton_form(version=None) -> Form:
    """Take the baton of a log that has no stafettholder (the log's version only)."""
    return Form(version_field(), values={"version": "" if version is None else str(version)})


HANDOVER_DECLINE_HINT = "Den som sendte forespørselen, ser begrunnelsen."


def participant_form(choices: list[tuple[str, str]]) -> Form:
    return Form(Field("person_id", "Hvem skal være med?", kind="select", required=True,
                      choices=choices, missing="Velg hvem som skal være med.",
                      hint="Bare ansatte i virksomheter som samtykket dekker, kan legges til."))


# -- handovers --------------------------------------------------------------------------------

def handover_form(agencies: list[tuple[str, str]], people: list[tuple[str, str]]) -> Form:
    return Form(
        Field("to_agency", "Til virksomhet", kind="select", required=True, choices=agencies,
              missing="Velg virksomheten som skal ta imot."),
        Field("transition", "Hva slags overgang?", kind="select", required=True,
              choices=list(LABELS["transition"].items()), missing="Velg hva slags overgang det er."),
        Field("to_person_id", "Hvem skal ta imot? (valgfritt)", kind="select", choices=people,
              hint="Uten navn går forespørselen til virksomheten."),
        Field("note", "Melding til mottakeren", kind="textarea", max_length=2000, rows=3),
        values={"transition": "other"})


def handover_payload(log_id: str, form: Form) -> dict:
    return {"log_id": log_id, "to_agency": form.text("to_agency"),
            "transition": form.text("transition"),
            "to_person_id": form.text("to_person_id") or None,
            "note": form.text("note") or None}


def accept_handover_form(colleagues: list[tuple[str, str]], version=None) -> Form:
    return Form(
        Field("new_stafettholder_person_id", "Ny stafettholder", kind="select", required=True,
              choices=colleagues, hint="Den som skal ha initiativplikten for loggen."),
        Field("participant_person_ids", "Flere som skal være med (valgfritt)",
              kind="checkboxes", choices=colleagues),
        version_field(), values={"version": "" if version is None else str(version)})


# -- consent ----------------------------------------------------------------------------------

def consent_form(agencies: list[dict], current: dict | None) -> Form:
    """A new consent; when one is open it is replaced (``supersedes``), and its scope and
    purpose are filled in to start from."""
    types = sorted({a["type"] for a in agencies},
                   key=lambda t: LABELS["agency_type"].get(t, t))
    return Form(
        Field("agency_types", "Typer virksomheter", kind="checkboxes",
              choices=[(t, LABELS["agency_type"].get(t, "Annen virksomhet")) for t in types],
              hint="Samtykket gjelder alle virksomheter av typene du krysser av for."),
        Field("agencies", "Bestemte virksomheter", kind="checkboxes",
              choices=[(a["org_number"], a["name"]) for a in agencies],
              hint="Eller bare de virksomhetene du krysser av for."),
        Field("purpose", "Hva skal samarbeidet handle om?", kind="textarea", required=True,
              max_length=1000, rows=3, missing="Skriv hva samarbeidet skal handle om."),
        Field("valid_until", "Samtykket gjelder til og med", kind="date",
              hint="La stå tom for ett år."),
        Field("supersedes", "erstatter", kind="hidden"),
        values={"supersedes": current["id"] if current else "",
                "agency_types": list((current or {}).get("scope", {}).get("agency_types", [])),
                "agencies": list((current or {}).get("scope", {}).get("agencies", [])),
                "purpose": (current or {}).get("purpose", "")})


#: the purpose of a consent given from a handover's page when none was in force
HANDOVER_CONSENT_PURPOSE = "Samarbeid i stafettloggen etter overgangen"


def handover_consent_payload(open_consent: dict | None, to_agency: str) -> dict:
    """Yes to a handover: the consent in force (replaced) with the receiving agency added,
    or, with none in force, a consent for the receiving agency alone."""
    scope = (open_consent or {}).get("scope") or {}
    agencies = list(scope.get("agencies", []))
    return {"scope": {"agency_types": list(scope.get("agency_types", [])),
                      "agencies": agencies + [to_agency] if to_agency not in agencies
                      else agencies},
            "purpose": (open_consent or {}).get("purpose") or HANDOVER_CONSENT_PURPOSE,
            "supersedes": open_consent["id"] if open_consent else None}


def check_consent_form(form: Form) -> None:
    """All the consent form's errors in one answer, with the basics: no agency chosen, an
    end date that has passed (the consent service checks them too, and the rest)."""
    if not form.values.get("agency_types") and not form.values.get("agencies"):
        form.error("agency_types", messages.field_message("consent.scope_empty"))
    until = form.date("valid_until")
    if until and until <= oslo_today().isoformat() and not form.errors.get("valid_until"):
        form.error("valid_until", messages.field_message("consent.ends_before_start"))


def consent_payload(form: Form) -> dict:
    return {"scope": {"agency_types": form.values.get("agency_types", []),
                      "agencies": form.values.get("agencies", [])},
            "purpose": form.text("purpose"), "valid_until": form.date("valid_until"),
            "supersedes": form.text("supersedes") or None}
