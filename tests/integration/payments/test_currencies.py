"""The currency table the pages format money with: the server's minor units, cached publicly."""

from __future__ import annotations

import httpx

from app.payments.money import minor_digits


async def test_currencies_are_public_cached_and_match_the_server(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/currencies")
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("public, max-age=3600")
    body = r.json()
    assert body["default"] == 2 and body["digits"]["JPY"] == 0 and body["digits"]["KWD"] == 3
    for code in ("USD", "EUR", "ISK", "HUF", "TWD", "JPY", "UGX", "KWD"):
        assert body["digits"].get(code, body["default"]) == minor_digits(code), code
