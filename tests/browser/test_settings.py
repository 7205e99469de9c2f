"""Notification preferences as a page (issue 18, point 5), in Debian's Chromium, by
keyboard only: the link in the header, the channels, the e-mail address, a daily e-mail
and quiet hours; a bad address is refused next to its field, with what was typed kept.
axe at desktop width and 375 px, with and without the error summary.

Before: only the API (PUT /api/v1/me/preferences) could change them."""
from __future__ import annotations

import pytest

from stafett.dev.demo import PERSONAS
from tests.browser.keyboard import follow, from_summary, press, refused, tab_to, type_into


@pytest.mark.timeout(300)
def test_a_person_sets_notification_preferences_by_keyboard(seeded, browser):
    ingrid = browser(seeded)
    ingrid.login(PERSONAS["guardian"]["description"])
    follow(ingrid, "Varsler", r".*/innstillinger/varsler$", "preferences")
    type_into(ingrid, "email", "ikke-en-adresse")
    tab_to(ingrid, name="digest", checked=True)
    press(ingrid, "ArrowDown")  # for each -> once a day
    type_into(ingrid, "hour", "kl. 18")
    # a time field's segments follow the browser's locale (12 or 24 hours): reached by
    # keyboard, filled as the value the field holds
    tab_to(ingrid, name="quiet_start")
    ingrid.page.locator("#felt-quiet-start").fill("22:00")
    tab_to(ingrid, name="quiet_end")
    ingrid.page.locator("#felt-quiet-end").fill("07:00")
    summary = refused(ingrid, "Lagre innstillingene", "preferences-error")
    assert "E-postadresse" in summary, summary
    assert ingrid.page.locator("#felt-email").input_value() == "ikke-en-adresse"

    from_summary(ingrid, "E-postadresse")
    ingrid.page.keyboard.type("ingrid@example.org")
    follow(ingrid, "Lagre innstillingene", r".*melding=varsler$", "preferences-saved")
    assert ingrid.page.locator("#felt-email").input_value() == "ingrid@example.org"
    assert ingrid.page.locator("#felt-digest-2").is_checked()
    assert ingrid.page.locator("#felt-hour").input_value() == "18"
    assert ingrid.page.locator("#felt-quiet-start").input_value() == "22:00"
    assert ingrid.page.locator("#felt-quiet-end").input_value() == "07:00"
