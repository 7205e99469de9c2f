"""The rest of what staff and the family do, by clicking: meetings and minutes, entries,
answering proposals, handovers (declined, then accepted and completed), the inbox, and
withdrawing consent. The log itself is set up through the API (tests/browser/support.py)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from stafett.dev.demo import PERSONAS
from tests.browser.support import emma_log
from tests.support.platform import wait_for


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def day(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def status_text(person) -> str:
    return person.page.get_by_role("status").inner_text()


def main_text(person) -> str:
    return person.page.locator("main").inner_text()


@pytest.mark.timeout(300)  # a real browser, many pages
def test_meetings_minutes_entries_and_proposals(seeded, browser):
    log = emma_log(seeded)
    seeded.client("guardian").post(f"/api/v1/logs/{log['id']}/proposals", json={
        "title": "Lekser på skolen", "arena": "school", "goal": "Roligere ettermiddager"})

    lise = browser(seeded)
    lise.login(who("teacher"))
    lise.goto(f"/logger/{log['id']}")
    lise.page.get_by_role("link", name="Avtal et møte").click()
    lise.check("meeting-form")
    page = lise.page
    page.get_by_label("Dato").fill(day(-1))  # held yesterday: minutes can be written
    page.get_by_label("Starter klokken").fill("14:00")
    page.get_by_label("Slutter klokken").fill("13:00")
    page.get_by_label("Sted").fill("Møterom 2, Solbakken skole")
    page.get_by_label("Saker på møtet").fill("Hvordan går det nå? Veien videre.")
    for invited in ("Lise Aarseth", "Omar Haddad", "Ingrid Solberg"):  # nobody is ticked
        page.get_by_label(invited).check()
    page.get_by_role("button", name="Avtal møtet").click()
    assert page.locator("#felt-ends-error").text_content() == \
        "Feil: Møtet må slutte etter at det begynner."
    assert page.get_by_label("Sted").input_value() == "Møterom 2, Solbakken skole"
    assert page.get_by_label("Omar Haddad").is_checked()
    lise.check("meeting-form-errors")
    page.get_by_label("Slutter klokken").fill("15:00")
    page.get_by_role("button", name="Avtal møtet").click()
    assert status_text(lise) == "Møtet er avtalt. Gå til møtet"
    assert "Møterom 2, Solbakken skole" in main_text(lise)

    page.get_by_role("link", name="Skriv referat").click()
    lise.check("minutes-form")
    page.get_by_label("Referat").fill("Emma har kommet på skolen hver dag. Vi fortsetter.")
    page.get_by_label("Lise Aarseth").check()  # Ingrid did not come
    page.get_by_role("button", name="Lagre referatet").click()
    assert status_text(lise) == "Referatet er lagret. Gå til møtet"
    assert "Emma har kommet på skolen hver dag." in main_text(lise)

    page.get_by_role("link", name="Skriv i loggen").click()
    lise.check("entry-form")
    page.get_by_label("Lysglimt").check()
    page.get_by_label("Bare ansatte i loggen").check()
    page.get_by_label("Tekst").fill("Emma svarte i timen i dag.")
    page.get_by_role("button", name="Lagre innlegget").click()
    assert status_text(lise) == "Innlegget er lagret. Gå til innlegget"
    assert "Bare ansatte ser dette" in main_text(lise)
    lise.check("log-with-meeting-and-entry")

    page.get_by_role("link", name="Svar på forslaget «Lekser på skolen»").click()
    page.get_by_role("button", name="Svar nei til forslaget").click()
    assert page.locator("#felt-reason-error").text_content() == "Feil: Fyll ut begrunnelse."
    lise.check("proposal-answer-errors")
    page.get_by_label("Begrunnelse").fill("Vi prøver leksehjelp på biblioteket først.")
    page.get_by_role("button", name="Svar nei til forslaget").click()
    assert status_text(lise) == "Du har svart nei til forslaget."

    ingrid = browser(seeded)
    ingrid.login(who("guardian"))
    ingrid.goto(f"/logger/{log['id']}")
    text = main_text(ingrid)
    assert "Ikke godtatt" in text and "Begrunnelse: Vi prøver leksehjelp på biblioteket først." in text
    assert "Emma svarte i timen i dag." not in text  # staff only
    assert "Emma har kommet på skolen hver dag." in text  # the minutes are for everyone
    ingrid.check("guardian-sees-the-answer")


@pytest.mark.timeout(300)  # a real browser, many pages
def test_handovers_declined_then_accepted_and_completed(seeded, browser):
    log = emma_log(seeded)
    lise = browser(seeded)
    lise.login(who("teacher"))

    def request_handover(note):
        lise.goto(f"/logger/{log['id']}")
        lise.page.get_by_role("link", name="Start en overgang").click()
        lise.page.get_by_label("Til virksomhet").select_option(label="PPT Havvik")
        lise.page.get_by_label("Hva slags overgang?").select_option(label="Annen overgang")
        lise.page.get_by_label("Hvem skal ta imot?").select_option(label="Omar Haddad, PPT Havvik")
        lise.page.get_by_label("Melding til mottakeren").fill(note)
        lise.check("handover-form")
        lise.page.get_by_role("button", name="Send forespørselen").click()
        assert status_text(lise) == "Forespørselen om overgang er sendt."
        assert "Venter på svar fra mottakeren" in main_text(lise)

    request_handover("PPT følger opp lesingen videre.")
    lise.check("handovers-sent")

    omar = browser(seeded)
    omar.login(who("ppt"))
    omar.page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Overganger").click()
    omar.check("handovers-incoming")
    omar.page.get_by_role("link", name="Emma Solberg: Annen overgang").click()
    assert "PPT følger opp lesingen videre." in main_text(omar)
    omar.check("handover-to-answer")
    omar.page.get_by_label("Begrunnelse").fill("Vi har ikke kapasitet før nyttår.")
    omar.page.get_by_role("button", name="Avslå overgangen").click()
    assert status_text(omar) == "Du har avslått overgangen."

    lise.goto("/overganger")
    assert "Avslått" in main_text(lise)
    request_handover("Nytt forsøk etter nyttår.")

    omar.goto("/overganger")
    omar.page.get_by_role("link", name="Emma Solberg: Annen overgang").first.click()
    omar.page.get_by_role("button", name="Godta overgangen").click()
    assert omar.page.locator("#felt-new-stafettholder-person-id-error").text_content() == \
        "Feil: Velg ny stafettholder."
    omar.check("handover-accept-errors")
    omar.page.get_by_label("Ny stafettholder").select_option(label="Omar Haddad – PP-rådgiver")
    omar.page.get_by_role("button", name="Godta overgangen").click()
    assert status_text(omar) == "Du har godtatt overgangen. Loggen flyttes til dere."

    def completed():
        omar.goto("/overganger")
        return "Fullført" in main_text(omar)
    wait_for(completed, timeout=20, interval=0.5, message="the handover to complete")
    omar.goto(f"/logger/{log['id']}")
    assert "Din rolle: Stafettholder" in main_text(omar)
    omar.check("new-stafettholder")

    omar.page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Innboks").click()
    unread = omar.page.get_by_role("button", name="Merk som lest").count()
    if unread:
        omar.page.get_by_role("button", name="Merk som lest").first.click()
        assert status_text(omar) == "Varselet er merket som lest."
        assert omar.page.get_by_role("button", name="Merk som lest").count() == unread - 1


@pytest.mark.timeout(300)  # a real browser, many pages
def test_the_guardian_withdraws_consent_and_the_school_loses_the_log(seeded, browser):
    log = emma_log(seeded)
    ingrid = browser(seeded)
    ingrid.login(who("guardian"))
    ingrid.goto("/samtykker")
    ingrid.check("consents-active")
    ingrid.page.get_by_role("link", name="Trekk tilbake samtykket").click()
    ingrid.check("withdraw-confirm")
    ingrid.page.get_by_role("button", name="Trekk tilbake samtykket").click()
    assert status_text(ingrid) == "Samtykket er trukket tilbake."
    assert "Trukket tilbake" in main_text(ingrid)
    ingrid.check("consent-withdrawn")

    lise = browser(seeded)
    lise.login(who("teacher"))
    assert lise.page.goto(f"/logger/{log['id']}").status == 404
    lise.goto("/samtykker")
    lise.check("staff-consents-after-withdrawal")


@pytest.mark.timeout(300)  # a real browser, many pages
def test_changing_consent_starts_from_the_one_in_force(seeded, browser):
    emma_log(seeded)  # consent for Solbakken skole, PPT and health
    ingrid = browser(seeded)
    ingrid.login(who("guardian"))
    ingrid.goto("/samtykker")
    ingrid.page.get_by_role("link", name="Endre samtykket for Emma Solberg").click()
    page = ingrid.page
    assert page.get_by_role("heading", level=1).inner_text() == "Endre samtykket"
    assert page.get_by_label("PPT", exact=True).is_checked()
    assert page.get_by_label("Solbakken skole").is_checked()
    assert page.get_by_label("Hva skal samarbeidet handle om?").input_value() == \
        "Samarbeid om skolehverdagen"
    ingrid.check("consent-change-form")
    page.get_by_label("NAV", exact=True).check()
    page.get_by_role("button", name="Gi samtykke").click()
    assert status_text(ingrid) == "Samtykket er registrert."
    text = main_text(ingrid)
    assert "Erstattet av et nytt samtykke" in text and "NAV" in text
