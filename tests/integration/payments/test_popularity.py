"""Sales make a listing popular in search; refunds take that back (through the outbox)."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.integration.payments.helpers import buy, charge_object, deliver, event, for_sale, user
from tests.integration.payments.stripe_server import PaidStripeMock


async def _popular_first(client: httpx.AsyncClient, handle: str, expected: str, seconds: float = 15) -> str:
    """The id first in the popularity sort of ``handle``'s listings, once it is ``expected``."""
    deadline = time.monotonic() + seconds
    while True:
        r = await client.get("/api/v1/search/", params={"creator": handle, "sort": "popular"})
        assert r.status_code == 200, r.text
        hits = r.json()["hits"]
        first = str(hits[0]["id"]) if hits else ""
        if first == expected or time.monotonic() > deadline:
            return first
        await asyncio.sleep(0.2)


async def test_popularity_sort_follows_sales_and_refunds(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    handle, creator = await user(client, creator=True)
    one = await for_sale(client, creator, price_kind="fixed", price_amount=1500)
    two = await for_sale(client, creator, price_kind="fixed", price_amount=900)

    await buy(client, stripe_mock.url, (await user(client))[1], [{"listing_id": one["id"]}])
    assert await _popular_first(client, handle, one["id"]) == one["id"]

    sales = [await buy(client, stripe_mock.url, (await user(client))[1], [{"listing_id": two["id"]}]) for _ in "ab"]
    assert await _popular_first(client, handle, two["id"]) == two["id"]

    for _, pi in sales:  # both refunded: their access, and the popularity it gave, are gone
        r = await deliver(client, event("charge.refunded", charge_object(stripe_mock.url, pi)))
        assert r.json()["outcome"] == "refunded"
    assert await _popular_first(client, handle, one["id"]) == one["id"]
