"""Every journey to its end (issue 18, point 2), by clicking in Debian's Chromium:

- a guardian gives consent for a pending handover from the notification, and the
  receiving agency gets the offer; another time she says no from the handover page, and
  the stafettholder who asked is told;
- a 13-year-old (who does not consent herself) sees who does and how to be heard, never
  the controls to change or withdraw the consent;
- minutes are written only once the meeting has begun, with nobody ticked as invited or
  present, and each decision becomes a measure in the same step (responsible and
  evaluate-by filled in, and changeable), every error of the form at once.

axe (WCAG 2.1 AA) on every new page state, on a desktop and at 375 px.

Before: the guardian read "venter på samtykket deres" with no button; minutes had no
decisions; invitations and attendance came ticked; the 13-year-old was offered "Endre
samtykket" and learnt only after submitting that she does not consent.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from stafett.clock import local_today
from stafett.dev.demo import AGENCIES, PERSONAS
from tests.browser.support import emma_log
from tests.support.platform import wait_for

PHONE = {"width": 375, "height": 740}
NAV = AGENCIES["nav"]["org_number"]


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def day(n: int) -> str:
    """A date counted from today in Norway (the forms' dates are Oslo's)."""
    return (local_today() + timedelta(days=n)).isoformat()


def main_text(person) -> str:
    return person.page.locator("main").inner_text()


def status_text(person) -> str:
    return person.page.get_by_role("status").inner_text()


def check_both(person, name: str) -> None:
    """axe on the page as it is, on a desktop and at 375 px."""
    person.check(name)
    person.page.set_viewport_size(PHONE)
    person.check(name + "-phone")
    person.page.set_viewport_size({"width": 1280, "height": 900})


def ask_for_nav(platform, log) -> str:
    """The stafettholder asks to hand Emma's log to NAV, which consent does not cover."""
    asked = platform.client("teacher").post("/api/v1/handovers", json={
        "log_id": log["id"], "to_agency": NAV, "transition": "to_nav"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "consent_pending"
    return asked.json()["id"]


def signed_in(platform, browser, persona: str):
    person = browser(platform)
    person.login(who(persona))
    return person


def guardian_asked(platform, browser, menu: str):
    """Emma's log asked to go to NAV, and Ingrid logged in, on her way in through ``menu``."""
    log = emma_log(platform)
    handover_id = ask_for_nav(platform, log)
    ingrid = signed_in(platform, browser, "guardian")
    ingrid.page.get_by_role("navigation", name="Hovedmeny").get_by_role(
        "link", name=menu).click()
    return log, handover_id, ingrid


def handover_status(platform, persona, handover_id) -> str | None:
    answer = platform.client(persona).get(f"/api/v1/handovers/{handover_id}")
    return answer.json()["status"] if answer.status_code == 200 else None


@pytest.mark.timeout(300)  # a real browser, several pages
def test_the_guardian_consents_to_a_handover_from_the_notification(seeded, browser):
    _, handover_id, ingrid = guardian_asked(seeded, browser, "Innboks")
    notice = ingrid.page.get_by_role("link", name="En overføring venter på samtykke")
    wait_for(lambda: ingrid.page.goto("/innboks") and notice.count() > 0,
             timeout=20, interval=0.5, message="the notice that the handover needs consent")
    notice.first.click()  # opened: read, and on to the handover itself
    ingrid.page.wait_for_url(f"**/overganger/{handover_id}")
    page = ingrid.page
    assert page.get_by_role("heading", name="Vil dere samtykke til overgangen?").is_visible()
    section = main_text(ingrid)
    assert "Sier dere ja, gjelder det også for" in section and "NAV Havvik" in section
    assert "Solbakken skole" in section  # what the consent covers now
    check_both(ingrid, "handover-consent-asked")

    page.get_by_role("button", name="Ja, gi samtykke til overgangen").click()
    assert status_text(ingrid) == ("Takk. Samtykket er gitt, og virksomheten kan nå ta imot "
                                   "loggen.")
    wait_for(lambda: handover_status(seeded, "guardian", handover_id) == "awaiting_acceptance",
             timeout=20, interval=0.5, message="consent to offer the handover to NAV")
    ingrid.goto(f"/overganger/{handover_id}")
    assert "Venter på svar fra mottakeren" in main_text(ingrid)
    assert page.get_by_role("button", name="Ja, gi samtykke til overgangen").count() == 0
    check_both(ingrid, "handover-consent-given")
    ingrid.goto("/samtykker")
    assert "NAV Havvik" in main_text(ingrid)

    # the receiver has the offer now, and can answer it
    anne = signed_in(seeded, browser, "nav")
    anne.goto(f"/overganger/{handover_id}")
    assert anne.page.get_by_role("button", name="Godta overgangen").is_visible()


@pytest.mark.timeout(300)  # a real browser, several pages
def test_the_guardian_says_no_from_the_handover_page_and_the_sender_is_told(seeded, browser):
    log, handover_id, ingrid = guardian_asked(seeded, browser, "Overganger")
    ingrid.page.get_by_role("link", name="Emma Solberg: Til NAV").click()
    ingrid.page.get_by_role("button", name="Nei, ikke flytt loggen").click()
    assert status_text(ingrid) == ("Du har sagt nei. Loggen blir der den er, og den som ba om "
                                   "overgangen, har fått beskjed.")
    assert "Avbrutt" in main_text(ingrid)
    check_both(ingrid, "handover-consent-refused")
    assert handover_status(seeded, "teacher", handover_id) == "cancelled"

    lise = signed_in(seeded, browser, "teacher")
    wait_for(lambda: lise.page.goto("/innboks") and
             "Overføringen fikk ikke samtykke" in main_text(lise),
             timeout=20, interval=0.5, message="the stafettholder to be told of the refusal")
    lise.goto(f"/overganger/{handover_id}")
    assert "De som samtykker for barnet, sa nei" in main_text(lise)
    lise.check("handover-refused-seen-by-sender")
    # the log stays where it is, with the same stafettholder
    lise.goto(f"/logger/{log['id']}")
    assert "Din rolle: Stafettholder" in main_text(lise)


@pytest.mark.timeout(300)  # a real browser, several pages
def test_a_13_year_old_sees_who_consents_and_how_to_be_heard(seeded, browser):
    log = emma_log(seeded)
    emma = signed_in(seeded, browser, "child")
    emma.goto("/samtykker")
    page = emma.page
    assert page.get_by_role("heading", name="Hvem samtykker for deg").is_visible()
    text = main_text(emma)
    assert "Ingrid Solberg og Tor Solberg" in text or "Tor Solberg og Ingrid Solberg" in text
    assert "«Min stemme»" in text
    for control in ("Endre samtykket", "Gi samtykke", "Trekk tilbake samtykket",
                    "Godkjenn samtykket"):
        assert page.get_by_role("link", name=control).count() == 0, control
        assert page.get_by_role("button", name=control).count() == 0, control
    check_both(emma, "child-sees-who-consents")

    # the addresses of the controls explain, instead of showing a form she cannot send
    emma.goto(f"/samtykker/{log['child_id']}/nytt")
    assert page.get_by_role("heading", name="Hvem samtykker for deg").is_visible()
    assert page.locator("main form").count() == 0
    emma.goto(f"/samtykker/{log['consent_id']}/trekk-tilbake")
    assert page.locator("main form").count() == 0
    check_both(emma, "child-withdraw-address-explains")

    # the guardian still has the controls
    ingrid = browser(seeded)
    ingrid.login(who("guardian"))
    ingrid.goto("/samtykker")
    assert ingrid.page.get_by_role("link", name="Trekk tilbake samtykket").count() == 1
    assert ingrid.page.get_by_role("heading", name="Hvem samtykker for deg").count() == 0


@pytest.mark.timeout(300)  # a real browser, many pages
def test_minutes_turn_decisions_into_measures_once_the_meeting_has_begun(seeded, browser):
    log = emma_log(seeded)
    lise = browser(seeded)
    lise.login(who("teacher"))
    page = lise.page

    # a meeting ahead: nobody is ticked as invited, and no minutes before it begins
    lise.goto(f"/logger/{log['id']}/moter/nytt")
    invited = page.locator("input[name=invited]")
    assert invited.count() >= 3
    assert [invited.nth(i).is_checked() for i in range(invited.count())] == \
        [False] * invited.count()
    page.get_by_label("Dato").fill(day(7))
    page.get_by_label("Starter klokken").fill("14:00")
    page.get_by_label("Omar Haddad").check()
    page.get_by_role("button", name="Avtal møtet").click()
    assert status_text(lise) == "Møtet er avtalt. Gå til møtet"
    assert page.get_by_role("link", name="Skriv referat").count() == 0
    assert "Referatet kan skrives når møtet har begynt." in main_text(lise)

    # a meeting held yesterday (through the API: the form is above)
    teacher = seeded.client("teacher")
    held = teacher.post(f"/api/v1/logs/{log['id']}/meetings", json={
        "starts_at": f"{day(-1)}T14:00:00+01:00", "mode": "in_person",
        "invited": [log["teacher"], log["ppt"], log["ingrid"]]})
    assert held.status_code == 201, held.text
    lise.goto(f"/logger/{log['id']}")
    page.get_by_role("link", name="Skriv referat").click()
    attended = page.locator("input[name=attended]")
    assert attended.count() == 3
    assert not any(attended.nth(i).is_checked() for i in range(3))
    # decision 1: the writer is responsible, evaluated six weeks after today, to start with
    assert page.locator("#felt-decision-1-responsible-id").input_value() == log["teacher"]
    assert page.locator("#felt-decision-1-start-date").input_value() == day(0)
    assert page.locator("#felt-decision-1-evaluate-by").input_value() == day(42)
    check_both(lise, "minutes-form")

    page.get_by_label("Referat").fill("Vi ble enige om to tiltak.")
    page.get_by_label("Lise Aarseth").check()
    page.get_by_label("Omar Haddad").check()
    page.locator("#felt-decision-1-title").fill("Pulten nærmest døra")
    page.locator("#felt-decision-1-goal").fill("Lettere å komme i gang i timen")
    page.locator("#felt-decision-1-arena").select_option(label="Skolen")
    page.get_by_role("button", name="Legg til et vedtak til").click()
    # what was typed is kept, and a second block is there
    assert page.locator("#felt-decision-1-title").input_value() == "Pulten nærmest døra"
    assert page.get_by_label("Omar Haddad").is_checked()
    page.locator("#felt-decision-2-title").fill("Kartlegging av lesing")
    page.locator("#felt-decision-2-evaluate-by").fill("")
    page.get_by_role("button", name="Lagre referatet").click()
    # every error at once: goal, arena and date of decision 2, in one summary
    summary = page.locator(".error-summary").inner_text()
    for needed in ("Mål: Fyll ut mål.", "Arena: Velg arena.",
                   "Vurderes innen: Fyll ut vurderes innen."):
        assert needed in summary, summary
    assert page.locator("#felt-decision-1-title").input_value() == "Pulten nærmest døra"
    check_both(lise, "minutes-form-errors")
    page.locator("#felt-decision-2-goal").fill("Vite hva som gjør lesingen tung")
    page.locator("#felt-decision-2-arena").select_option(label="Annet")
    page.locator("#felt-decision-2-responsible-id").select_option(value=log["ppt"])
    page.locator("#felt-decision-2-evaluate-by").fill(day(30))
    page.get_by_role("button", name="Lagre referatet").click()
    assert status_text(lise) == "Referatet er lagret, og vedtakene er blitt tiltak. Gå til møtet"
    measures = {m["title"]: m for m in teacher.get(
        f"/api/v1/logs/{log['id']}/measures").json()["items"]}
    assert measures["Pulten nærmest døra"]["responsible_id"] == log["teacher"]
    assert measures["Pulten nærmest døra"]["evaluate_by"] == day(42)
    assert measures["Kartlegging av lesing"]["responsible_id"] == log["ppt"]
    assert measures["Kartlegging av lesing"]["evaluate_by"] == day(30)
    assert {m["meeting_id"] for m in measures.values()} == {held.json()["id"]}
    text = main_text(lise)
    assert "Pulten nærmest døra" in text and "Kartlegging av lesing" in text
    check_both(lise, "minutes-with-decisions")
