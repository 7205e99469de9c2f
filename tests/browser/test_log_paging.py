"""The log's page shows the newest of each list, and "Vis flere" / "Eldre" page through the
rest, by keyboard (the logs service pages them: services/logs/lists.py)."""
from __future__ import annotations

import re

import pytest

from stafett.dev.demo import PERSONAS
from tests.browser.support import emma_log
from tests.browser.test_accessibility import tab_to


def entries_shown(person, where: str = "main") -> list[int]:
    return [int(n) for n in re.findall(r"Innlegg nummer (\d+)",
                                       person.page.locator(where).inner_text())]


ENTRIES = "section[aria-labelledby=innlegg]"  # on the log's page (the timeline has some too)


@pytest.mark.timeout(300)  # a real browser, several pages
def test_the_log_shows_the_newest_entries_and_pages_to_the_rest_by_keyboard(seeded, browser):
    log = emma_log(seeded)
    guardian = seeded.client("guardian")
    for n in range(45):
        assert guardian.post(f"/api/v1/logs/{log['id']}/entries", json={
            "kind": "note", "text": f"Innlegg nummer {n}"}).status_code == 201

    ingrid = browser(seeded)
    ingrid.login(PERSONAS["guardian"]["description"])
    ingrid.goto(f"/logger/{log['id']}")
    page = ingrid.page
    assert entries_shown(ingrid, ENTRIES) == list(range(44, 24, -1))  # the newest 20
    assert "(20 av 45 vises her)" in page.locator(ENTRIES).inner_text()
    ingrid.check("log-with-more-entries")

    tab_to(page, "Vis flere innlegg")
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="Innlegg").wait_for()
    assert entries_shown(ingrid) == list(range(24, 4, -1))
    ingrid.check("entries-second-page")
    tab_to(page, "Eldre")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/innlegg\?side=.+"))
    assert entries_shown(ingrid) == [4, 3, 2, 1, 0]
    assert page.get_by_role("link", name="Eldre").count() == 0  # the end
    page.get_by_role("link", name="Til de nyeste").click()
    page.wait_for_url(re.compile(r".*/innlegg$"))
    assert entries_shown(ingrid) == list(range(44, 24, -1))
