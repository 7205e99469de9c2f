"""WCAG 2.1 AA: every page of the web client through axe-core (wcag2a, wcag2aa, wcag21a,
wcag21aa) in Debian's headless Chromium, in the states a person meets them in (empty,
filled, with form errors, the error pages); and the main flow with the keyboard only.

The other browser tests run axe on every page they visit as well (``Browser.check``)."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from stafett.dev.demo import EMMA, PERSONAS
from tests.browser.support import emma_log


def day(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


@pytest.mark.timeout(300)  # a real browser, many pages
def test_every_page_passes_axe(seeded, browser):
    stories = seeded.seed_stories()  # Emma, Jonas and Sara: green, yellow, red, overdue
    emma = stories["emma"]
    teacher = seeded.client("teacher")
    log = teacher.get(f"/api/v1/logs/{emma}").json()
    measure = next(m for m in log["measures"] if m["status"] != "stopped")
    meeting = next(m for m in log["meetings"] if not m.get("minutes"))
    proposal = log["proposals"][0]

    anonymous = browser(seeded)
    for name, path in (("start", "/"), ("dev-personas", "/logg-inn/dev"),
                       ("logged-out", "/logg-inn?utlogget=1"),
                       ("login-refused", "/auth/callback?error=access_denied")):
        anonymous.goto(path)
        anonymous.check(name)

    lise = browser(seeded)
    lise.login(who("teacher"))
    staff_pages = {
        "staff-my-logs": "/logger", "staff-log": f"/logger/{emma}",
        "timeline": f"/logger/{emma}/tidslinje", "staff-access-log": f"/logger/{emma}/innsyn",
        "measure-form": f"/logger/{emma}/tiltak/nytt",
        "evaluation-form": f"/logger/{emma}/tiltak/{measure['id']}/vurdering",
        "meeting-form": f"/logger/{emma}/moter/nytt",
        "minutes-form": f"/logger/{emma}/moter/{meeting['id']}/referat",
        "entry-form": f"/logger/{emma}/innlegg/nytt",
        "participant-form": f"/logger/{emma}/deltakere/ny",
        "handover-form": f"/logger/{emma}/overgang",
        "proposal-answer": f"/logger/{emma}/forslag/{proposal['id']}",
        "entries-page": f"/logger/{emma}/innlegg", "measures-page": f"/logger/{emma}/tiltak",
        "meetings-page": f"/logger/{emma}/moter", "proposals-page": f"/logger/{emma}/forslag",
        "evaluations-page": f"/logger/{emma}/tiltak/{measure['id']}/vurderinger",
        "new-log-form": "/logger/ny", "staff-inbox": "/innboks",
        "staff-consents": "/samtykker", "staff-handovers": "/overganger"}
    for name, path in staff_pages.items():
        assert lise.page.goto(path).status == 200, path
        lise.check(name)
    # forms with errors next to their fields
    for name, path, button in (
            ("new-log-errors", "/logger/ny", "Opprett loggen"),
            ("measure-errors", f"/logger/{emma}/tiltak/nytt", "Legg til tiltaket"),
            ("evaluation-errors", f"/logger/{emma}/tiltak/{measure['id']}/vurdering",
             "Lagre vurderingen"),
            ("meeting-errors", f"/logger/{emma}/moter/nytt", "Avtal møtet"),
            ("entry-errors", f"/logger/{emma}/innlegg/nytt", "Lagre innlegget")):
        lise.goto(path)
        lise.page.get_by_role("button", name=button).click()
        lise.page.locator("[data-error-summary]").wait_for()
        lise.check(name)
    lise.goto("/logger/ny")
    lise.page.get_by_label("Barnets fødselsnummer").fill("12345678901")
    lise.page.get_by_role("button", name="Opprett loggen").click()
    assert "Skriv et gyldig fødselsnummer" in lise.page.locator("#felt-national-id-error").inner_text()
    lise.check("new-log-invalid-number")
    # a form whose CSRF token is not the session's: the 403 page
    lise.goto(f"/logger/{emma}/innlegg/nytt")
    lise.page.evaluate("document.querySelector('main form input[name=csrf_token]').value = 'feil'")
    lise.page.get_by_label("Tekst").fill("Hei")
    lise.page.get_by_role("button", name="Lagre innlegget").click()
    assert lise.page.get_by_role("heading", level=1).inner_text() == "Du har ikke tilgang"
    lise.check("csrf-refused")
    assert lise.page.goto("/logger/" + "0" * 36).status == 404
    lise.check("not-found")

    # Jonas's log in the kindergarten: a red measure, as a badge on "Mine logger" and the log
    siri = browser(seeded)
    siri.login(who("kindergarten-teacher"))
    assert "1 tiltak virker ikke" in siri.page.locator("main").inner_text()
    siri.check("staff-my-logs-red")
    siri.goto(f"/logger/{stories['jonas']}")
    card = siri.page.get_by_role("article", name="Språkgruppe tre ganger i uka").inner_text()
    assert "Rød – virker ikke" in card
    siri.check("staff-log-red")

    ingrid = browser(seeded)
    ingrid.login(who("guardian"))
    consent = seeded.client("guardian").get(
        f"/api/v1/children/{log['child_id']}/consents").json()["items"][0]
    for name, path in (("guardian-my-logs", "/logger"), ("guardian-log", f"/logger/{emma}"),
                       ("guardian-proposal-form", f"/logger/{emma}/forslag/nytt"),
                       ("guardian-voice-form", f"/logger/{emma}/min-stemme"),
                       ("guardian-access-log", f"/logger/{emma}/innsyn"),
                       ("guardian-consents", "/samtykker"),
                       ("consent-form", f"/samtykker/{log['child_id']}/nytt"),
                       ("withdraw-confirm", f"/samtykker/{consent['id']}/trekk-tilbake"),
                       ("guardian-inbox", "/innboks"), ("guardian-handovers", "/overganger")):
        assert ingrid.page.goto(path).status == 200, path
        ingrid.check(name)
    ingrid.goto(f"/samtykker/{log['child_id']}/nytt")
    ingrid.page.get_by_label("Hva skal samarbeidet handle om?").fill("")
    ingrid.page.get_by_role("button", name="Gi samtykke").click()
    assert ingrid.page.locator("#felt-purpose-error").text_content() == \
        "Feil: Skriv hva samarbeidet skal handle om."
    ingrid.check("consent-form-errors")

    child = browser(seeded)
    child.login(who("child"))
    for name, path in (("child-my-logs", "/logger"), ("child-log", f"/logger/{emma}"),
                       ("child-proposal-form", f"/logger/{emma}/forslag/nytt"),
                       ("child-voice-form", f"/logger/{emma}/min-stemme"),
                       ("child-access-log", f"/logger/{emma}/innsyn"),
                       ("child-consents", "/samtykker")):
        assert child.page.goto(path).status == 200, path
        child.check(name)

    seeded.stop("handover")
    assert lise.page.goto("/overganger").status == 503
    assert "prøv igjen om litt" in lise.page.locator("main").inner_text()
    lise.check("service-unavailable")
    assert len(anonymous.checked + lise.checked + siri.checked + ingrid.checked
               + child.checked) >= 45


# -- keyboard only -------------------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {name: "", outline: "none"};
  const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
  const style = getComputedStyle(el);
  return {name: (el.getAttribute("aria-label") || label || el.innerText || el.value || "").trim(),
          outline: style.outlineStyle, shadow: style.boxShadow, tag: el.tagName};
}"""


def tab_to(page, name: str, limit: int = 120) -> dict:
    """Press Tab until the focus is on the control whose name contains ``name``; the focus
    must be visible there (an outline or a ring)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if name in focused["name"]:
            assert focused["outline"] != "none" or focused["shadow"] != "none", focused
            return focused
    raise AssertionError(f"Tab never reached {name!r}")


@pytest.mark.timeout(300)  # a real browser, many pages
def test_the_main_flow_with_the_keyboard_only(seeded, browser):
    log = emma_log(seeded)
    teacher = seeded.client("teacher")
    teacher.post(f"/api/v1/logs/{log['id']}/measures", json={
        "title": "Fast plass nær døra", "goal": "Lettere å komme inn i timen",
        "responsible_id": log["teacher"], "arena": "school", "start_date": day(-30),
        "evaluate_by": day(-5)})

    lise = browser(seeded)
    page = lise.page
    lise.goto("/logg-inn/dev")
    # the first Tab reaches the skip link, and Enter moves into the main content
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "Hopp til hovedinnholdet"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "hovedinnhold"
    tab_to(page, who("teacher"))
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="Mine logger").wait_for()

    tab_to(page, EMMA["name"])
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name=f"Stafettloggen til {EMMA['name']}").wait_for()
    assert "Evaluering forfalt" in page.locator("main").inner_text()

    # evaluate the overdue measure: first send the form empty, and recover from the errors
    tab_to(page, "Vurder tiltaket")
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="Vurder tiltaket").wait_for()
    tab_to(page, "Lagre vurderingen")
    page.keyboard.press("Enter")
    page.locator("[data-error-summary]").wait_for()
    assert page.evaluate("document.activeElement.matches('[data-error-summary]')")
    page.keyboard.press("Tab")  # the first message in the summary links to its field
    assert page.evaluate(FOCUSED)["name"].startswith("Hvordan virker tiltaket?")
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED)["name"] == "Grønn – virker"
    page.keyboard.press("Space")
    assert page.get_by_label("Grønn – virker").is_checked()
    tab_to(page, "Vurdering")
    page.keyboard.type("Emma kommer inn i timen uten å stoppe opp.")
    tab_to(page, "Lagre vurderingen")
    page.keyboard.press("Space")
    page.get_by_role("status").wait_for()
    assert page.get_by_role("status").inner_text() == "Vurderingen er lagret. Gå til tiltaket"
    assert "Grønn – virker" in page.get_by_role("article", name="Fast plass nær døra").inner_text()

    # write in the log
    tab_to(page, "Skriv i loggen")
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="Skriv i loggen").wait_for()
    tab_to(page, "Tekst")
    page.keyboard.type("Emma var med på gymmen i dag.")
    tab_to(page, "Lagre innlegget")
    page.keyboard.press("Enter")
    page.get_by_role("status").wait_for()
    assert page.get_by_role("status").inner_text() == "Innlegget er lagret. Gå til innlegget"
    assert "Emma var med på gymmen i dag." in page.locator("main").inner_text()
    lise.check("keyboard-done")

    tab_to(page, "Logg ut")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/logg-inn\?utlogget=1$"))
    assert "Du er logget ut." in page.locator("main").inner_text()
