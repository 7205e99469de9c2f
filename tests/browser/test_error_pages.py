"""Errors are the client's own pages (issue 18, point 7), in Debian's Chromium: an unknown
address, a log that does not exist, a log the person has no access to (404 from the
service) and a page of a log the person may not see (403 from the service) all give the
same page: 404, a title, ``lang="nb"``, the navigation kept, and what to do next. A
stranger cannot tell from it whether a log exists. The API keeps answering problem+json.
"""
from __future__ import annotations

import pytest
import requests

from stafett.dev.demo import PERSONAS
from tests.browser.support import emma_log

NOT_FOUND_TITLE = "Fant ikke siden – Stafett"


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def error_page(person, path: str) -> str:
    """The page at ``path``: checked to be the not-found page; its main text."""
    answer = person.page.goto(path)
    assert answer.status == 404, path
    assert person.page.title() == NOT_FOUND_TITLE, path
    assert person.page.locator("html").get_attribute("lang") == "nb", path
    assert person.page.get_by_role("heading", level=1).inner_text() == "Fant ikke siden"
    return person.page.locator("main").inner_text()


@pytest.mark.timeout(300)  # a real browser, several pages
def test_unknown_addresses_and_lost_access_are_one_page_that_says_what_to_do(seeded, browser):
    log = emma_log(seeded)  # consent for the school, PPT and health; Omar (PPT) is in it

    # child welfare is not in Emma's log: the log, a page of it, an unknown id, an unknown
    # address all read the same, word for word
    per = browser(seeded)
    per.login(who("child-welfare"))
    texts = {path: error_page(per, path) for path in (
        f"/logger/{log['id']}", f"/logger/{log['id']}/innsyn", "/logger/" + "0" * 36,
        "/finnes/ikke", "/logger/" + "a" * 500)}
    assert len(set(texts.values())) == 1, texts
    text = next(iter(texts.values()))
    assert "Sjekk at adressen er riktig" in text
    assert "Mine logger" in text and "Innboks" in text
    assert "samtykke" in text           # why access can end, said to everyone alike
    # the navigation is kept, and leads on
    menu = per.page.get_by_role("navigation", name="Hovedmeny")
    assert menu.get_by_role("link", name="Mine logger").count() == 1
    per.check("not-found-staff")
    per.page.get_by_role("main").get_by_role("link", name="Gå til Mine logger").click()
    per.page.wait_for_url("**/logger")

    # Omar (PPT, in the log) may read it but not its access log: a 403 from the service,
    # the same page
    omar = browser(seeded)
    omar.login(who("ppt"))
    assert error_page(omar, f"/logger/{log['id']}/innsyn") == text
    assert omar.page.goto(f"/logger/{log['id']}").status == 200

    # someone not logged in gets the page too, with the way in instead of the menu
    anonymous = browser(seeded)
    stranger_text = error_page(anonymous, "/finnes/ikke")
    assert anonymous.page.get_by_role("navigation", name="Hovedmeny").count() == 0
    assert anonymous.page.get_by_role("main").get_by_role("link", name="Logg inn").count() == 1
    assert "Sjekk at adressen er riktig" in stranger_text
    anonymous.check("not-found-anonymous")

    # the API still answers problem+json, unknown paths included
    api = requests.get(seeded.url() + "/api/v1/finnes-ikke", timeout=10)
    assert api.status_code == 404
    assert api.headers["Content-Type"] == "application/problem+json"
