"""The log's actions as pages (issue 18, point 5), in Debian's Chromium, by keyboard only:
change the level, edit and end a measure, remove a participant, pass the baton (Lise, the
stafettholder), then close the log (Omar, who took the baton). Each page is axe-clean at
desktop width and at 375 px, with and without its error summary; each form is reached from
the log page with Tab and submitted with Enter or Space.

Before: the API did each of these, and the web client had no page for any of them.
"""
from __future__ import annotations

import re

import pytest

from stafett.dev.demo import PERSONAS
from tests.browser.keyboard import (check_both, follow, from_summary, press, refused, tab_to,
                                    type_into)


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def meta(person) -> str:
    return person.page.locator("main p.meta").first.inner_text()


@pytest.mark.timeout(600)  # a real browser, many pages, every key pressed one by one
def test_the_stafettholder_changes_level_ends_a_measure_removes_passes_and_closes(
        seeded, browser):
    emma = seeded.seed_stories()["emma"]
    lise = browser(seeded)
    lise.login(who("teacher"))
    lise.goto(f"/logger/{emma}")
    assert "Nivå 2" in meta(lise)

    # -- the level: the checked level, ArrowDown, Enter submits
    follow(lise, "Endre nivå", rf".*/logger/{emma}/niva$", "level")
    tab_to(lise, name="level", checked=True)
    press(lise, "ArrowDown")  # nivå 2 -> nivå 3
    follow(lise, "Lagre nivået", r".*melding=niva$")
    assert "BTI-nivået er endret." in lise.page.locator("main [role=status]").inner_text()
    assert "Nivå 3 – helhetlig samarbeid" in meta(lise)

    # -- end a measure: an empty title is refused first, then "Fullført" by arrow keys
    follow(lise, "Endre eller avslutt tiltaket «Pulten nærmest døra»",
           r".*/tiltak/[^/]+/endre$", "edit-measure")
    tab_to(lise, name="title")
    press(lise, "Control+A")
    press(lise, "Delete")
    summary = refused(lise, "Lagre endringene", "edit-measure-error")
    assert "Tittel: Fyll ut tittel." in summary
    from_summary(lise, "Tittel: Fyll ut tittel.")  # the summary's link: to the field
    assert lise.page.evaluate("() => document.activeElement.name") == "title"
    lise.page.keyboard.type("Pulten nærmest døra – fast plass")
    tab_to(lise, name="status", checked=True)
    # the measure's own status is checked (a proposal made a measure: "Planlagt")
    assert lise.page.evaluate("() => document.activeElement.value") in ("planned", "active")
    for _ in range(3):  # down the statuses to "Fullført"
        if lise.page.evaluate("() => document.activeElement.value") == "completed":
            break
        press(lise, "ArrowDown")
    assert lise.page.evaluate("() => document.activeElement.value") == "completed"
    follow(lise, "Lagre endringene", r".*melding=tiltak-endret.*")
    card = lise.page.locator("article", has_text="Pulten nærmest døra – fast plass")
    assert "Fullført" in card.inner_text()

    # -- remove a participant: the confirmation page, then its button (Space)
    follow(lise, "Fjern Hanne Vik fra loggen", r".*/deltakere/[^/]+/fjern$",
           "remove-participant")
    assert lise.page.locator("h1").inner_text() == "Fjern Hanne Vik fra loggen"
    tab_to(lise, text="Fjern fra loggen")
    press(lise, "Space")
    lise.page.wait_for_url(re.compile(r".*melding=deltaker-fjernet$"))
    people = lise.page.locator("#deltakere + ul").inner_text()
    assert "Hanne Vik" not in people and "Omar Haddad" in people

    # -- pass the baton: a select, chosen by typing its first letters
    follow(lise, "Gi stafettpinnen videre", r".*/gi-stafettpinnen$", "pass-baton")
    type_into(lise, "participant_id", "Omar")
    assert lise.page.evaluate(
        "() => document.activeElement.selectedOptions[0].textContent").startswith("Omar Haddad")
    follow(lise, "Gi stafettpinnen videre", r".*melding=stafettpinne-gitt$", tag="button")
    assert "Stafettholder: Omar Haddad" in meta(lise)
    # no longer the stafettholder: none of the stafettholder's links
    for link in ("Endre nivå", "Lukk loggen", "Gi stafettpinnen videre"):
        assert lise.page.get_by_role("link", name=link).count() == 0, link

    # -- close: Omar, now stafettholder; an empty reason first
    omar = browser(seeded)
    omar.login(who("ppt"))
    omar.goto(f"/logger/{emma}")
    follow(omar, "Lukk loggen", r".*/lukk$", "close")
    refused(omar, "Lukk loggen", "close-error", tag="button")
    type_into(omar, "reason", "Emma trives og tiltakene er fullført.")
    follow(omar, "Lukk loggen", r".*melding=lukket$", tag="button")
    notice = omar.page.locator("main .notice-info").first.inner_text()
    assert "Loggen er lukket" in notice and "Emma trives og tiltakene er fullført." in notice
    assert omar.page.get_by_role("link", name=re.compile("Endre eller avslutt")).count() == 0
    check_both(omar, "closed-log")
