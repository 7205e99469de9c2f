"""The templates: every kind renders for every channel, in bokmål, with nothing sensitive.

Every template is rendered for events built from the seeded demo data (stafett.dev.demo) —
with the seeded names and numbers even smuggled into the event data — and every rendered
e-mail, HTML alternative, calendar file and webhook body is scanned for any of them.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from icalendar import Calendar

from services.notifications import domain, rendering
from services.notifications.channels import EmailChannel, Outgoing, SmtpSettings, WebhookChannel
from services.notifications.domain import Facts, notices_for
from stafett.dev.demo import AGENCIES, CHILDREN, PERSONAS
from stafett.events import Envelope

PUBLIC = "https://stafett.example"
SEEDED_NAMES = sorted({c["name"] for c in CHILDREN} | {g["name"] for c in CHILDREN
                                                        for g in c["guardians"]}
                      | {p["name"] for p in PERSONAS.values() if "name" in p}
                      | {a["name"] for a in AGENCIES.values()})
SEEDED_WORDS = sorted({w for n in SEEDED_NAMES for w in n.split()
                       if len(w) > 2 and w[0].isupper()} - {"PPT", "NAV"})
SEEDED_NUMBERS = sorted({c["national_id"] for c in CHILDREN}
                        | {g["national_id"] for c in CHILDREN for g in c["guardians"]}
                        | {a["org_number"] for a in AGENCIES.values()})


def leaks(text: str) -> list[str]:
    found = [n for n in SEEDED_NAMES + SEEDED_WORDS
             if re.search(rf"(?<![\wæøåÆØÅ]){re.escape(n)}(?![\wæøåÆØÅ])", text)]
    return found + [n for n in SEEDED_NUMBERS if n in text]


def seeded_events() -> list[Envelope]:
    """One event per rule, its ids being seeded names and numbers (the worst case)."""
    emma, mother = CHILDREN[0], CHILDREN[0]["guardians"][0]
    smuggled = {"title": emma["name"], "national_id": emma["national_id"],
                "note": mother["name"]}
    person = mother["national_id"]
    common = {"log_id": "log-1", "child_id": emma["national_id"]}
    events = [
        ("log.measure_added", {"measure_id": "m-1", "responsible_person_id": person,
                               "responsible_agency": AGENCIES["ppt"]["org_number"],
                               "evaluate_by": "2026-12-14"}),
        ("log.meeting_scheduled", {"meeting_id": "mt-1",
                                   "starts_at": "2026-12-01T09:00:00+01:00",
                                   "ends_at": "2026-12-01T10:00:00+01:00",
                                   "invited_person_ids": [person]}),
        ("consent.expiring", {"consent_id": "c-1", "notify_person_ids": [person]}),
        ("consent.expired", {"consent_id": "c-1", "notify_person_ids": [person]}),
        ("consent.granted", {"consent_id": "c-1", "method": "paper",
                             "notify_person_ids": [person]}),
        ("handover.requested", {"handover_id": "h-1", "status": "consent_pending",
                                "consent_person_ids": [person]}),
        ("handover.requested", {"handover_id": "h-1", "status": "awaiting_acceptance",
                                "to_person_id": person, "to_agency": "1"}),
        ("handover.accepted", {"handover_id": "h-1", "requested_by_person_id": person}),
        ("handover.declined", {"handover_id": "h-1", "requested_by_person_id": person}),
        ("handover.consent_ended", {"handover_id": "h-1", "requested_by_person_id": person,
                                    "from_agency": "1", "requester_covered": True,
                                    "consent_person_ids": [person]}),
        ("handover.cancelled", {"handover_id": "h-1", "reason": "consent_withdrawn",
                                "requested_by_person_id": person, "from_agency": "1",
                                "requester_covered": True, "consent_person_ids": [person]}),
        ("handover.cancelled", {"handover_id": "h-1", "reason": "consent_refused",
                                "requested_by_person_id": person, "from_agency": "1"}),
        ("log.closed", {"participant_person_ids": [person]}),
        ("log.stafettholder_lapsed", {"from_person_id": person, "reason": "consent_ended",
                                      "staff_person_ids": [person],
                                      "guardian_person_ids": [person]}),
        ("log.proposal_answered", {"proposal_id": "pr-1", "proposer_person_id": person,
                                   "decision": "accepted"}),
        ("consent.guardianship_changed", {"added_guardian_ids": [person],
                                          "removed_guardian_ids": [], "guardian_ids": [person],
                                          "notify_person_ids": [person], "protected": False}),
    ]
    return [Envelope(type=t, source=t.split(".")[0], data={**d, **smuggled},
                     actor_ref="person:someone", **common) for t, d in events]


def all_notices():
    facts = Facts(child_stafettholders=(("holder", "1", "log-1"),))
    notices = [n for e in seeded_events() for n in notices_for(e, facts)]
    for kind in (domain.EVALUATION_DUE, domain.EVALUATION_OVERDUE, domain.MEETING_TOMORROW):
        notices.append(domain.notice(kind, ["p"], [], {
            "log_id": "log-1", "measure_id": "m-1", "meeting_id": "mt-1",
            "starts_at": "2026-12-02T09:00:00+01:00", "evaluate_by": "2026-12-14"}))
    return notices


def test_every_kind_has_a_rule_or_a_reminder_and_is_rendered_here():
    assert {n.kind for n in all_notices()} == set(domain.KINDS)


@pytest.mark.parametrize("kind", domain.KINDS)
def test_every_kind_renders_for_the_inbox_and_email_in_bokmal(kind):
    inbox = rendering.render_inbox(kind)
    assert inbox.title and inbox.body and "\n" not in inbox.title
    assert "Logg inn" not in inbox.body  # the inbox is read by someone logged in
    email = rendering.render_email(kind, {"log_id": "log-1", "handover_id": "h-1",
                                          "meeting_id": "mt-1",
                                          "starts_at": "2026-12-01T09:00:00+01:00"}, PUBLIC)
    assert email.subject and "\n" not in email.subject
    assert email.text.startswith("Hei,\n\n")
    assert "Logg inn for å se det: https://stafett.example/" in email.text
    assert "Av hensyn til personvernet står det ikke mer i denne e-posten." in email.text
    assert "Du kan endre hvilke varsler du får, her: " \
           "https://stafett.example/innstillinger/varsler" in email.text
    assert '<html lang="nb">' in email.html
    assert (email.ics is not None) == (kind in domain.CALENDAR_KINDS)


def test_the_measure_email_says_there_is_a_task_and_where():
    email = rendering.render_email("measure_assigned", {"log_id": "log-1"}, PUBLIC)
    assert email.subject == "Du har en ny oppgave i Stafett"
    assert "Du er satt som ansvarlig for et nytt tiltak i Stafett." in email.text
    assert "https://stafett.example/logger/log-1" in email.text


def test_the_html_alternative_escapes_what_it_is_given():
    html = rendering.environment().get_template("email.html").render(
        subject="<b>x</b>", lead="<script>alert(1)</script>", link='https://x/"><img',
        preferences_link="https://x/p")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '"><img' not in html


def test_the_digest_counts_without_saying_what():
    one, three = rendering.render_digest(1, PUBLIC), rendering.render_digest(3, PUBLIC)
    assert one.subject == three.subject == "Nye varsler i Stafett"
    assert "Du har ett nytt varsel i Stafett." in one.text
    assert "Du har 3 nye varsler i Stafett." in three.text


def test_the_calendar_file_has_the_times_and_nothing_else():
    ics = rendering.render_ics({"meeting_id": "mt-1", "starts_at": "2026-12-01T09:00:00+01:00",
                                "ends_at": None}, "https://stafett.example/logger/log-1")
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    assert event.decoded("dtend") == datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert str(event["summary"]) == "Samarbeidsmøte (Stafett)"
    assert "ATTENDEE" not in event and "ORGANIZER" not in event and "LOCATION" not in event
    assert rendering.render_ics({"meeting_id": "mt-1"}, "x") is None


def test_the_webhook_body_is_the_type_ids_and_a_link():
    body = json.loads(rendering.render_webhook(
        delivery_id="d-1", event_id="e-1", event_type="log.measure_added",
        kind="measure_assigned", occurred_at="2026-11-23T08:00:00+00:00",
        context={"log_id": "log-1", "measure_id": "m-1", "evaluate_by": "2026-12-14",
                 "decision": "accepted"}, public_url=PUBLIC))
    assert body == {"id": "d-1", "event_id": "e-1", "type": "log.measure_added",
                    "kind": "measure_assigned", "occurred_at": "2026-11-23T08:00:00+00:00",
                    "data": {"log_id": "log-1", "measure_id": "m-1"},
                    "link": "https://stafett.example/api/v1/logs/log-1"}


def test_no_outgoing_message_carries_a_seeded_name_or_number():
    email_channel = EmailChannel(SmtpSettings(), PUBLIC)
    webhook_channel = WebhookChannel(PUBLIC)
    rendered = []
    for notice in all_notices():
        outgoing = Outgoing(delivery_id="d-1", event_id="e-1", event_type="x",
                            kind=notice.kind, context=notice.context,
                            address="guardian@example.org")
        message = email_channel.compose(outgoing)
        for part in message.walk():
            if not part.is_multipart():
                content = part.get_content()
                rendered.append(content.decode() if isinstance(content, bytes) else content)
        rendered.append(str(message["Subject"]))
        rendered.append(webhook_channel.body(outgoing).decode())
        text = rendering.render_inbox(notice.kind)
        rendered.append(text.title + "\n" + text.body)
    rendered.append(rendering.render_digest(5, PUBLIC).text)
    assert len(rendered) > 50
    assert [(i, leaks(text)) for i, text in enumerate(rendered) if leaks(text)] == []


def test_the_scan_itself_finds_a_leak():
    emma = CHILDREN[0]
    assert leaks(f"Hei {emma['name'].split()[0]}") != []
    assert leaks(f"nummer {emma['national_id']}") != []
    assert leaks("Emmanuel") == []   # whole names and words count, not parts of words


@pytest.mark.parametrize("kind", domain.KINDS)
def test_an_email_about_a_protected_case_locates_nothing(kind):
    """A child with a protective address code ("kode 6/7"): one fixed text, no link (a
    host names a municipality), no kind, no calendar file, and a sender naming no
    municipality."""
    context = {"log_id": "log-1", "handover_id": "h-1", "meeting_id": "mt-1",
               "starts_at": "2026-12-01T09:00:00+01:00", "protected": True}
    email = rendering.render_email(kind, context, "https://stafett.havvik.example")
    assert email.subject == "Nytt varsel i Stafett" and email.ics is None
    assert "http" not in email.text + email.html and "havvik" not in (email.text + email.html)
    assert "Du har et nytt varsel i Stafett." in email.text
    smtp = SmtpSettings(sender="Stafett <ikke-svar@stafett.havvik.example>",
                        protected_sender="Stafett <ikke-svar@stafett.example>")
    message = EmailChannel(smtp, "https://stafett.havvik.example").compose(Outgoing(
        delivery_id="d-1", event_id="e-1", event_type="log.measure_added", kind=kind,
        context=context, address="someone@example.org"))
    assert "havvik" not in message.as_string().lower()


def test_a_protected_case_marks_every_notice():
    event = Envelope(type="log.measure_added", source="logs", log_id="log-1",
                     child_id="child-1", data={"measure_id": "m-1",
                                               "responsible_person_id": "p-1",
                                               "responsible_agency": "974760673"})
    assert notices_for(event, Facts())[0].context.get("protected") is None
    marked = notices_for(event, Facts(child_protected=True))
    assert marked and all(n.context["protected"] is True for n in marked)
    changed = Envelope(type="consent.guardianship_changed", source="consent",
                       child_id="child-1", data={"notify_person_ids": ["g-1"],
                                                 "protected": True})
    assert notices_for(changed, Facts())[0].context["protected"] is True


# -- issue 18, point 3: the inbox names the child, the measure or meeting and the date; the
# -- e-mail names nothing and links to the inbox item

def test_the_inbox_names_the_child_the_measure_and_the_date_when_the_logs_service_says():
    about = {"child": "Emma", "title": "Fast plass nær døra", "evaluate_by": "2027-03-12",
             "starts_at": None}
    told = rendering.render_inbox("measure_assigned", about)
    assert told.title == "Nytt tiltak for Emma: «Fast plass nær døra»"
    assert "Det skal vurderes innen 12. mars 2027." in told.body
    meeting = rendering.render_inbox("meeting_invited", {
        "child": "Emma", "starts_at": "2027-06-15T07:00:00+00:00"})
    assert meeting.title == "Samarbeidsmøte om Emma 15. juni 2027 kl. 09.00"
    untold = rendering.render_inbox("measure_assigned")
    assert "Emma" not in untold.title + untold.body and "«" not in untold.body


def test_an_inbox_item_is_told_only_what_the_logs_service_answered_for_its_log():
    item = {"kind": "measure_assigned", "title": "x", "body": "y",
            "link": "/logger/log-1#tiltak-m-1"}
    details = {"log-1": {"child": "Emma", "measures": {
        "m-1": {"title": "Fast plass", "evaluate_by": "2027-03-12"}}}}
    assert rendering.told(item, details)["title"] == "Nytt tiltak for Emma: «Fast plass»"
    assert rendering.told(item, {}) == item  # no answer (no access): as stored, naming nothing
    assert domain.subject_of("/logger/log-1#tiltak-m-1") == {
        "log_id": "log-1", "kind": "measures", "id": "m-1"}
    assert domain.subject_of("/overganger/h-1") is None


def test_links_go_to_the_item_itself_and_e_mails_to_the_inbox_item():
    assert domain.link_path("measure_assigned", {"log_id": "l", "measure_id": "m"}) == \
        "/logger/l#tiltak-m"
    assert domain.link_path("meeting_tomorrow", {"log_id": "l", "meeting_id": "t"}) == \
        "/logger/l#mote-t"
    email = rendering.render_email("measure_assigned", {"log_id": "l", "measure_id": "m"},
                                   PUBLIC, "event-1")
    assert "https://stafett.example/innboks/event-1" in email.text
    assert "logger" not in email.text and "«" not in email.text
