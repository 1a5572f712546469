"""Roles: member, creator, admin; create-admin from the command line."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.accounts.helpers import bearer, login, signup
from tests.support import run_cli, test_env


async def test_member_becomes_creator_and_admin_sets_roles(
    client: httpx.AsyncClient, db_url: str, var_dir: Path
) -> None:
    member = await signup(client)
    token = (await login(client, member))["access_token"]
    r = await client.put(
        f"/api/v1/admin/accounts/{member['handle']}/role", headers=bearer(token), json={"role": "admin"}
    )
    assert r.status_code == 403
    assert (await client.post("/api/v1/account/creator", headers=bearer(token))).json()["role"] == "creator"

    result = run_cli(
        ["create-admin", "--email", "root@example.com", "--handle", "root", "--password-stdin"],
        test_env(db_url, var_dir),
        stdin="admin password 123\n",
    )
    assert result.returncode == 0, result.stderr
    admin = await login(client, {"email": "root@example.com", "password": "admin password 123"})
    assert admin["account"]["role"] == "admin"
    r = await client.put(
        f"/api/v1/admin/accounts/{member['handle']}/role",
        headers=bearer(admin["access_token"]),
        json={"role": "member"},
    )
    assert r.status_code == 200
    assert r.json()["role"] == "member"
    r = await client.put(
        f"/api/v1/admin/accounts/{member['handle']}/role", headers=bearer(admin["access_token"]), json={"role": "king"}
    )
    assert r.status_code == 422
