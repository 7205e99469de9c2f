"""Notifications that lead somewhere (issue 18, point 3), in Debian's Chromium: the inbox
names the child's first name, the measure or meeting and the date (as the logs service
lets the recipient know); each item leads to the item itself on the log's page and is
read once opened; the navigation shows the unread count. axe on a desktop and at 375 px.

Before: "Du er satt som ansvarlig for et nytt tiltak i en stafettlogg. Logg inn for å se
tiltaket." to someone logged in, with no child, no measure, no link to the item, and it
stayed unread after opening.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from stafett.clock import local_today
from stafett.dev.demo import PERSONAS
from tests.browser.support import emma_log
from tests.support.platform import wait_for

PHONE = {"width": 375, "height": 740}
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
          "september", "oktober", "november", "desember")


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def norsk(days: int) -> str:
    day = local_today() + timedelta(days=days)
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def inbox_link(person):
    return person.page.get_by_role("navigation", name="Hovedmeny").get_by_role(
        "link", name=re.compile("^Innboks"))


@pytest.mark.timeout(300)  # a real browser, several pages
def test_an_inbox_item_names_the_child_and_the_measure_and_leads_to_it(seeded, browser):
    log = emma_log(seeded)
    teacher = seeded.client("teacher")
    added = teacher.post(f"/api/v1/logs/{log['id']}/measures", json={
        "title": "Kartlegging av lesing", "goal": "Vite hva som gjør lesingen tung",
        "responsible_id": log["ppt"], "arena": "other",
        "start_date": local_today().isoformat(),
        "evaluate_by": (local_today() + timedelta(days=21)).isoformat()})
    assert added.status_code == 201, added.text
    measure_id = added.json()["id"]

    omar = browser(seeded)
    omar.login(who("ppt"))
    wait_for(lambda: omar.page.goto("/logger") and inbox_link(omar).inner_text() != "Innboks",
             timeout=20, interval=0.5, message="the notice to reach Omar's inbox")
    assert inbox_link(omar).inner_text().split() == ["Innboks", "1", "ulest"]
    inbox_link(omar).click()
    page = omar.page
    title = "Nytt tiltak for Emma: «Kartlegging av lesing»"
    item = page.locator("main li.card", has_text=title)
    assert item.count() == 1
    text = item.inner_text()
    assert f"Det skal vurderes innen {norsk(21)}." in text
    assert "Logg inn" not in text and "Ulest" in text
    omar.check("inbox-names-the-measure")
    page.set_viewport_size(PHONE)
    omar.check("inbox-names-the-measure-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # opening it goes to the measure itself, and it is read
    page.get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(rf".*/logger/{log['id']}#tiltak-{measure_id}$"))
    target = page.locator(f"#tiltak-{measure_id}")
    assert target.inner_text() == "Kartlegging av lesing"
    assert target.is_visible()
    assert page.evaluate("() => document.querySelector(':target').id") == \
        f"tiltak-{measure_id}"
    assert inbox_link(omar).inner_text() == "Innboks"  # no unread left
    omar.check("opened-the-measure")
    inbox_link(omar).click()
    assert "Ulest" not in page.locator("main li.card", has_text=title).inner_text()
    assert page.get_by_role("button", name=re.compile("^Merk som lest")).count() == 0
