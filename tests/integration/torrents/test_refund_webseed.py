"""A refund cuts a buyer's web seed at once: no seeder runs here to revoke the passkey, the
refunded entitlement alone refuses the per-buyer web-seed URL."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import libtorrent as lt
import pytest
from litestar import Litestar

from app.accounts.tables import User
from app.core.settings import Settings
from app.torrents.services import TorrentService
from app.torrents.tables import Passkey
from tests.integration.payments.conftest import stripe_env
from tests.integration.payments.helpers import buy, charge_object, deliver, event, for_sale, user
from tests.integration.payments.stripe_server import PaidStripeMock
from tests.integration.torrents.helpers import make_pack
from tests.support import test_settings


@pytest.fixture
def settings(db_url: str, var_dir: Path, stripe_mock: PaidStripeMock) -> Settings:
    return test_settings(db_url, var_dir, **stripe_env(stripe_mock))


async def test_refund_refuses_the_web_seed_before_any_seeder_refresh(
    app: Litestar, client: httpx.AsyncClient, stripe_mock: PaidStripeMock, tmp_path: Path
) -> None:
    service: TorrentService = app.state.torrents
    _, creator = await user(client, creator=True)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=1500)
    handle, buyer = await user(client)
    _, payment_intent = await buy(client, stripe_mock.url, buyer, [{"listing_id": item["id"]}])
    version, _ = make_pack(tmp_path, {"one.wav": 256 * 1024}, private=True)
    torrent = await service.publish(dataclasses.replace(version, listing_id=uuid.UUID(item["id"])))

    mine = await client.get(f"/api/v1/torrents/{torrent.id}/my-torrent", headers=buyer)
    assert mine.status_code == 200, mine.text
    seed = urlsplit(lt.bdecode(mine.content)[b"url-list"][0].decode()).path + f"{version.name}/one.wav"
    assert (await client.get(seed, headers={"Range": "bytes=0-99"})).status_code == 206

    refund = await deliver(client, event("charge.refunded", charge_object(stripe_mock.url, payment_intent)))
    assert refund.json()["outcome"] == "refunded"
    refused = await client.get(seed, headers={"Range": "bytes=0-99"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    # The passkey is still live: only the seeder's refresh revokes it, and none ran.
    buyer_id = (await User.select(User.id).where(User.handle == handle).first())["id"]  # type: ignore[index]
    assert await Passkey.exists().where(Passkey.user == buyer_id, Passkey.revoked_at.is_null())
