"""A Chromium page and the terminal peer (``echoel collab``'s aiortc code) in one session.

The browser negotiates with "perfect negotiation" and trickles its candidates; the terminal peer
must follow it as either side: the impolite one (it offers, and ignores the browser's colliding
offer) and the polite one (it only answers). Which side a peer is depends on the order of the
random peer ids, so the test re-opens the terminal peer's socket until it has the id it wants,
then moves a file each way with the checksum verified by the receiver.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from app.collab import peer, transfer
from tests.e2e.sessions import MESH_STATE, signed_in_page, wait_connected
from tests.integration.collab.live import new_room, new_user
from tests.support import LiveApp

# Generous: two peers connect on a machine shared with other test runs.
LINK_SECONDS = 90
TRANSFER_SECONDS = 120
FILE_BYTES = 2 * 1024 * 1024 + 4321  # several hundred chunks, not a whole number of them


async def browser_peer(page: Page) -> str:
    """The page's own peer id, once its signaling socket was welcomed."""
    handle = await page.wait_for_function("() => window.echoelSession?.signaling.peer", timeout=30_000)
    return str(await handle.json_value())


async def terminal_socket(page: Page, auth: peer.Login, room: str, *, offers: bool) -> peer.Signaling:
    """A signaling socket whose peer id sorts below the page's exactly when it should ``offers``.

    Each socket that sorts the wrong way is closed (the page sees a join and a leave). A page
    whose own id sits near either end would make one side rare, so every few tries the page
    reloads and draws a new id.
    """
    for attempt in range(60):
        if attempt and attempt % 6 == 0:
            await page.reload()
        below = await browser_peer(page)
        signaling = await peer.Signaling.connect(auth, room)
        if (signaling.peer < below) == offers:
            return signaling
        await signaling.close()
    raise AssertionError("sixty random peer ids all sorted the same way")


def random_file(path: Path) -> str:
    path.write_bytes(os.urandom(FILE_BYTES))
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def browser_to_terminal(page: Page, link: peer.PeerLink, source: Path, inbox: Path) -> None:
    digest = random_file(source)
    sent_before = await page.locator("#transfers .sent-file").count()
    await page.set_input_files("#file-input", str(source))
    try:
        channel, messages = await asyncio.wait_for(link.files.get(), TRANSFER_SECONDS)
        received = await asyncio.wait_for(transfer.receive_file(channel, messages, inbox), TRANSFER_SECONDS)
    except TimeoutError:
        transfers = await page.locator("#transfers").inner_text()
        pytest.fail(f"no file reached the terminal peer within {TRANSFER_SECONDS} s; the page shows: {transfers!r}")
    assert received.name == source.name
    assert hashlib.sha256(received.read_bytes()).hexdigest() == digest
    # The page heard the terminal peer's verdict: the digests matched.
    await expect(page.locator("#transfers .sent-file")).to_have_count(sent_before + 1, timeout=30_000)


async def terminal_to_browser(page: Page, link: peer.PeerLink, source: Path) -> None:
    digest = random_file(source)
    sent = await asyncio.wait_for(transfer.send_file(link.pc, source), TRANSFER_SECONDS)
    assert sent == digest  # the page answered ok with the same digest
    received = page.locator(f'a.received-file[data-sha256="{digest}"]')
    await expect(received).to_have_text(source.name, timeout=30_000)


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("terminal_offers", [True, False], ids=["terminal-impolite", "terminal-polite"])
async def test_browser_and_terminal_exchange_files(
    session_app: LiveApp, media_browser: Browser, tmp_path: Path, terminal_offers: bool
) -> None:
    host, guest = await new_user(session_app.url), await new_user(session_app.url)
    room = await new_room(session_app.url, host, [guest])
    errors: list[str] = []
    page = await signed_in_page(media_browser, session_app, host, errors)
    await page.goto(f"{session_app.url}/session.html?id={room}")

    auth = peer.Login(session_app.url, guest["token"], guest["id"])
    servers = await peer.ice_servers(auth, room)
    # The lower peer id is the impolite side, the one that offers.
    signaling = await terminal_socket(page, auth, room, offers=terminal_offers)
    try:
        async with peer.linked(signaling, servers, wait=LINK_SECONDS) as link:
            assert link.polite is not terminal_offers
            await wait_connected((page,))
            inbox = tmp_path / "inbox"
            inbox.mkdir()
            await browser_to_terminal(page, link, tmp_path / "from the browser.wav", inbox)
            await terminal_to_browser(page, link, tmp_path / "from the terminal.fxp")
    except TimeoutError as exc:
        pytest.fail(f"timed out ({exc or 'a transfer'}); the page's mesh: {await page.evaluate(MESH_STATE)}")
    finally:
        await signaling.close()
    assert not errors, errors
