"""A log page that orients (issue 18, point 4), in Debian's Chromium: what needs action
first (an overdue measure, a red one, a proposal waiting, a pending handover) at the top,
each linking to the item; in-page navigation; evaluations shown, with who made them; a
confirmation that links to what was made; evaluations dated in the future or before the
measure started refused (the logs service's codes, in bokmål); the consent form's errors
all at once. axe on a desktop and at 375 px.

Before: the log was one long page in creation order, the overdue measure near the bottom
and the banner not linking to it, evaluations collapsed and unsigned, future-dated
evaluations accepted, and the consent page gave one error per submit.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from stafett.clock import local_today
from stafett.dev.demo import AGENCIES, PERSONAS
from tests.browser.support import emma_log

PHONE = {"width": 375, "height": 740}


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def day(n: int) -> str:
    return (local_today() + timedelta(days=n)).isoformat()


def check_both(person, name: str) -> None:
    person.check(name)
    person.page.set_viewport_size(PHONE)
    person.check(name + "-phone")
    person.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.timeout(300)  # a real browser, several pages
def test_the_log_shows_what_needs_action_first_and_links_to_it(seeded, browser):
    log = emma_log(seeded)
    teacher = seeded.client("teacher")
    base = f"/api/v1/logs/{log['id']}"

    def measure(title, **extra):
        made = teacher.post(f"{base}/measures", json={
            "title": title, "goal": "Bedre skoledager", "responsible_id": log["teacher"],
            "arena": "school", "start_date": day(-30), "evaluate_by": day(30), **extra})
        assert made.status_code == 201, made.text
        return made.json()["id"]

    late = measure("Kartlegging av lesing", evaluate_by=day(-2))
    red = measure("Leksehjelp etter skolen")
    assert teacher.post(f"{base}/measures/{red}/evaluations", json={
        "outcome": "red", "text": "Emma kommer ikke.", "evaluated_on": day(-1)}).status_code == 201
    for n in range(3):  # newer measures above them in creation order
        measure(f"Et nyere tiltak {n}")
    assert seeded.client("guardian").post(f"{base}/proposals", json={
        "title": "Lekser på skolen", "arena": "school"}).status_code == 201
    assert teacher.post("/api/v1/handovers", json={
        "log_id": log["id"], "to_agency": AGENCIES["nav"]["org_number"],
        "transition": "to_nav"}).status_code == 201

    lise = browser(seeded)
    lise.login(who("teacher"))
    lise.goto(f"/logger/{log['id']}")
    page = lise.page
    box = page.locator("section.needs-action")
    items = box.locator("li").all_inner_texts()
    assert items[0].startswith("Overgangen «Til NAV»"), items
    assert any("«Kartlegging av lesing» skulle vært vurdert innen" in i for i in items), items
    assert any("«Leksehjelp etter skolen» virker ikke (rødt)" in i for i in items), items
    assert any("Forslaget «Lekser på skolen» venter på svar" in i for i in items), items
    # above the rest of the page, and the measures in order of urgency
    assert page.evaluate("() => document.querySelector('section.needs-action')"
                         ".compareDocumentPosition(document.getElementById('tiltak')) & 4")
    titles = page.locator("#tiltak ~ ul.card-list h3, section[aria-labelledby=tiltak] h3"
                          ).all_inner_texts()
    assert titles[:2] == ["Kartlegging av lesing", "Leksehjelp etter skolen"], titles
    # evaluations shown, with who made them
    red_card = page.locator(f"#tiltak-{red}").locator("xpath=ancestor::li[1]")
    assert "Vurdert av Lise Aarseth" in red_card.inner_text()
    assert "Emma kommer ikke." in red_card.inner_text()
    # in-page navigation
    nav = page.get_by_role("navigation", name="På denne siden")
    assert nav.get_by_role("link", name="Møter").get_attribute("href") == "#moter"
    check_both(lise, "log-needs-action")

    # the overdue banner and the box lead to the measure itself
    page.get_by_role("link", name=re.compile("1 tiltak skulle vært vurdert")).click()
    assert page.url.endswith(f"#tiltak-{late}")
    box.get_by_role("link", name=re.compile("«Kartlegging av lesing»")).click()
    assert page.url.endswith(f"#tiltak-{late}")

    # evaluating: a future date and one before the start are refused, together with the rest
    lise.goto(f"/logger/{log['id']}/tiltak/{late}/vurdering")
    page.get_by_label("Dato for vurderingen").fill(day(1))
    page.get_by_role("button", name="Lagre vurderingen").click()
    summary = page.locator(".error-summary").inner_text()
    assert "Velg hvordan tiltaket virker" in summary and "Skriv vurderingen." in summary
    page.get_by_label("Gul").check()
    page.locator("#felt-text").fill("Kartleggingen er halvveis.")
    page.get_by_role("button", name="Lagre vurderingen").click()
    assert page.locator("#felt-evaluated-on-error").text_content() == (
        "Feil: Datoen for vurderingen kan ikke være fram i tid. Vurder det som har skjedd "
        "til nå.")
    page.get_by_label("Dato for vurderingen").fill(day(-31))
    page.get_by_role("button", name="Lagre vurderingen").click()
    assert page.locator("#felt-evaluated-on-error").text_content() == \
        "Feil: Datoen for vurderingen kan ikke være før tiltaket startet."
    check_both(lise, "evaluation-date-refused")
    page.get_by_label("Dato for vurderingen").fill(day(0))
    page.get_by_role("button", name="Lagre vurderingen").click()
    # the confirmation links to what was made
    status = page.get_by_role("status")
    assert status.inner_text() == "Vurderingen er lagret. Gå til tiltaket"
    assert status.get_by_role("link", name="Gå til tiltaket").get_attribute("href") == \
        f"#tiltak-{late}"
    assert page.url.endswith(f"#tiltak-{late}")
    check_both(lise, "evaluation-confirmed")


@pytest.mark.timeout(300)  # a real browser, several pages
def test_the_consent_form_gives_all_its_errors_at_once(seeded, browser):
    log = emma_log(seeded)
    ingrid = browser(seeded)
    ingrid.login(who("guardian"))
    ingrid.goto(f"/samtykker/{log['child_id']}/nytt")
    page = ingrid.page
    checked = page.locator("input[type=checkbox]:checked")
    while checked.count():
        checked.first.uncheck()
    page.get_by_label("Hva skal samarbeidet handle om?").fill("")
    page.get_by_label("Samtykket gjelder til og med").fill(day(-1))
    page.get_by_role("button", name="Gi samtykke").click()
    summary = page.locator(".error-summary").inner_text()
    for message in ("Skriv hva samarbeidet skal handle om.",
                    "Velg minst én virksomhet eller type virksomhet.",
                    "Sluttdatoen må være etter startdatoen."):
        assert message in summary, summary
    check_both(ingrid, "consent-form-all-errors")
