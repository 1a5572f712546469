"""Sign-up, log-in, refresh rotation, log-out and own account, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from app.accounts.tables import RefreshToken
from app.core.db import now
from app.core.security import token_digest
from tests.integration.accounts.helpers import PASSWORD, bearer, csrf_headers, login, new_identity, signup


async def rotated_long_ago(raw_token: str) -> None:
    """Move a spent token's rotation back past the reuse interval: presenting it is a replay."""
    await RefreshToken.update({RefreshToken.used_at: now() - 120}).where(
        RefreshToken.token_hash == token_digest(raw_token)
    )


async def test_signup_login_and_read_account(client: httpx.AsyncClient) -> None:
    ident = await signup(client, display_name="Ana Synth")
    r = await client.post("/api/v1/auth/login", json={"email": ident["email"].upper(), "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert "refresh_token" not in body  # browsers get it only as a cookie
    cookie = r.headers["set-cookie"]
    for attribute in ("echoel_refresh=", "HttpOnly", "Secure", "SameSite=strict", "Path=/api/v1/auth"):
        assert attribute in cookie
    assert r.headers["cache-control"] == "private, no-store"
    me = await client.get("/api/v1/account/", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == ident["email"] and me.json()["role"] == "member"
    assert me.json()["display_name"] == "Ana Synth"


async def test_cookie_refresh_rotates_and_replay_revokes_family(client: httpx.AsyncClient) -> None:
    ident = await signup(client)
    first = await login(client, ident)
    old_cookie = client.cookies["echoel_refresh"]
    headers = await csrf_headers(client)
    r = await client.post("/api/v1/auth/refresh", headers=headers)
    assert r.status_code == 200, r.text
    new_cookie = client.cookies["echoel_refresh"]
    assert new_cookie != old_cookie and r.json()["access_token"] != first["access_token"]
    # Replaying the spent token revokes the family: the newest token dies too.
    await rotated_long_ago(old_cookie)
    client.cookies.set("echoel_refresh", old_cookie, domain="testserver.local", path="/api/v1/auth")
    assert (await client.post("/api/v1/auth/refresh", headers=headers)).status_code == 401
    client.cookies.set("echoel_refresh", new_cookie, domain="testserver.local", path="/api/v1/auth")
    r = await client.post("/api/v1/auth/refresh", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_token_presented_again_right_after_its_rotation_keeps_the_session(client: httpx.AsyncClient) -> None:
    """A page that navigated away mid-refresh never saw the new cookie and sends the old one again."""
    ident = await signup(client)
    token = (await login(client, ident, refresh_in_body=True))["refresh_token"]
    first = await client.post("/api/v1/auth/token/refresh", json={"refresh_token": token})
    again = await client.post("/api/v1/auth/token/refresh", json={"refresh_token": token})
    assert first.status_code == again.status_code == 200, again.text
    # Both answers' tokens are live members of the one family, each usable once.
    for body in (first.json(), again.json()):
        r = await client.post("/api/v1/auth/token/refresh", json={"refresh_token": body["refresh_token"]})
        assert r.status_code == 200, r.text
    # Once the interval has passed, the same old token is a replay and ends the family.
    await rotated_long_ago(token)
    assert (await client.post("/api/v1/auth/token/refresh", json={"refresh_token": token})).status_code == 401
    latest = r.json()["refresh_token"]
    assert (await client.post("/api/v1/auth/token/refresh", json={"refresh_token": latest})).status_code == 401


async def test_cookie_refresh_requires_csrf_header(client: httpx.AsyncClient) -> None:
    ident = await signup(client)
    await login(client, ident)
    r = await client.post("/api/v1/auth/refresh")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    await csrf_headers(client)
    r = await client.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    # The refused attempts spent nothing: the real header still works.
    assert (await client.post("/api/v1/auth/refresh", headers=await csrf_headers(client))).status_code == 200


async def test_body_refresh_rotation_for_api_clients(client: httpx.AsyncClient) -> None:
    ident = await signup(client)
    first = await login(client, ident, refresh_in_body=True)
    token = first["refresh_token"]
    r = await client.post("/api/v1/auth/token/refresh", json={"refresh_token": token})
    assert r.status_code == 200
    second = r.json()["refresh_token"]
    assert second != token
    await rotated_long_ago(token)
    assert (await client.post("/api/v1/auth/token/refresh", json={"refresh_token": token})).status_code == 401
    assert (await client.post("/api/v1/auth/token/refresh", json={"refresh_token": second})).status_code == 401


async def test_logout_ends_this_session_only(client: httpx.AsyncClient) -> None:
    ident = await signup(client)
    other = (await login(client, ident, refresh_in_body=True))["refresh_token"]
    await login(client, ident)
    r = await client.post("/api/v1/auth/logout", headers=await csrf_headers(client))
    assert r.status_code == 204
    assert "echoel_refresh" not in client.cookies
    assert (await client.post("/api/v1/auth/refresh", headers=await csrf_headers(client))).status_code == 401
    # The other device's session lives on.
    assert (await client.post("/api/v1/auth/token/refresh", json={"refresh_token": other})).status_code == 200


async def test_logout_everywhere_kills_refresh_and_access_tokens(client: httpx.AsyncClient) -> None:
    ident = await signup(client)
    a = await login(client, ident, refresh_in_body=True)
    b = await login(client, ident, refresh_in_body=True)
    assert (
        await client.post("/api/v1/account/logout-everywhere", headers=bearer(a["access_token"]))
    ).status_code == 204
    for session in (a, b):
        assert (await client.get("/api/v1/account/", headers=bearer(session["access_token"]))).status_code == 401
        r = await client.post("/api/v1/auth/token/refresh", json={"refresh_token": session["refresh_token"]})
        assert r.status_code == 401
    assert (
        await client.post("/api/v1/auth/login", json={"email": ident["email"], "password": PASSWORD})
    ).status_code == 200


async def test_change_password(client: httpx.AsyncClient) -> None:
    ident = await signup(client)
    other = await login(client, ident, refresh_in_body=True)
    mine = await login(client, ident)
    wrong = await client.post(
        "/api/v1/account/password",
        headers=bearer(mine["access_token"]),
        json={"current_password": "not it at all", "new_password": "a brand new passphrase"},
    )
    assert wrong.status_code == 422
    r = await client.post(
        "/api/v1/account/password",
        headers=bearer(mine["access_token"]),
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert r.status_code == 200
    assert (await client.get("/api/v1/account/", headers=bearer(r.json()["access_token"]))).status_code == 200
    assert (
        await client.post("/api/v1/auth/token/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 401
    old = await client.post("/api/v1/auth/login", json={"email": ident["email"], "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post("/api/v1/auth/login", json={"email": ident["email"], "password": "a brand new passphrase"})
    assert new.status_code == 200


async def test_profile_update_and_handle_conflict(client: httpx.AsyncClient) -> None:
    taken = await signup(client)
    ident = await signup(client)
    token = (await login(client, ident))["access_token"]
    r = await client.patch(
        "/api/v1/account/", headers=bearer(token), json={"bio": "Pads and plucks.", "handle": "NewName"}
    )
    assert r.status_code == 200 and r.json()["bio"] == "Pads and plucks." and r.json()["handle"] == "newname"
    r = await client.patch("/api/v1/account/", headers=bearer(token), json={"handle": taken["handle"]})
    assert r.status_code == 409 and r.json()["field"] == "handle"
    assert (await client.get("/api/v1/account/", headers=bearer(token))).json()["handle"] == "newname"


async def test_long_multibyte_password_round_trip(client: httpx.AsyncClient) -> None:
    # 128 characters, 352 bytes of UTF-8: far past bcrypt's 72-byte limit.
    password = ("ü🎹ß" * 43)[:128]
    assert len(password) == 128 and len(password.encode()) > 300
    ident = await signup(client, password=password)
    assert (
        await client.post("/api/v1/auth/login", json={"email": ident["email"], "password": password})
    ).status_code == 200
    # No truncation: a password equal in its first 72 bytes but different at the end fails.
    near = password[:-1] + "x"
    assert (
        await client.post("/api/v1/auth/login", json={"email": ident["email"], "password": near})
    ).status_code == 401


async def test_same_answers_for_known_and_unknown_emails(client: httpx.AsyncClient) -> None:
    known = await signup(client)
    wrong_known = await client.post("/api/v1/auth/login", json={"email": known["email"], "password": "wrong password"})
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "wrong password"}
    )
    assert wrong_known.status_code == unknown.status_code == 401
    assert wrong_known.json() == unknown.json()
    assert wrong_known.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"
    again = await client.post("/api/v1/auth/signup", json={**new_identity(), "email": known["email"]})
    fresh = await client.post("/api/v1/auth/signup", json=new_identity())
    assert again.status_code == fresh.status_code == 202
    assert again.json() == fresh.json()
    # The repeated sign-up did not touch the existing account.
    assert (
        await client.post("/api/v1/auth/login", json={"email": known["email"], "password": PASSWORD})
    ).status_code == 200


async def test_login_failures_are_rate_limited(client: httpx.AsyncClient) -> None:
    ident = await signup(client)
    for _ in range(10):
        r = await client.post("/api/v1/auth/login", json={"email": ident["email"], "password": "wrong password"})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"email": ident["email"], "password": PASSWORD})
    assert r.status_code == 429
    assert 0 < int(r.headers["retry-after"]) <= 300
    assert r.headers["content-type"].startswith("application/problem+json")
