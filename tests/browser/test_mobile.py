"""The web client at 375 px (issue 18, point 9), in Debian's Chromium: the access log's
table reflows to one card per record (each value under its column's name, from
``data-label``), neither the access log nor the log page (nor the timeline, the lists,
the inbox, consents and handovers) is wider than the screen, and
no region scrolls that the keyboard cannot reach (every scrollable region takes focus and
has a name). axe on each.

Before: at 375 px the access log's columns hid in a scrolling box that no key could
scroll, and the page was wider than the screen.
"""
from __future__ import annotations

import pytest

from stafett.dev.demo import PERSONAS

PHONE = {"width": 375, "height": 740}

#: what the page measures itself: wider than the screen, and regions that scroll
MEASURE = """() => {
  const scrolling = [...document.querySelectorAll('*')].filter(el => {
    const style = getComputedStyle(el);
    const scrolls = (el.scrollWidth > el.clientWidth + 1 && /(auto|scroll)/.test(style.overflowX))
                 || (el.scrollHeight > el.clientHeight + 1 && /(auto|scroll)/.test(style.overflowY));
    return scrolls && el !== document.documentElement && el !== document.body;
  });
  return {
    page: document.documentElement.scrollWidth,
    screen: window.innerWidth,
    unreachable: scrolling.filter(el => !(el.tabIndex >= 0 && (el.getAttribute('aria-label')
        || el.getAttribute('aria-labelledby')))).map(el => el.outerHTML.slice(0, 120)),
  };
}"""

#: each cell of the access log: shown as a block, and the column's name before its value
CARDS = """() => [...document.querySelectorAll('main table tbody tr')].map(tr => ({
  row: getComputedStyle(tr).display,
  cells: [...tr.querySelectorAll('td')].map(td => ({
    label: td.dataset.label || null,
    shown: getComputedStyle(td, '::before').content,
    display: getComputedStyle(td).display,
  })),
}))"""

HEADINGS_HEIGHT = "() => document.querySelector('main table thead').getBoundingClientRect().height"

COLUMNS = ["Når", "Hvem", "Rolle", "Hva", "Hvorfor", "Utfall", "Bevis"]


def who(persona: str) -> str:
    return PERSONAS[persona]["description"]


def fits(person, name: str) -> None:
    measured = person.page.evaluate(MEASURE)
    assert measured["screen"] == PHONE["width"], measured
    assert measured["page"] <= measured["screen"], (name, measured)
    assert measured["unreachable"] == [], (name, measured["unreachable"])
    person.check(name)


@pytest.mark.timeout(300)  # a real browser, several pages
def test_the_access_log_and_the_log_fit_a_phone_as_cards(seeded, browser):
    stories = seeded.seed_stories()  # Emma, Jonas and Sara: measures, meetings, entries
    emma = stories["emma"]

    for persona, name in (("teacher", "stafettholder"), ("guardian", "guardian")):
        person = browser(seeded)
        person.page.set_viewport_size(PHONE)
        person.login(who(persona))
        for path, page_name in ((f"/logger/{emma}", "log"),
                                (f"/logger/{emma}/innsyn", "access-log"),
                                (f"/logger/{emma}/tidslinje", "timeline"),
                                (f"/logger/{emma}/tiltak", "measures"),
                                (f"/logger/{emma}/moter", "meetings"),
                                ("/logger", "my-logs"), ("/innboks", "inbox"),
                                ("/samtykker", "consents"), ("/overganger", "handovers")):
            assert person.page.goto(path).status == 200, path
            fits(person, f"phone-{name}-{page_name}")

        # the access log: one card per record, each value under its column's name
        person.goto(f"/logger/{emma}/innsyn")
        rows = person.page.evaluate(CARDS)
        assert rows, "the access log has records (reading it is one)"
        for row in rows:
            assert row["row"] == "block", row
            assert [c["label"] for c in row["cells"]] == COLUMNS, row
            assert [c["shown"] for c in row["cells"]] == [f'"{c}"' for c in COLUMNS], row
        # the column headings are for screen readers only at this width
        assert person.page.evaluate(HEADINGS_HEIGHT) <= 1

    # wide again: the table is a table, with its headings
    wide = browser(seeded)
    wide.login(who("teacher"))
    wide.goto(f"/logger/{emma}/innsyn")
    assert {row["row"] for row in wide.page.evaluate(CARDS)} == {"table-row"}
    assert wide.page.evaluate(HEADINGS_HEIGHT) > 10
    fits_wide = wide.page.evaluate(MEASURE)
    assert fits_wide["unreachable"] == [], fits_wide
