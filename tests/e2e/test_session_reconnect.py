"""A page whose signaling socket drops reconnects on its own: chat and the peer link work again.

The drop is the socket closing under the page (a close code that is not final, as a proxy
restart or a network change would give); the page must back off, reconnect with a fresh ticket,
come back as a new peer, and meet the other page again.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.sessions import pages_in_a_room, wait_connected
from tests.support import LiveApp

# Boot, reconnect back-off (0.5 s first, with jitter) and a new mesh on a loaded machine.
SETTLE_MS = 30_000


@pytest.mark.asyncio(loop_scope="session")
async def test_chat_and_mesh_work_again_after_a_dropped_socket(session_app: LiveApp, media_browser: Browser) -> None:
    errors: list[str] = []
    a, b, host, guest = await pages_in_a_room(media_browser, session_app, errors)
    before = await a.evaluate("() => window.echoelSession.signaling.peer")

    # The socket closes under the page with a code that is not final: it must retry. The states
    # are recorded as they pass ("reconnecting" may show for only half a second).
    await a.evaluate(
        """() => {
          const s = window.echoelSession.signaling;
          window.seenStates = [];
          s.addEventListener("state", ({ detail }) => window.seenStates.push(detail));
          s.ws.close(4000, "dropped by the test");
        }"""
    )
    await a.wait_for_function("() => window.seenStates.at(-1) === 'connected'", timeout=SETTLE_MS)
    seen = await a.evaluate("() => window.seenStates")
    assert set(seen) == {"reconnecting", "connected"} and seen[0] == "reconnecting", seen
    after = await a.evaluate("() => window.echoelSession.signaling.peer")
    assert after and after != before, "the reconnected socket should be a new peer"

    # Both sides list each other once again (the old peer left, the new one joined) and connect.
    for page in (a, b):
        await expect(page.locator("#participants li")).to_have_count(2, timeout=SETTLE_MS)
    await wait_connected((a, b))
    await a.fill("#chat-text", "back online")
    await a.press("#chat-text", "Enter")
    await expect(b.locator("#chat-log")).to_contain_text(f"{host['handle']}: back online", timeout=SETTLE_MS)
    await b.fill("#chat-text", "welcome back")
    await b.press("#chat-text", "Enter")
    await expect(a.locator("#chat-log")).to_contain_text(f"{guest['handle']}: welcome back", timeout=SETTLE_MS)
    assert not errors, errors
