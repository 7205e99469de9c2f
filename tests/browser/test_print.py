"""Printing (issue 18, point 6), in Debian's Chromium: the log's print view, the log page
itself and the meeting preparation view, each printed to PDF (``page.pdf``, which prints
with the print stylesheet) and read back with pypdf. On paper: no navigation and no
buttons, every evaluation shown (none collapsed), who printed it and when, and the notes
only staff see left out unless chosen. The print view and the preparation view are
axe-clean at desktop width and 375 px, and their options are reached and sent by keyboard.

Before: the log printed its navigation and buttons, its evaluations collapsed, and the
staff-only notes included.
"""
from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from stafett.dev.demo import PERSONAS
from tests.browser.conftest import ARTIFACTS
from tests.browser.keyboard import check_both, follow, press, tab_to

STAFF_NOTE = "PPT venter på svar fra lærer om leseprøve"
EVALUATION = "Emma kommer inn i timen uten å stoppe opp"
CHROME = ("Mine logger", "Logg ut", "Hopp til hovedinnholdet", "Oppdater utskriften",
          "Avtal et møte", "Legg til en deltaker", "Vurder tiltaket", "Endre eller avslutt",
          "Forbered møtet", "Tilbake til loggen", "Skriv ut ")


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def printed(person, name: str) -> str:
    """The page printed to PDF, as text (whitespace made single spaces)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{person.prefix}--{name}.pdf"
    person.page.pdf(path=str(path), format="A4")
    text = " ".join(page.extract_text() for page in PdfReader(str(path)).pages)
    return re.sub(r"\s+", " ", text)


def with_internal_notes(person, url: str, name: str) -> str:
    """Tick "Ta med notater som bare ansatte ser" and send the options, by keyboard;
    the page printed then."""
    tab_to(person, name="interne")
    press(person, "Space")
    follow(person, "Oppdater utskriften", url, name)
    return printed(person, name)


def no_chrome(text: str) -> None:
    for word in CHROME:
        assert word not in text, f"{word!r} is printed"


@pytest.mark.timeout(600)
def test_the_log_and_the_meeting_preparation_print_without_chrome(seeded, browser):
    emma = seeded.seed_stories()["emma"]
    lise = browser(seeded)
    lise.login(who("teacher"))

    # the print view, reached from the log page by keyboard
    lise.goto(f"/logger/{emma}")
    follow(lise, "Skriv ut", rf".*/logger/{emma}/utskrift$", "print-view")
    text = printed(lise, "print-view")
    assert "Stafettloggen til Emma Solberg" in text
    assert re.search(r"Skrevet ut \d+\. \w+ \d{4} kl\. \d\d\.\d\d av Lise Aarseth", text), text
    assert EVALUATION in text and "Kartlegging av lese- og skriveferdigheter" in text
    assert "Det er lettere når gangen er tom" in text
    assert STAFF_NOTE not in text
    no_chrome(text)

    # staff-only notes, when chosen: the checkbox and its button, by keyboard
    text = with_internal_notes(lise, r".*/utskrift\?interne=1$", "print-view-internal")
    assert STAFF_NOTE in text and EVALUATION in text
    no_chrome(text)

    # the log page itself, printed: the stylesheet hides the chrome and the staff note
    lise.goto(f"/logger/{emma}")
    text = printed(lise, "log-page")
    assert "Stafettloggen til Emma Solberg" in text and EVALUATION in text
    assert STAFF_NOTE not in text
    no_chrome(text)

    # the meeting preparation view, from the meeting's card
    lise.goto(f"/logger/{emma}")
    follow(lise, "Forbered møtet", r".*/moter/[^/]+/forberedelse$", "preparation")
    heading = lise.page.locator("h1").inner_text()
    assert heading.startswith("Forberedelse til møtet") and "kl. 14.00" in heading
    shown = lise.page.locator("main").inner_text()
    assert "Det er lettere når gangen er tom" in shown  # the child's latest voice
    assert "Kartlegging av lese- og skriveferdigheter" in shown  # an open measure
    assert STAFF_NOTE in shown  # on screen, marked; on paper only when chosen
    text = printed(lise, "preparation")
    assert "Forberedelse til møtet" in text and "Barnets stemme" in text
    assert "Det er lettere når gangen er tom" in text and "Åpne tiltak" in text
    assert re.search(r"Skrevet ut .* av Lise Aarseth", text)
    assert STAFF_NOTE not in text
    no_chrome(text)
    assert STAFF_NOTE in with_internal_notes(lise, r".*/forberedelse\?interne=1$",
                                             "preparation-internal")

    # the family's print view: no staff notes to choose, none printed
    ingrid = browser(seeded)
    ingrid.login(who("guardian"))
    ingrid.goto(f"/logger/{emma}/utskrift?interne=1")
    assert ingrid.page.locator("input[name=interne]").count() == 0
    check_both(ingrid, "print-view-guardian")
    text = printed(ingrid, "print-view-guardian")
    assert "Skrevet ut" in text and "Ingrid Solberg" in text
    assert STAFF_NOTE not in text
    no_chrome(text)
