"""License verification: an activated machine is a read; new activations stay within the limit under concurrency."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest

from app.payments.tables import LicenseActivation, LicenseKey
from tests.integration.payments.helpers import buy, for_sale, user, verify
from tests.integration.payments.stripe_server import PaidStripeMock


async def licensed_key(client: httpx.AsyncClient, stripe_url: str, limit: int) -> str:
    _, creator = await user(client, creator=True)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=2500)
    path = f"/api/v1/licenses/settings/{item['id']}"
    assert (await client.put(path, json={"activation_limit": limit}, headers=creator)).status_code == 200
    await buy(client, stripe_url, buyer, [{"listing_id": item["id"]}])
    key = (await client.get("/api/v1/orders", headers=buyer)).json()[0]["items"][0]["license_key"]
    assert key
    return str(key)


async def test_an_activated_machine_is_verified_while_another_process_holds_the_write_lock(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock; reads never waited there")
    key = await licensed_key(client, stripe_mock.url, 2)
    assert (await verify(client, key, "studio")).json()["activations"] == 1
    # Another process (a second worker, `echoel worker`) in the middle of a write.
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        # A write would wait the busy timeout (30 s) for the lock; a read answers at once.
        again = await asyncio.wait_for(verify(client, key, "studio"), 10)
        assert again.status_code == 200 and again.json()["activations"] == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (await verify(client, key, "laptop")).json()["activations"] == 2


async def test_concurrent_activations_never_pass_the_limit_nor_count_a_machine_twice(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    key = await licensed_key(client, stripe_mock.url, 3)
    machines = ["same"] * 4 + [f"m{i}" for i in range(6)]
    answers = await asyncio.gather(*(verify(client, key, m) for m in machines))
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    won = {m for m, a in zip(machines, answers, strict=True) if a.status_code == 200}
    assert len(won) == 3
    # One machine's requests all agree: activated once, or all refused.
    assert len({a.status_code for m, a in zip(machines, answers, strict=True) if m == "same"}) == 1
    row = await LicenseKey.objects().where(LicenseKey.key == key).first()
    assert row is not None and row.activations == 3
    assert await LicenseActivation.count().where(LicenseActivation.license == row.id) == 3
    for machine in won:  # activated machines verify again without a new activation
        assert (await verify(client, key, machine)).json()["activations"] == 3
    assert (await verify(client, key, "one-more")).status_code == 409
