"""Browser fixtures: headless Debian Chromium driven by Playwright, and the app as a real process.

Playwright never downloads a browser here: it launches the system ``chromium`` binary. The app
runs as ``echoel run`` on ``http://localhost:PORT``; the refresh and CSRF cookies are ``Secure``,
and Chromium keeps Secure cookies on plain http only for ``localhost``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import new_database
from tests.services.binaries import find_binary
from tests.support import LiveApp, test_env

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = find_binary("chromium")  # a missing browser fails set-up loudly
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def live_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app as a real process on a fresh migrated database, one per backend for all browser tests."""
    server = request.getfixturevalue("postgres") if request.param == "postgres" else None
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    url = new_database(request.param, server, folder)
    with LiveApp(test_env(url, folder / "var")) as app:
        yield app


def _open_page(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    # A script error in a page module is a failure even when the flow seems to work.
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page in its own browser context (own cookies)."""
    yield from _open_page(browser, DESKTOP)


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (390x844) in its own browser context."""
    yield from _open_page(browser, PHONE)


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot when ECHOEL_E2E_SCREENSHOTS names a folder (for looking at the layout)."""
    folder = os.environ.get("ECHOEL_E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
