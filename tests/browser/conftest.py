"""Fixtures for the web client's tests: the platform with the demo seeded, Debian's
Chromium driven by Playwright, axe-core, and screenshots under test-artifacts/web/.

The platform runs in this pytest process (eventlet, nameko containers). Playwright does
not: its sync API switches greenlets of its own, and eventlet re-parents any greenlet that
blocks cooperatively to its hub, which strands Playwright's dispatcher (the test hangs).
So Chromium is driven from a process of its own (tests/browser/remote.py) that the tests
talk to through ``RemoteObject``, with Playwright's own API (see docs/web.md). Chromium is
Debian's ``/usr/bin/chromium``, never a Playwright download; without it these tests fail,
loudly.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.driver import RemoteBrowser, RemoteObject

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = os.environ.get("STAFETT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def seeded(platform):
    """The platform with agencies, staff and the three demo children registered."""
    platform.seed()
    return platform


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(scripts/ensure-services.sh installs it; `make test` runs it)",
                    pytrace=False)
    driver = RemoteBrowser(CHROMIUM, CHROMIUM_ARGS, ARTIFACTS / "browser-process.log")
    yield driver
    driver.close()


class Browser:
    """One person's browser: a fresh context (cookies), a page, screenshots and axe."""

    def __init__(self, driver: RemoteBrowser, base_url: str, test_name: str):
        self.driver, self.base_url = driver, base_url
        self.context_id = driver.new_context(base_url=base_url, locale="nb-NO",
                                             timezone_id="Europe/Oslo",
                                             viewport={"width": 1280, "height": 900},
                                             default_timeout=15_000)
        self.context = RemoteObject(driver, self.context_id, "context")
        self.page = RemoteObject(driver, self.context_id, "page")
        self.prefix = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")
        self.shots: list[Path] = []
        self.checked: list[str] = []

    def goto(self, path: str):
        return self.page.goto(path)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.prefix}--{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def axe(self, name: str) -> None:
        """Zero violations of WCAG 2.0/2.1 A and AA rules on the page as it is now."""
        violations = self.driver.request({"op": "axe", "ctx": self.context_id,
                                          "tags": WCAG_TAGS})
        self.checked.append(name)
        assert violations == [], f"axe on {name} ({self.page.url}):\n" + "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} — {'; '.join(v['targets'])}"
            for v in violations)

    def check(self, name: str) -> None:
        """Screenshot and axe: every page a test visits goes through here."""
        self.shot(name)
        self.axe(name)

    def login(self, persona_text: str) -> None:
        """Log in by clicking a persona in the dev picker."""
        self.goto("/logg-inn/dev")
        self.page.get_by_role("button", name=persona_text).click()
        self.page.wait_for_url(re.compile(r".*/(logger.*)?$"))

    def logout(self) -> None:
        self.page.get_by_role("button", name="Logg ut").click()
        self.page.wait_for_url(re.compile(r".*/logg-inn\?utlogget=1$"))

    def close(self) -> None:
        self.driver.request({"op": "close_context", "id": self.context_id})


@pytest.fixture
def browser(chromium, request):
    """``browser(platform)`` opens a new browser context on the platform's gateway."""
    opened = []

    def open_(platform) -> Browser:
        opened.append(Browser(chromium, platform.url(), f"{request.node.name}-{len(opened)}"))
        return opened[-1]

    yield open_
    for each in opened:
        each.close()
