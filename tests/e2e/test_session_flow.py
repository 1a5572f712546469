"""Two Chromium pages in one collaboration session: connect, chat, share a file and a preset,
edit the shared panel, and send music-mode audio (fake microphone).

Chromium runs with fake media devices; the app runs as a real process on SQLite.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.sessions import pages_in_a_room
from tests.support import LiveApp

FILE_BYTES = 100 * 1024 * 1024  # the bar: a 100 MB file arrives intact


@pytest.mark.asyncio(loop_scope="session")
async def test_two_pages_share_a_session(session_app: LiveApp, media_browser: Browser, tmp_path: Path) -> None:
    errors: list[str] = []
    a, b, host, _ = await pages_in_a_room(media_browser, session_app, errors)
    await expect(a.locator("#conn-state")).to_have_text("connected")

    # The impolite page made the first offer and the polite one answered it: a polite page that
    # offered too had its offer rolled back mid-gathering, after which Chromium never gathered.
    first = {}
    for page in (a, b):
        polite = await page.evaluate("() => [...window.echoelSession.mesh.peers.values()][0].polite")
        first[polite] = (await page.evaluate("() => window.echoelDescriptions"))[:2]
    assert first == {False: ["local offer", "remote answer"], True: ["remote offer", "local answer"]}, first

    # Chat.
    await a.fill("#chat-text", "ready when you are")
    await a.press("#chat-text", "Enter")
    await expect(b.locator("#chat-log")).to_contain_text(f"{host['handle']}: ready when you are")

    # The shared panel, edited on both sides.
    await a.fill("#bpm", "128")
    await expect(b.locator("#bpm")).to_have_value("128")
    await b.fill("#key", "F#m")
    await b.fill("#notes", "bridge after 16 bars")
    await expect(a.locator("#key")).to_have_value("F#m")
    await expect(a.locator("#notes")).to_have_value("bridge after 16 bars")
    await expect(a.locator("#bpm")).to_have_value("128")

    # A preset shared in the session links to its listing page.
    await b.fill("#preset-id", f"{session_app.url}/listing.html?id=lst_42")
    await b.press("#preset-id", "Enter")
    await expect(a.locator("a.shared-preset")).to_have_attribute("href", "/listing.html?id=lst_42")

    # A 100 MB file, checksum verified by the receiving page against ours.
    source = tmp_path / "stems.zip"
    with source.open("wb") as f:
        for _ in range(FILE_BYTES // (4 * 1024 * 1024)):
            f.write(os.urandom(4 * 1024 * 1024))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    await a.set_input_files("#file-input", str(source))
    received = b.locator("a.received-file")
    await expect(received).to_have_attribute("data-sha256", digest, timeout=180_000)
    await expect(received).to_have_text("stems.zip")
    await expect(a.locator("#transfers .sent-file")).to_have_count(1, timeout=30_000)

    # Music-mode audio from the fake microphone: filters off, stereo Opus at 256 kb/s negotiated.
    for page in (a, b):
        await page.click("#audio-btn")
    await b.wait_for_function(
        "() => { const a = document.querySelector('#remote-audio audio'); return a && a.srcObject"
        " && a.srcObject.getAudioTracks().length > 0; }"
    )
    settings = await a.evaluate("() => window.echoelSession.mesh.stream.getAudioTracks()[0].getSettings()")
    assert settings.get("echoCancellation") is False and settings.get("autoGainControl") is False
    sdp = await b.evaluate("() => [...window.echoelSession.mesh.peers.values()][0].pc.remoteDescription.sdp")
    assert "stereo=1" in sdp and "sprop-stereo=1" in sdp and "maxaveragebitrate=256000" in sdp
    await a.click("#mute-btn")
    assert await a.evaluate("() => window.echoelSession.mesh.stream.getAudioTracks()[0].enabled") is False

    # The guest leaves; the host sees it.
    await b.close()
    await expect(a.locator("#participants li")).to_have_count(1)
    assert not errors, errors
