"""Two ``echoel collab`` peers (aiortc) move a file through the live signaling server.

Once directly (host candidates on loopback), once with ICE restricted to relay candidates,
so every byte goes through the real coturn, running the shipped configuration with only
127.0.0.1 allowed, with credentials the app minted.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.collab import peer
from tests.integration.accounts.helpers import PASSWORD
from tests.integration.collab.live import new_room, new_user
from tests.services.binaries import REPO_ROOT
from tests.services.coturn import Coturn
from tests.support import LiveApp

pytestmark = pytest.mark.asyncio


def collab(live: LiveApp, user: dict[str, Any], room: str, *args: str) -> subprocess.Popen[str]:
    """``echoel collab`` in a child process; the password arrives on standard input."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, (PASSWORD + "\n").encode())
    os.close(write_fd)
    base = {k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}
    cmd = [sys.executable, "-m", "app.cli", "collab", "--url", live.url, "--email", user["email"]]
    proc = subprocess.Popen(
        [*cmd, "--password-stdin", "--session", room, *args],
        env=base,
        cwd=REPO_ROOT,
        stdin=read_fd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(read_fd)
    return proc


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    return out


async def transfer(live: LiveApp, tmp_path: Path, *flags: str) -> tuple[str, str]:
    """Send a 3 MB file from one peer to the other; return both peers' reports."""
    sender, receiver = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, sender, [receiver])
    source = tmp_path / "take 3.wav"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 12345))
    inbox = tmp_path / "inbox"
    rx = collab(live, receiver, room, *flags, "receive", str(inbox))
    tx = collab(live, sender, room, *flags, "send", str(source))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    sent, received = finish(tx), finish(rx)
    assert f"sha256={digest}" in sent
    assert "sha256 verified" in received
    assert hashlib.sha256((inbox / "take 3.wav").read_bytes()).hexdigest() == digest
    return sent, received


async def test_direct_transfer(live: LiveApp, tmp_path: Path) -> None:
    sent, received = await transfer(live, tmp_path)
    assert "via relay" not in sent + received


async def test_relay_only_transfer_through_coturn(live: LiveApp, coturn: Coturn, tmp_path: Path) -> None:
    sent, received = await transfer(live, tmp_path, "--relay-only")
    # Both ends used relayed candidates: coturn accepted the app-minted credentials and moved the bytes.
    assert sent.strip().endswith("via relay") and received.strip().endswith("via relay"), sent + received


async def test_peers_meeting_a_departed_peer_first_still_find_each_other(live: LiveApp) -> None:
    """Both terminal peers hear first of a participant whose socket then closes, unanswered:
    each starts over with the other, and whichever offered into the void offers again."""
    first, second, gone = await new_user(live.url), await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, first, [second, gone])
    logins = [peer.Login(live.url, u["token"], u["id"]) for u in (first, second, gone)]
    departed = await peer.Signaling.connect(logins[2], room)
    servers = await peer.ice_servers(logins[0], room)
    sockets = [await peer.Signaling.connect(auth, room) for auth in logins[:2]]
    met: dict[str, str] = {}

    async def meet(signaling: peer.Signaling) -> None:
        async with peer.linked(signaling, servers, wait=60) as link:
            met[signaling.peer] = link.other
            await asyncio.sleep(1)  # stay up while the other side sees its channel open too

    tasks = [asyncio.create_task(meet(s)) for s in sockets]
    await asyncio.sleep(1)  # both have heard of the departed peer and turned to it
    await departed.close()
    try:
        await asyncio.gather(*tasks)
    finally:
        for s in sockets:
            await s.close()
    assert met == {sockets[0].peer: sockets[1].peer, sockets[1].peer: sockets[0].peer}
