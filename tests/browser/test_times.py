"""Meeting times by clicking, in Debian's Chromium, on SQLite and PostgreSQL (issue 18,
point 1): a meeting typed for 14:00 on the day the clocks go forward, for 02:30 in the
night the clocks go back, and for 09:00 in June shows as typed on the log page, and the
API gives the UTC instant. A time in the hour the clocks skip is refused next to the field.

The reported fault: on SQLite, 09:00 in June showed as 11:00 and 14:00 in winter as 15:00.
"""
from __future__ import annotations

import pytest

from stafett.dev.demo import PERSONAS
from tests.browser.support import emma_log

#: typed (day, starts, ends), shown on the log page, and the API's starts_at
MEETINGS = [
    (("2027-03-28", "14:00", "15:00"), "28. mars 2027 kl. 14.00", "2027-03-28T12:00:00+00:00"),
    (("2027-10-31", "02:30", "03:30"), "31. oktober 2027 kl. 02.30",
     "2027-10-31T00:30:00+00:00"),
    (("2027-06-15", "09:00", "10:00"), "15. juni 2027 kl. 09.00", "2027-06-15T07:00:00+00:00"),
    (("2027-12-03", "14:00", "15:30"), "3. desember 2027 kl. 14.00",
     "2027-12-03T13:00:00+00:00"),
]


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def schedule(person, log_id: str, day: str, starts: str, ends: str) -> None:
    person.goto(f"/logger/{log_id}/moter/nytt")
    page = person.page
    page.get_by_label("Dato").fill(day)
    page.get_by_label("Starter klokken").fill(starts)
    page.get_by_label("Slutter klokken").fill(ends)
    page.get_by_label("Omar Haddad").check()
    page.get_by_role("button", name="Avtal møtet").click()


@pytest.mark.parametrize("database_backend", ["sqlite", "postgres"], indirect=True)
@pytest.mark.timeout(300)  # a real browser, several pages
def test_meetings_show_the_time_typed_across_both_changes(database_backend, seeded, browser):
    log = emma_log(seeded)
    lise = browser(seeded)
    lise.login(who("teacher"))

    # the hour that does not exist: refused, next to the field, what was typed kept
    schedule(lise, log["id"], "2027-03-28", "02:30", "03:30")
    assert lise.page.locator("#felt-starts-error").text_content() == (
        "Feil: Klokkeslettet finnes ikke denne dagen: klokka stilles fram fra 02.00 til "
        "03.00 natt til 28. mars. Velg et annet klokkeslett.")
    assert lise.page.get_by_label("Starter klokken").input_value() == "02:30"
    lise.check(f"meeting-spring-gap-{database_backend}")

    for (day, starts, ends), _, _ in MEETINGS:
        schedule(lise, log["id"], day, starts, ends)
        assert lise.page.get_by_role("status").inner_text() == "Møtet er avtalt. Gå til møtet"
    lise.goto(f"/logger/{log['id']}/moter")
    shown = lise.page.locator("main").inner_text()
    for _, text, _ in MEETINGS:
        assert text in shown, (text, shown)
    lise.check(f"meetings-across-dst-{database_backend}")

    meetings = seeded.client("teacher").get(f"/api/v1/logs/{log['id']}/meetings").json()
    assert sorted(m["starts_at"] for m in meetings["items"]) == sorted(
        instant for _, _, instant in MEETINGS)
