"""Reaching things by keyboard alone in the browser tests: Tab until the focused element
is the one wanted (never a click), and axe at desktop width and at 375 px."""
from __future__ import annotations

import re

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

#: what has focus: its tag, type, name, its text (with visually hidden parts) and value
FOCUSED = """() => { const el = document.activeElement; return el ? {
  tag: el.tagName.toLowerCase(), type: el.type || null, name: el.name || null,
  text: (el.innerText || el.textContent || '').replace(/\\s+/g, ' ').trim(),
  label: el.labels && el.labels[0] ? el.labels[0].textContent.trim() : null,
  checked: !!el.checked, value: el.value === undefined ? null : el.value} : null; }"""


def tab_to(person, *, text: str | None = None, name: str | None = None,
           checked: bool | None = None, tag: str | None = None, limit: int = 250) -> dict:
    """Press Tab until the focused element matches (its text starts with ``text``, its
    form name is ``name``, a checked radio); fails naming what the keyboard reached."""
    seen = []
    for _ in range(limit):
        person.page.keyboard.press("Tab")
        now = person.page.evaluate(FOCUSED) or {}
        seen.append(now.get("text") or now.get("name"))
        if ((text is None or (now.get("text") or "").startswith(text))
                and (name is None or now.get("name") == name)
                and (checked is None or now.get("checked") == checked)
                and (tag is None or now.get("tag") == tag)):
            return now
    raise AssertionError(f"the keyboard never reached {text or name!r}; it reached "
                         f"{[s for s in seen if s][:60]}")


def press(person, key: str) -> None:
    person.page.keyboard.press(key)


def check_both(person, name: str) -> None:
    """Screenshot and axe at desktop width and at 375 px (and back)."""
    person.check(f"{name}-desktop")
    person.page.set_viewport_size(PHONE)
    person.check(f"{name}-phone")
    person.page.set_viewport_size(DESKTOP)


def follow(person, text: str, url: str, name: str | None = None, tag: str | None = None):
    """Tab to the link or button whose text starts with ``text``, press Enter, wait for
    the address to match the pattern ``url``; then axe the page (``name``) if given."""
    tab_to(person, text=text, tag=tag)
    press(person, "Enter")
    person.page.wait_for_url(re.compile(url))
    if name:
        check_both(person, name)


def refused(person, button: str, name: str, tag: str | None = None) -> str:
    """Send the form by its button and expect the error summary: axe it, give its text."""
    tab_to(person, text=button, tag=tag)
    press(person, "Enter")
    person.page.wait_for_selector("[data-error-summary]")
    check_both(person, name)
    return person.page.locator("[data-error-summary]").inner_text()


def type_into(person, name: str, text: str) -> None:
    """Tab to the field named ``name`` and type ``text``."""
    tab_to(person, name=name)
    person.page.keyboard.type(text)


def from_summary(person, link: str) -> None:
    """From the error summary (where the page puts focus), follow its link for a field
    and select what the field holds, to type over it."""
    person.page.locator("[data-error-summary]").focus()
    tab_to(person, text=link)
    press(person, "Enter")
    press(person, "Control+A")
