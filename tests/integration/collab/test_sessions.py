"""Sessions API on SQLite and PostgreSQL: create, invites, join, lock, remove, ICE credentials."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

import httpx
import pytest

from app.collab.tables import SessionInvite
from tests.integration.collab.helpers import join, link_invite, open_session, user

pytestmark = pytest.mark.asyncio


async def test_create_get_list(client: httpx.AsyncClient) -> None:
    host = await user(client)
    room = await open_session(client, host, max_participants=3, expires_in_minutes=30)
    assert room["max_participants"] == 3 and room["locked"] is False
    assert [m["role"] for m in room["members"]] == ["host"]
    assert 29 * 60 < room["expires_at"] - time.time() <= 30 * 60
    r = await client.get(f"/api/v1/sessions/{room['id']}", headers=host["headers"])
    assert r.status_code == 200 and r.json()["title"] == "Jam"
    assert r.headers["cache-control"] == "private, no-store"
    r = await client.get("/api/v1/sessions", headers=host["headers"])
    assert [s["id"] for s in r.json()] == [room["id"]]
    # A stranger sees nothing of it.
    stranger = await user(client)
    assert (await client.get(f"/api/v1/sessions/{room['id']}", headers=stranger["headers"])).status_code == 404
    assert (await client.get("/api/v1/sessions", headers=stranger["headers"])).json() == []
    assert (await client.get("/api/v1/sessions")).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x", "max_participants": 1},
        {"title": "x", "max_participants": 9},
        {"title": "x", "evil": 1},
    ],
)
async def test_bad_session_bodies(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    host = await user(client)
    r = await client.post("/api/v1/sessions", json=body, headers=host["headers"])
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/sessions", headers=host["headers"])).json() == []


async def test_link_invite_join_and_token_stored_hashed(client: httpx.AsyncClient) -> None:
    host, guest = await user(client), await user(client)
    room = await open_session(client, host)
    invite = await link_invite(client, host, room["id"])
    assert invite["url"].endswith(f"/session.html?invite={invite['token']}")
    row = await SessionInvite.objects().where(SessionInvite.id == uuid.UUID(invite["id"])).first()
    assert row is not None and row.token_hash == hashlib.sha256(invite["token"].encode()).hexdigest()
    r = await join(client, guest, invite["token"])
    assert r.status_code == 200, r.text
    assert {m["handle"] for m in r.json()["members"]} == {host["handle"], guest["handle"]}
    # Guests cannot invite, lock or remove.
    assert (
        await client.post(f"/api/v1/sessions/{room['id']}/invites", json={}, headers=guest["headers"])
    ).status_code == 403
    assert (
        await client.patch(f"/api/v1/sessions/{room['id']}", json={"locked": True}, headers=guest["headers"])
    ).status_code == 403
    r = await client.delete(f"/api/v1/sessions/{room['id']}/members/{host['id']}", headers=guest["headers"])
    assert r.status_code == 403


async def test_expired_and_revoked_invites_refused(client: httpx.AsyncClient) -> None:
    host, a, b = await user(client), await user(client), await user(client)
    room = await open_session(client, host)
    expired, revoked = await link_invite(client, host, room["id"]), await link_invite(client, host, room["id"])
    await SessionInvite.update({SessionInvite.expires_at: int(time.time()) - 1}).where(
        SessionInvite.id == uuid.UUID(expired["id"])
    )
    r = await client.delete(f"/api/v1/sessions/{room['id']}/invites/{revoked['id']}", headers=host["headers"])
    assert r.status_code == 204
    for token in (expired["token"], revoked["token"], "not-a-real-token-at-all"):
        for guest in (a, b):
            r = await join(client, guest, token)
            assert r.status_code == 403 and r.json()["detail"].startswith("This invite is not valid")
    members = (await client.get(f"/api/v1/sessions/{room['id']}", headers=host["headers"])).json()["members"]
    assert len(members) == 1


async def test_lock_full_and_remove(client: httpx.AsyncClient) -> None:
    host, a, b, c = [await user(client) for _ in range(4)]
    room = await open_session(client, host, max_participants=3)
    invite = await link_invite(client, host, room["id"])
    assert (await join(client, a, invite["token"])).status_code == 200
    r = await client.patch(f"/api/v1/sessions/{room['id']}", json={"locked": True}, headers=host["headers"])
    assert r.status_code == 200 and r.json()["locked"] is True
    r = await join(client, b, invite["token"])
    assert r.status_code == 403 and "locked" in r.json()["detail"]
    await client.patch(f"/api/v1/sessions/{room['id']}", json={"locked": False}, headers=host["headers"])
    assert (await join(client, b, invite["token"])).status_code == 200
    r = await join(client, c, invite["token"])
    assert r.status_code == 409  # full: 3 of 3
    # The host removes a; a loses access and cannot come back through the link.
    r = await client.delete(f"/api/v1/sessions/{room['id']}/members/{a['id']}", headers=host["headers"])
    assert r.status_code == 204
    assert (await client.get(f"/api/v1/sessions/{room['id']}", headers=a["headers"])).status_code == 404
    assert (await client.get(f"/api/v1/sessions/{room['id']}/ice", headers=a["headers"])).status_code == 404
    r = await join(client, a, invite["token"])
    assert r.status_code == 403 and "removed" in r.json()["detail"]
    # A handle invite from the host brings them back.
    r = await client.post(
        f"/api/v1/sessions/{room['id']}/invites", json={"handle": a["handle"]}, headers=host["headers"]
    )
    assert r.status_code == 201 and r.json()["kind"] == "handle"
    assert (await client.post(f"/api/v1/sessions/{room['id']}/join", headers=a["headers"])).status_code == 200
    # Without a handle invite, joining by id is refused.
    assert (await client.post(f"/api/v1/sessions/{room['id']}/join", headers=c["headers"])).status_code == 403


async def test_concurrent_joins_respect_the_cap(client: httpx.AsyncClient) -> None:
    host = await user(client)
    guests = [await user(client) for _ in range(6)]
    room = await open_session(client, host, max_participants=3)
    invite = await link_invite(client, host, room["id"])
    results = await asyncio.gather(*(join(client, g, invite["token"]) for g in guests))
    assert sorted(r.status_code for r in results) == [200, 200, 409, 409, 409, 409]
    members = (await client.get(f"/api/v1/sessions/{room['id']}", headers=host["headers"])).json()["members"]
    assert len(members) == 3
    # Sessions opened at the same moment all land (SQLite writers wait for the lock instead of failing).
    opened = await asyncio.gather(
        *(client.post("/api/v1/sessions", json={"title": "x"}, headers=g["headers"]) for g in guests)
    )
    assert [r.status_code for r in opened] == [201] * 6
