"""The shipped coturn configuration (scripts/coturn/turnserver.conf): no secret, no loopback relays.

coturn runs with the repo's file unchanged; the command line adds the secret and realm (as
docker-compose does) and the test's ports and file paths. Two aiortc peers on this machine
restricted to relay candidates then cannot connect: each relay would have to send to the other's
relayed address on 127.0.0.1, which the config denies. The same peers connect in
test_transfer.py through the same file with only 127.0.0.1 allowed, so the failure here is the
deny rules at work, not a broken set-up."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from app.collab.turn import turn_credentials
from tests.services.coturn import SHIPPED_CONFIG, Coturn

SHIPPED = SHIPPED_CONFIG
# What docker-compose used to find in the shipped file: anyone could read it in the repository.
PLACEHOLDER_SECRET = "CHANGE_ME_TO_ECHOEL_TURN_SECRET"


def test_shipped_config_keeps_the_deny_rules() -> None:
    text = SHIPPED.read_text()
    for needed in (
        "use-auth-secret",
        "no-multicast-peers",
        "no-cli",
        "fingerprint",
        "denied-peer-ip=127.0.0.0-127.255.255.255",
        "denied-peer-ip=10.0.0.0-10.255.255.255",
        "denied-peer-ip=172.16.0.0-172.31.255.255",
        "denied-peer-ip=192.168.0.0-192.168.255.255",
        "denied-peer-ip=169.254.0.0-169.254.255.255",
        "denied-peer-ip=100.64.0.0-100.127.255.255",
        "denied-peer-ip=0.0.0.0-0.255.255.255",
        "denied-peer-ip=::-::1",
        "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ):
        assert re.search(rf"^{re.escape(needed)}$", text, re.MULTILINE), needed
    assert not re.search(r"^allow-loopback-peers", text, re.MULTILINE)


async def _log_with(turn: Coturn, needle: str) -> str:
    """coturn's log once it contains ``needle`` (verbose mode logs every refused request)."""
    for _ in range(150):
        text = turn.log_path.read_text(errors="replace")
        if needle in text:
            return text
        await asyncio.sleep(0.2)
    raise AssertionError(f"coturn never logged {needle!r}:\n{turn.log_path.read_text(errors='replace')[-2000:]}")


@pytest.mark.asyncio
async def test_relay_to_loopback_is_refused() -> None:
    # Verbose: coturn then logs each refused request, which the test looks for.
    with Coturn("--verbose") as turn:
        username, credential = turn_credentials(turn.secret, "tester", int(time.time()), 600)
        server = RTCIceServer(urls=[f"{turn.turn_url}?transport=udp"], username=username, credential=credential)
        config = RTCConfiguration(iceServers=[server], iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        a, b = RTCPeerConnection(config), RTCPeerConnection(config)
        try:
            a.createDataChannel("probe")
            await a.setLocalDescription(await a.createOffer())
            # coturn did hand out relays with the app-minted credential: the offer has relay candidates.
            assert "typ relay" in a.localDescription.sdp
            await b.setRemoteDescription(a.localDescription)
            await b.setLocalDescription(await b.createAnswer())
            await a.setRemoteDescription(b.localDescription)
            log = await _log_with(turn, "403: Forbidden IP")
            # The credential was good (relays allocated); the permission towards 127.0.0.1 was not.
            assert "ALLOCATE processed, success" in log
            assert a.connectionState != "connected" and b.connectionState != "connected"
        finally:
            await a.close()
            await b.close()


async def _allocate(turn: Coturn, secret: str, minted_ago: int = 0) -> tuple[str, int]:
    """A TURN Allocate on ``turn`` with a 600 s REST credential signed by ``secret``: the relayed address."""
    username, password = turn_credentials(secret, "tester", int(time.time()) - minted_ago, 600)
    transport, _ = await create_turn_endpoint(
        asyncio.DatagramProtocol, server_addr=(turn.host, turn.port), username=username, password=password
    )
    try:
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        return relayed
    finally:
        transport.close()


@pytest.mark.asyncio
async def test_credentials_need_the_command_line_secret_and_a_live_expiry() -> None:
    # coturn keeps every static-auth-secret it reads, from the file and the command line alike, and
    # accepts a credential signed with any of them: the shipped file must name no secret at all.
    assert not re.search(r"^\s*(static-auth-secret|realm)\s*=", SHIPPED.read_text(), re.MULTILINE)
    with Coturn() as turn:
        assert (await _allocate(turn, turn.secret))[0] == turn.host
        with pytest.raises(stun.TransactionFailed) as refused:
            await _allocate(turn, PLACEHOLDER_SECRET)
        assert refused.value.response.attributes["ERROR-CODE"][0] == 401
        # The expiry in the username is enforced too: the app caps it at the session's end, so a
        # credential dies with its session even though /ice stops handing out new ones only then.
        with pytest.raises(stun.TransactionFailed) as refused:
            await _allocate(turn, turn.secret, minted_ago=601)
        assert refused.value.response.attributes["ERROR-CODE"][0] == 401
