"""The shipped coturn configuration (scripts/coturn/turnserver.conf) refuses relays to loopback.

coturn runs with the repo's file, only the ports, secret, realm and file paths swapped for the
test's. Two aiortc peers on this machine restricted to relay candidates then cannot connect:
each relay would have to send to the other's relayed address on 127.0.0.1, which the config
denies. The same peers connect through the test coturn (which allows loopback peers) in
test_transfer.py, so the failure here is the deny rules at work, not a broken set-up.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from app.collab.turn import turn_credentials
from tests.services.binaries import REPO_ROOT
from tests.services.coturn import Coturn

SHIPPED = REPO_ROOT / "scripts" / "coturn" / "turnserver.conf"
# Lines replaced for the test run; everything else (the deny rules above all) is used as shipped.
REPLACED = ("listening-port", "tls-listening-port", "min-port", "max-port", "static-auth-secret", "realm", "log-file")


class ShippedCoturn(Coturn):
    """coturn on loopback with the repository's configuration file."""

    def _prepare(self) -> None:
        assert self.tmpdir is not None
        kept = [
            line
            for line in SHIPPED.read_text().splitlines()
            if not any(re.match(rf"^{key}=", line) for key in REPLACED)
        ]
        kept += [
            f"listening-ip={self.host}",
            f"listening-port={self.port}",
            f"relay-ip={self.host}",
            f"min-port={self.min_port}",
            f"max-port={self.max_port}",
            f"static-auth-secret={self.secret}",
            f"realm={self.realm}",
            "no-tls",
            "no-dtls",
            "no-rfc5780",
            # Logs each refused request, which the test looks for.
            "verbose",
            f"log-file={self.log_path}",
            f"pidfile={self.tmpdir / 'turnserver.pid'}",
            f"userdb={self.tmpdir / 'turndb'}",
        ]
        self.config_path.write_text("\n".join(kept) + "\n")


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
    with ShippedCoturn() as turn:
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
