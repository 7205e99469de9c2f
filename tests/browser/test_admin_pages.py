"""Pages for agency leaders and administrators (issue 18, point 5), in Debian's Chromium,
by keyboard only: statistics for staff; the agency's staff and its webhooks for an agency
administrator (Kari), with a refused form, the secret shown once and a deletion confirmed.
axe at desktop width and 375 px on each page and error state; the header links to these
pages only for the roles the services let through.

Before: statistics, webhooks and staff administration were the API's alone."""
from __future__ import annotations

import pytest

from stafett.dev.demo import PERSONAS
from tests.browser.keyboard import follow, from_summary, refused, type_into


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


@pytest.mark.timeout(600)
def test_statistics_staff_and_webhooks_by_keyboard(seeded, browser):
    seeded.seed_stories()
    lise = browser(seeded)
    lise.login(who("teacher"))
    follow(lise, "Statistikk", r".*/statistikk$", "statistics")
    # three demo children: no group reaches the threshold, so no figure is shown
    assert "Det er ennå ikke nok barn" in lise.page.locator("main").inner_text()
    for link in ("Ansatte", "Webhooker"):
        assert lise.page.get_by_role("link", name=link, exact=True).count() == 0, link
    # the service refuses her: the one not-found page (gateway/web/pages.py)
    assert lise.page.goto("/virksomhet/webhooker").status == 404
    # her colleagues she may see, but no form to add one
    assert lise.page.goto("/virksomhet/ansatte").status == 200
    assert lise.page.locator("form[action='/virksomhet/ansatte']").count() == 0

    kari = browser(seeded)
    kari.login(who("school-admin"))
    # -- staff: an empty form first, then a new colleague
    follow(kari, "Ansatte", r".*/virksomhet/ansatte$", "staff")
    assert "Lise Aarseth" in kari.page.locator("#ansatte + ul").inner_text()
    refused(kari, "Legg til den ansatte", "staff-error")
    type_into(kari, "name", "Nina Nygård")
    type_into(kari, "title", "Miljøterapeut")
    type_into(kari, "subject", "staff-nina")
    follow(kari, "Legg til den ansatte", r".*melding=ansatt$")
    assert "Nina Nygård – Miljøterapeut" in kari.page.locator("#ansatte + ul").inner_text()

    # -- webhooks: a loopback address is refused next to the field; a public one is kept
    follow(kari, "Webhooker", r".*/virksomhet/webhooker$", "webhooks")
    type_into(kari, "url", "https://127.0.0.1/stafett")
    summary = refused(kari, "Registrer webhooken", "webhooks-error")
    assert "Denne adressen kan ikke brukes" in summary, summary
    from_summary(kari, "Adresse (URL)")
    kari.page.keyboard.type("https://93.184.215.14/stafett")
    type_into(kari, "description", "Skolens fagsystem")
    follow(kari, "Registrer webhooken", r".*/virksomhet/webhooker$")
    secret = kari.page.locator("#ny-webhook code").inner_text()
    assert len(secret) >= 32, secret
    kari.check("webhook-created")
    kari.goto("/virksomhet/webhooker")
    assert secret not in kari.page.content()  # shown once
    follow(kari, "Slett webhooken Skolens fagsystem", r".*/slett$", "webhook-delete")
    follow(kari, "Slett webhooken", r".*melding=webhook-slettet$", tag="button")
    assert "Virksomheten har ingen webhooker." in kari.page.locator("main").inner_text()
