"""Browser fixtures: headless Debian Chromium driven by Playwright, and the app as a real process.

Playwright never downloads a browser here: it launches the system ``chromium`` binary. The app
runs as ``echoel run`` on ``http://localhost:PORT``; the refresh and CSRF cookies are ``Secure``,
and Chromium keeps Secure cookies on plain http only for ``localhost``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import new_database
from tests.e2e.sessions import MEDIA_ARGS
from tests.integration.collab.live import LIVE_ENV
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


# Playwright's async API in one session-wide event loop: its sync API would leave an event loop
# marked running in the main thread, which breaks every async test that runs after it.
@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = find_binary("chromium")  # a missing browser fails set-up loudly
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def live_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app as a real process on a fresh migrated database, one per backend for all browser tests."""
    server = request.getfixturevalue("postgres") if request.param == "postgres" else None
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    url = new_database(request.param, server, folder)
    with LiveApp(test_env(url, folder / "var")) as app:
        yield app


async def _open_page(browser: Browser, viewport: dict[str, int]) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors: list[str] = []
    # A script error in a page module is a failure even when the flow seems to work.
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A desktop-sized page in its own browser context (own cookies)."""
    async for page in _open_page(browser, DESKTOP):
        yield page


@pytest_asyncio.fixture(loop_scope="session")
async def phone_page(browser: Browser) -> AsyncIterator[Page]:
    """A phone-sized page (390x844) in its own browser context."""
    async for page in _open_page(browser, PHONE):
        yield page


async def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot when ECHOEL_E2E_SCREENSHOTS names a folder (for looking at the layout)."""
    folder = os.environ.get("ECHOEL_E2E_SCREENSHOTS")
    if folder:
        # Playwright creates the folder itself.
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def session_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app on SQLite for the collaboration pages, with the live collab settings (1 s heartbeat)."""
    folder = tmp_path_factory.mktemp("e2e-session")
    url = new_database("sqlite", None, folder)
    app = LiveApp(test_env(url, folder / "var", **LIVE_ENV))
    # The signaling socket checks the page's Origin against the public URL.
    app.env["ECHOEL_PUBLIC_URL"] = app.url
    with app:
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def media_browser() -> AsyncIterator[Browser]:
    """Chromium with fake media devices: a fake microphone, granted without a prompt."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=find_binary("chromium"), args=MEDIA_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()
