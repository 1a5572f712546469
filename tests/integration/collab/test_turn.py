"""TURN credentials: the REST scheme coturn checks, minted only for members, never past an hour."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path

import httpx
import pytest

from app.collab.turn import ice_config
from app.core.settings import Settings
from tests.integration.collab.helpers import link_invite, open_session, user
from tests.support import test_settings

SECRET = "turn-shared-secret-for-tests"


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return test_settings(
        db_url,
        var_dir,
        ECHOEL_STUN_URLS="stun:turn.example.test:3478",
        ECHOEL_TURN_URLS="turn:turn.example.test:3478?transport=udp,turns:turn.example.test:5349",
        ECHOEL_TURN_SECRET=SECRET,
    )


@pytest.mark.asyncio
async def test_members_get_turn_credentials(client: httpx.AsyncClient) -> None:
    host, stranger = await user(client), await user(client)
    room = await open_session(client, host)
    r = await client.get(f"/api/v1/sessions/{room['id']}/ice", headers=host["headers"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-store"
    body = r.json()
    stun, turn = body["iceServers"]
    assert stun == {"urls": ["stun:turn.example.test:3478"]}
    assert turn["urls"] == ["turn:turn.example.test:3478?transport=udp", "turns:turn.example.test:5349"]
    expiry, user_id = turn["username"].split(":")
    assert user_id == host["id"] and 0 < int(expiry) - time.time() <= 3600 and body["ttl"] <= 3600
    expected = hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected
    # Not a member, or not signed in: nothing.
    r = await client.get(f"/api/v1/sessions/{room['id']}/ice", headers=stranger["headers"])
    assert r.status_code == 404 and "credential" not in r.text
    assert (await client.get(f"/api/v1/sessions/{room['id']}/ice")).status_code == 401
    # A member who joined gets their own username.
    invite = await link_invite(client, host, room["id"])
    await client.post("/api/v1/sessions/join", json={"token": invite["token"]}, headers=stranger["headers"])
    r = await client.get(f"/api/v1/sessions/{room['id']}/ice", headers=stranger["headers"])
    assert r.json()["iceServers"][1]["username"].endswith(":" + stranger["id"])


def test_credential_never_outlives_the_session_or_an_hour() -> None:
    now = 1_800_000_000
    args = {"stun_urls": [], "turn_urls": ["turn:t:3478"], "secret": "s", "user_id": "u", "now": now}
    assert ice_config(**args, ttl=99999, expires_at=now + 86400).ttl == 3600  # type: ignore[arg-type]
    short = ice_config(**args, ttl=3600, expires_at=now + 600)  # type: ignore[arg-type]
    assert short.ttl == 600 and short.ice_servers[0].username == f"{now + 600}:u"
    # Without a secret no TURN entry is handed out at all.
    assert ice_config(**{**args, "secret": ""}, ttl=600, expires_at=now + 600).ice_servers == []  # type: ignore[arg-type]
