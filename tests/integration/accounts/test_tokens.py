"""Access tokens that must be refused: missing, expired, tampered, alg none, wrong key, wrong type."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar

from app.accounts.auth import derive_key
from tests.integration.accounts.helpers import bearer, login, signup


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(access_token: str) -> dict[str, Any]:
    return jwt.decode(access_token, options={"verify_signature": False})


@pytest.fixture
async def session(client: httpx.AsyncClient) -> dict[str, Any]:
    ident = await signup(client)
    return await login(client, ident, refresh_in_body=True)


async def _status(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    r = await client.get("/api/v1/account/", headers=headers)
    if r.status_code == 401:
        assert r.headers["content-type"].startswith("application/problem+json")
    return r.status_code


async def test_valid_token_claims(client: httpx.AsyncClient, session: dict[str, Any]) -> None:
    claims = _claims(session["access_token"])
    assert {"exp", "iat", "jti", "sub", "typ"} <= claims.keys()
    assert claims["typ"] == "access"
    assert 0 < claims["exp"] - claims["iat"] <= 15 * 60
    assert jwt.get_unverified_header(session["access_token"])["alg"] == "HS256"
    assert await _status(client, bearer(session["access_token"])) == 200


async def test_missing_and_garbage_tokens(client: httpx.AsyncClient) -> None:
    assert await _status(client, {}) == 401
    assert await _status(client, bearer("not-a-jwt")) == 401
    assert await _status(client, {"Authorization": "Basic dXNlcjpwYXNz"}) == 401


async def test_tampered_payload(client: httpx.AsyncClient, session: dict[str, Any]) -> None:
    header, payload, signature = session["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = str(uuid.uuid4())
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    assert await _status(client, bearer(forged)) == 401


async def test_alg_none(client: httpx.AsyncClient, session: dict[str, Any]) -> None:
    claims = _claims(session["access_token"])
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{header}.{_b64(json.dumps(claims).encode())}."
    assert await _status(client, bearer(unsigned)) == 401


async def test_wrong_key_and_other_algorithm(client: httpx.AsyncClient, app: Litestar, session: dict[str, Any]) -> None:
    claims = _claims(session["access_token"])
    assert await _status(client, bearer(jwt.encode(claims, "some-other-key-" + "z" * 32, algorithm="HS256"))) == 401
    # Right key, but an algorithm we did not pin.
    key = derive_key(app.state.settings.secret_key, "jwt-access")
    assert await _status(client, bearer(jwt.encode(claims, key, algorithm="HS512"))) == 401
    # Sanity: the same claims signed the way the app signs are accepted, so the refusals above mean something.
    assert await _status(client, bearer(jwt.encode(claims, key, algorithm="HS256"))) == 200


async def test_expired_token(client: httpx.AsyncClient, app: Litestar, session: dict[str, Any]) -> None:
    claims = _claims(session["access_token"])
    now = int(time.time())
    claims.update(iat=now - 3600, exp=now - 60)
    key = derive_key(app.state.settings.secret_key, "jwt-access")
    assert await _status(client, bearer(jwt.encode(claims, key, algorithm="HS256"))) == 401


async def test_refresh_token_used_as_access_token(
    client: httpx.AsyncClient, app: Litestar, session: dict[str, Any]
) -> None:
    assert await _status(client, bearer(session["refresh_token"])) == 401
    # A correctly signed token of another type is refused too.
    claims = {**_claims(session["access_token"]), "typ": "refresh"}
    key = derive_key(app.state.settings.secret_key, "jwt-access")
    assert await _status(client, bearer(jwt.encode(claims, key, algorithm="HS256"))) == 401
