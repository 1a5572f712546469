"""Helpers for browser tests of collaboration sessions: signed-in pages and waiting for the mesh."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.integration.collab.live import new_room, new_user
from tests.support import LiveApp

# A page boots (modules, session, ICE servers, signaling) before it lists anyone; on a loaded
# machine that can take longer than an expectation's default 5 s.
BOOT_MS = 30_000

MEDIA_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--no-first-run",
    "--disable-background-networking",
]

CONNECTED = """() => {
  const s = window.echoelSession;
  return !!s && [...s.mesh.peers.values()].some((p) => p.meta.readyState === "open");
}"""
# What each side of the mesh was doing, for a failure message: which step never happened.
MESH_STATE = """() => {
  const s = window.echoelSession;
  if (!s) return "no session on the page";
  return { me: s.signaling.peer, socket: document.getElementById("conn-state").textContent,
    peers: [...s.mesh.peers.values()].map((p) => ({ id: p.id, polite: p.polite, signaling: p.pc.signalingState,
      ice: p.pc.iceConnectionState, connection: p.pc.connectionState, meta: p.meta.readyState })) };
}"""
# Records the order in which a page sets descriptions ("local offer", "remote answer", ...), so a
# test can check who made the first offer; it wraps the browser's own methods and changes nothing.
DESCRIPTIONS = """(() => {
  const seen = (window.echoelDescriptions = []);
  const proto = RTCPeerConnection.prototype;
  for (const [method, side] of [["setLocalDescription", "local"], ["setRemoteDescription", "remote"]]) {
    const own = proto[method];
    proto[method] = function (description, ...rest) {
      if (description && description.type) seen.push(`${side} ${description.type}`);
      return own.call(this, description, ...rest);
    };
  }
})();"""
# The local watchdog renegotiates every 8 s until the meta channel opens; on a loaded machine the
# first rounds can be lost, so allow several.
CONNECT_TIMEOUT_MS = 45_000


CONSOLE: dict[Page, list[str]] = {}


async def signed_in_page(browser: Browser, app: LiveApp, who: dict[str, Any], errors: list[str]) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    await context.add_init_script(DESCRIPTIONS)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Negotiation trouble is logged as console warnings: kept for a failure's message.
    lines = CONSOLE.setdefault(page, [])
    page.on("console", lambda m: m.type in ("warning", "error") and lines.append(f"{m.type}: {m.text}"))
    await page.goto(f"{app.url}/login.html")
    await page.fill("#email", who["email"])
    await page.fill("#password", who["password"])
    await page.click("button[type=submit]")
    await page.wait_for_url("**/account.html")
    # The account page rotates the refresh cookie as it loads. Navigating while that request is
    # in flight can drop the new cookie; the reuse interval (ECHOEL_REFRESH_REUSE_SECONDS) lets
    # the next page present the old one, but waiting keeps these tests off that path.
    await page.wait_for_load_state("networkidle")
    return page


async def wait_connected(pages: tuple[Page, ...]) -> None:
    """Every page has an open meta channel; if not, fail with both sides' mesh state and warnings."""
    try:
        for page in pages:
            await page.wait_for_function(CONNECTED, timeout=CONNECT_TIMEOUT_MS)
    except PlaywrightTimeout:
        states = [(await p.evaluate(MESH_STATE), CONSOLE.get(p, [])[-20:]) for p in pages]
        pytest.fail(f"the peers never connected: {states}")


async def pages_in_a_room(
    browser: Browser, app: LiveApp, errors: list[str]
) -> tuple[Page, Page, dict[str, Any], dict[str, Any]]:
    """A host's and a guest's page in one new room, each listing both people, connected."""
    host, guest = await new_user(app.url), await new_user(app.url)
    room = await new_room(app.url, host, [guest])
    a = await signed_in_page(browser, app, host, errors)
    b = await signed_in_page(browser, app, guest, errors)
    for page in (a, b):
        await page.goto(f"{app.url}/session.html?id={room}")
    for page in (a, b):
        await expect(page.locator("#participants li")).to_have_count(2, timeout=BOOT_MS)
    await wait_connected((a, b))
    return a, b, host, guest
