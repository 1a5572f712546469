"""Joining a session from an invite link in the browser (``session.html?invite=…``).

The page joins with the token, swaps the address for ``?id=`` (the token leaves the address bar
and the history), and enters the room; a revoked link shows why and opens nothing.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.sessions import BOOT_MS, signed_in_page
from tests.integration.collab.helpers import link_invite
from tests.integration.collab.live import new_room, new_user
from tests.support import LiveApp


@pytest.mark.asyncio(loop_scope="session")
async def test_guest_joins_by_invite_link(session_app: LiveApp, media_browser: Browser) -> None:
    host, guest, late = [await new_user(session_app.url) for _ in range(3)]
    room = await new_room(session_app.url, host, [])
    async with httpx.AsyncClient(base_url=session_app.url, timeout=30) as http:
        invite = await link_invite(http, host, room)
    errors: list[str] = []
    a = await signed_in_page(media_browser, session_app, host, errors)
    await a.goto(f"{session_app.url}/session.html?id={room}")
    b = await signed_in_page(media_browser, session_app, guest, errors)
    # The link exactly as the API hands it out (built on the public URL).
    await b.goto(invite["url"])
    await b.wait_for_url(f"**/session.html?id={room}")
    assert "invite=" not in b.url
    await expect(b.locator("#room-title")).to_have_text("Live jam", timeout=BOOT_MS)
    for page in (a, b):
        await expect(page.locator("#participants li")).to_have_count(2, timeout=BOOT_MS)
    await b.fill("#chat-text", "in through the link")
    await b.press("#chat-text", "Enter")
    await expect(a.locator("#chat-log")).to_contain_text(f"{guest['handle']}: in through the link")

    # Revoked: the next visitor of the same link is told so and stays out.
    async with httpx.AsyncClient(base_url=session_app.url, timeout=30) as http:
        r = await http.delete(f"/api/v1/sessions/{room}/invites/{invite['id']}", headers=host["headers"])
        assert r.status_code == 204, r.text
    c = await signed_in_page(media_browser, session_app, late, errors)
    await c.goto(invite["url"])
    await expect(c.locator(".flash")).to_contain_text("This invite is not valid", timeout=BOOT_MS)
    await expect(c.locator("#room")).to_be_hidden()
    await expect(a.locator("#participants li")).to_have_count(2)
    assert not errors, errors
