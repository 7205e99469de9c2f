"""The web client's one message catalogue: every error code (``stafett.errors``, declared
by its owner; listed on /problems) -> what a person reads, in bokmål.

The services answer with a machine ``code`` (and, for a 422, ``error_codes`` per field);
``gateway/web/forms.py`` looks the codes up here. No English text is read, so a service
may reword its ``detail`` freely. ``tests/unit/test_web_messages.py`` fails when a code a
web form can meet has no text here (``NOT_IN_THE_WEB_CLIENT`` lists, with reasons, the
codes the web client never meets). ``{char}``, ``{max_days}``: the error's
``error_params``.
"""
from __future__ import annotations

RELOAD = "Overgangen er endret i mellomtiden. Last siden på nytt."
CHANGED = "Noen har endret dette mens du skrev. Last siden på nytt og prøv igjen."
CHOOSE_AGENCY = "Velg en virksomhet fra listen."
NOT_ALLOWED = "Du har ikke lov til å gjøre dette."
NOT_FOUND = "Fant ikke det du lette etter. Det kan være slettet, eller du har ikke tilgang."

#: field codes (next to a field)
FIELD_MESSAGES = {
    "field.invalid": "Dette feltet ble ikke godtatt. Sjekk det og prøv igjen.",
    "field.required": "Fyll ut dette feltet.",
    "field.unknown": "Dette feltet hører ikke til skjemaet.",
    "field.not_a_string": "Skriv en tekst.",
    "field.not_a_number": "Skriv et tall.",
    "field.not_a_boolean": "Velg ja eller nei.",
    "field.not_a_list": "Velg blant alternativene som vises.",
    "field.not_an_object": "Noe i skjemaet ble ikke godtatt. Sjekk feltene og prøv igjen.",
    "field.not_a_choice": "Velg et av alternativene som vises.",
    "field.out_of_range": "Tallet er for lite eller for stort.",
    "text.length": "Teksten er for kort eller for lang.",
    "text.control_character":
        "Teksten inneholder et usynlig kontrolltegn (tegnkode {char}) som ikke kan lagres. "
        "Fjern det, for eksempel ved å skrive den delen av teksten på nytt, og prøv igjen.",
    "text.lone_surrogate":
        "Teksten inneholder et ugyldig tegn (tegnkode {char}). Skriv den delen av teksten på "
        "nytt og prøv igjen.",
    "text.direction_control":
        "Teksten inneholder et usynlig tegn som snur skriveretningen (tegnkode {char}). Slike "
        "tegn kan få teksten til å se ut som noe annet, og blir ikke lagret. Fjern det og "
        "prøv igjen.",
    "date.invalid": "Skriv en gyldig dato, for eksempel 14.03.2026.",
    "datetime.invalid": "Skriv en gyldig dato og et gyldig klokkeslett.",
    "email.invalid": "Skriv en gyldig e-postadresse, for eksempel navn@eksempel.no.",
    "url.invalid": "Skriv en gyldig nettadresse som begynner med https://.",
    # consent
    "child.field_from_register": "Dette hentes fra Folkeregisteret. Skriv bare "
                                 "fødselsnummeret.",
    "child.not_covered": "Fant ikke et barn med dette fødselsnummeret som samtykket dekker "
                         "din virksomhet for.",
    "consent.ends_before_start": "Sluttdatoen må være etter startdatoen.",
    "consent.paper_signatories": "Skjemaet må være underskrevet av dem som samtykker, og "
                                 "ingen andre.",
    "consent.scope_empty": "Velg minst én virksomhet eller type virksomhet.",
    "consent.scope_misses_own_agency": "Samtykket du registrerer, må gjelde din egen "
                                       "virksomhet.",
    "consent.scope_unknown_agency": "Velg virksomheter fra listen.",
    "consent.starts_in_past": "Datoen kan ikke være tilbake i tid.",
    "consent.supersedes_not_open": "Velg et samtykke som gjelder nå.",
    "consent.too_long": "Samtykket kan ikke gjelde så lenge. Velg en tidligere sluttdato.",
    "consent.paper_required": "Ansatte registrerer samtykke fra et underskrevet papirskjema. "
                              "Fyll ut opplysningene om skjemaet.",
    "national_id.invalid": "Skriv et gyldig fødselsnummer (11 siffer).",
    "national_id.not_a_child": "Fødselsnummeret hører ikke til et barn.",
    "org_number.invalid": CHOOSE_AGENCY,
    "register.person_unknown": "Fant ingen person med dette fødselsnummeret i "
                               "Folkeregisteret.",
    # logs
    "entry.kind_not_allowed": "Du kan ikke skrive denne typen innlegg. Velg en annen.",
    "entry.staff_only_visibility": "Bare ansatte kan skrive innlegg som bare ansatte ser.",
    "log.nothing_to_change": "Endre minst ett felt før du lagrer.",
    "measure.evaluate_by_before_start": "Datoen for vurdering kan ikke være før startdatoen.",
    "evaluation.in_future": "Datoen for vurderingen kan ikke være fram i tid. Vurder det som "
                            "har skjedd til nå.",
    "evaluation.before_start": "Datoen for vurderingen kan ikke være før tiltaket startet.",
    "measure.responsible_not_participant": "Velg en som er aktiv deltaker i loggen.",
    "meeting.attendee_not_invited": "Bare de som var invitert, kan føres opp som til stede.",
    "meeting.ends_before_start": "Møtet må slutte etter at det begynner.",
    "meeting.invitee_not_participant": "Alle som inviteres, må være aktive deltakere i loggen.",
    "participant.agency_not_covered": "Samtykket dekker ikke virksomheten til denne personen.",
    "participant.not_active_staff": "Velg en ansatt som er aktiv i loggen.",
    "participant.not_removable": "Bare ansatte kan fjernes fra loggen. Barnet og de foresatte "
                                 "er med så lenge samtykket gjelder.",
    "stafettholder.cannot_act": "Velg en ansatt som kan være stafettholder nå: aktiv i loggen, "
                                "og fra en virksomhet samtykket dekker.",
    # handover
    "handover.move_same_municipality": "Ved flytting må mottakeren ligge i en annen kommune.",
    "handover.person_not_receiver_staff": "Velg en ansatt i virksomheten som tar imot.",
    "handover.receiver_is_sender": "Velg en annen virksomhet enn din egen.",
    "handover.receiver_unknown": CHOOSE_AGENCY,
    "handover.receiver_wrong_type": "Denne typen overgang går til en annen type virksomhet.",
    # notifications
    "preferences.time_zone_unknown": "Velg en tidssone fra listen, for eksempel Europe/Oslo.",
    "webhook.url_not_https": "Adressen må begynne med https://.",
    "webhook.url_refused": "Denne adressen kan ikke brukes. Velg en offentlig adresse.",
    "webhook.limit_reached": "Virksomheten har så mange webhooker som den kan ha. Slett en "
                             "før du registrerer en ny.",
    "webhook.not_allowed": "Bare en administrator i virksomheten kan styre webhookene.",
    "webhook.not_found": "Fant ikke webhooken. Den kan være slettet.",
}

#: problem codes (over the form, or as the page's message)
PROBLEM_MESSAGES = {
    # kernel (by kind, when no finer code applies)
    "server.internal": "Noe gikk galt hos oss. Prøv igjen om litt.",
    "request.bad": "Noe i skjemaet ble ikke godtatt. Sjekk feltene og prøv igjen.",
    "request.invalid_fields": "Noe i skjemaet ble ikke godtatt. Sjekk feltene og prøv igjen.",
    "request.too_large": "Det du sendte, er for stort. Gjør teksten kortere og prøv igjen.",
    "request.rate_limited": "Du har sendt mange forespørsler på kort tid. Vent litt og prøv "
                            "igjen.",
    "auth.required": "Du må logge inn på nytt.",
    "access.forbidden": NOT_ALLOWED,
    "resource.not_found": NOT_FOUND,
    "state.conflict": "Det lot seg ikke gjøre nå, fordi saken er endret. Last siden på nytt.",
    "version.changed": CHANGED,
    "version.if_match_required": CHANGED,
    "service.unavailable": "Tjenesten svarer ikke akkurat nå. Prøv igjen om litt.",
    # consent
    "agency.admin_only": "Bare en administrator i virksomheten kan registrere ansatte.",
    "agency.not_found": "Fant ikke virksomheten.",
    "child.not_found": "Fant ikke barnet.",
    "child.register_fields": "Registrer barnet bare med fødselsnummeret.",
    "child.registration_race": "Barnet ble registrert akkurat nå. Prøv igjen.",
    "consent.already_ended": "Samtykket er allerede avsluttet.",
    "consent.digital_changed_by_givers": "Et samtykke gitt digitalt kan bare endres eller "
                                         "trekkes av dem som ga det.",
    "consent.guardians_consent": "Det er ikke du som samtykker for dette barnet nå.",
    "consent.youth_consents_alone": "Det er ikke du som samtykker for dette barnet nå.",
    "consent.not_found": "Fant ikke samtykket.",
    "consent.not_pending": "Samtykket venter ikke lenger på godkjenning.",
    "consent.paper_changed_by_recording_agency": "Et papirskjema registrert av en annen "
                                                 "virksomhet endres av den virksomheten "
                                                 "eller av dem som samtykker.",
    "consent.period_overlaps": "Barnet har allerede et samtykke for denne perioden.",
    "consent.validity_period": "Perioden for samtykket er ikke gyldig. Sjekk datoene.",
    "login.assurance_too_low": "Dette krever innlogging med høyere sikkerhetsnivå. Logg inn "
                               "med BankID eller tilsvarende.",
    "register.child_not_listed": "Folkeregisteret har ikke lenger dette barnet.",
    "register.incomplete_answer": "Folkeregisteret ga et ufullstendig svar. Prøv igjen om "
                                  "litt.",
    "register.unavailable": "Folkeregisteret svarer ikke akkurat nå. Ingenting ble lagret. "
                            "Prøv igjen om litt.",
    "staff.not_found": "Fant ikke den ansatte.",
    # logs
    "access_log.not_allowed": "Tilgangsloggen kan ses av barnet, de foresatte og "
                              "stafettholderen.",
    "access_log.record_not_found": "Fant ikke oppføringen i tilgangsloggen.",
    "access_log.not_sealed": "Oppføringen er ikke signert ennå. Prøv igjen om noen "
                             "sekunder.",
    "log.already_open": "Barnet har allerede en åpen stafettlogg.",
    "log.closed": "Loggen er lukket og kan ikke endres.",
    "log.limit_reached": "Loggen har nådd grensen for hvor mange slike den kan ha.",
    "log.not_found": "Fant ikke loggen.",
    "log.read_only_access": "Du kan lese loggen, men ikke endre den.",
    "log.receiver_not_covered": "Samtykket dekker ikke lenger virksomheten som skal ta imot. "
                                "De foresatte må samtykke først.",
    "log.stafettholder_only": "Bare stafettholderen kan gjøre dette.",
    "log.staff_only": "Bare ansatte i loggen kan gjøre dette.",
    "stafettholder.cannot_act": "Stafettholderen må være en ansatt som er aktiv i loggen, fra "
                                "en virksomhet samtykket dekker.",
    "measure.invalid": "Tiltaket ble ikke godtatt. Sjekk feltene og prøv igjen.",
    "evaluation.invalid": "Vurderingen ble ikke godtatt. Sjekk feltene og prøv igjen.",
    "measure.not_found": "Fant ikke tiltaket.",
    "measure.stopped": "Et avsluttet tiltak kan ikke vurderes.",
    "meeting.invalid": "Møtet ble ikke godtatt. Sjekk feltene og prøv igjen.",
    "meeting.not_found": "Fant ikke møtet.",
    "meeting.not_started": "Referatet kan skrives når møtet har begynt.",
    "participant.already_in_log": "Personen er allerede med i loggen.",
    "participant.already_stafettholder": "Personen er allerede stafettholder.",
    "participant.is_stafettholder": "Gi stafettholderrollen til en annen før du fjerner "
                                    "denne personen.",
    "participant.not_found": "Fant ikke deltakeren.",
    "proposal.already_answered": "Forslaget er allerede besvart.",
    "proposal.not_found": "Fant ikke forslaget.",
    "proposal.staff_add_directly": "Ansatte legger til tiltak direkte.",
    "statistics.staff_only": "Statistikken er for ansatte.",
    # handover
    "handover.already_open": "Loggen har allerede en overgang som ikke er avsluttet.",
    "handover.changed_meanwhile": RELOAD,
    "handover.consent_ended": "Samtykket dekker ikke lenger virksomheten som skal ta imot. "
                              "De foresatte må samtykke først.",
    "handover.invalid_transition": RELOAD,
    "handover.not_applicable": RELOAD,
    "handover.not_cancellable": RELOAD,
    "handover.not_found": "Fant ikke overgangen.",
    "handover.not_waiting_for_consent": "Overgangen venter ikke lenger på samtykke. Last "
                                        "siden på nytt.",
    "handover.consenting_party_only": "Bare de som samtykker for barnet, kan svare på "
                                      "overgangen.",
    "handover.receiver_only": "Bare virksomheten som skal ta imot, kan godta eller avslå "
                              "overgangen.",
    "handover.requester_only": "Bare den som ba om overgangen, kan trekke den tilbake.",
    "handover.stafettholder_only": "Bare stafettholderen kan gjøre dette.",
    # notifications
    "notification.not_found": "Fant ikke varselet.",
    "preferences.person_only": NOT_ALLOWED,
}

#: declared codes the web client never meets, and why (a new code must be placed in one
#: of the three tables: tests/unit/test_web_messages.py)
NOT_IN_THE_WEB_CLIENT = {
    "token.invalid": "the web client holds a session, not a bearer token",
    "token.expired": "the web client holds a session, not a bearer token",
    "token.not_yet_valid": "the web client holds a session, not a bearer token",
    "token.issued_in_future": "the web client holds a session, not a bearer token",
    "request.method_not_allowed": "the web client's own forms use the right methods",
    "request.unsupported_media_type": "the web client sends forms to itself, not JSON",
    "citizen.pid_not_resolved": "between the gateway and consent only",
    "citizen.purpose_unknown": "between the gateway and consent only",
    "platform.internal_admin_only": "platform administration is the API's",
    "log.handover_service_only": "between the handover and logs services only",
    "access_log.auditor_only": "the agency audit is an API for agency systems",
    "fhir.not_allowed": "FHIR export is an API for agency systems",
    "delivery.not_found": "operations (stafett deliveries)",
    "delivery.not_requeueable": "operations (stafett deliveries)",
    "operations.platform_only": "operations (stafett deliveries, reminders)",
    "number_keys.cannot_add": "operations (stafett keys)",
    "number_keys.key_missing": "operations (stafett keys)",
    "number_keys.operations_only": "operations (stafett keys)",
    "number_keys.rows_under_old_key": "operations (stafett keys)",
    "number_keys.unknown_action": "operations (stafett keys)",
}


def field_message(code: str, params: dict | None = None) -> str:
    """The bokmål text of a field code (``field.invalid``'s when the code is unknown)."""
    text = FIELD_MESSAGES.get(code) or PROBLEM_MESSAGES.get(code)
    return _fill(text or FIELD_MESSAGES["field.invalid"], params)


def problem_message(code: str, params: dict | None = None) -> str | None:
    """The bokmål text of a problem code, or None for a code not in the catalogue."""
    text = PROBLEM_MESSAGES.get(code) or FIELD_MESSAGES.get(code)
    return _fill(text, params) if text else None


class _Params(dict):
    def __missing__(self, key):  # a parameter the error did not send: shown as "?"
        return "?"


def _fill(text: str, params: dict | None) -> str:
    return text.format_map(_Params(params or {}))
