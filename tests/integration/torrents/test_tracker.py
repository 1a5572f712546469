"""The tracker and the torrent API refuse bad input clearly and change nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import libtorrent as lt
import pytest

from app.catalog.tables import Entitlement, Listing, ListingFile
from app.core.errors import InvalidInput
from app.jobs.tables import Job
from app.jobs.worker import Worker
from app.torrents.catalog import revoke_refunded
from app.torrents.jobs import BUILD_KIND, enqueue_builds
from app.torrents.packs import PackFile, PackVersion
from app.torrents.services import TorrentService
from app.torrents.tables import Passkey, Torrent, TrackerPeer
from tests.integration.accounts.helpers import bearer, login, signup
from tests.integration.torrents.helpers import make_pack, published_version


def _query(info_hash: bytes, peer_id: bytes = b"-XX0001-abcdefghijkl", port: int = 6881, **extra: str) -> str:
    params = {"info_hash": quote_from_bytes(info_hash), "peer_id": quote_from_bytes(peer_id), "port": str(port)}
    params.update(extra)
    return "&".join(f"{k}={v}" for k, v in params.items())


async def _announce(client: httpx.AsyncClient, query: str, passkey: str | None = None) -> dict[bytes, Any]:
    path = "/announce" + (f"/{passkey}" if passkey else "")
    r = await client.get(f"{path}?{query}")
    assert r.status_code == 200
    decoded: dict[bytes, Any] = lt.bdecode(r.content)
    return decoded


@pytest.fixture
async def packs(client: httpx.AsyncClient, tmp_path: Path) -> tuple[Torrent, Torrent, TorrentService]:
    service: TorrentService = client._transport.app.state.torrents  # type: ignore[attr-defined]
    free, _ = make_pack(tmp_path / "free", {"a.wav": 300_000, "b/c.wav": 5000})
    paid, _ = make_pack(tmp_path / "paid", {"x.wav": 100_000}, private=True)
    return await service.publish(free), await service.publish(paid), service


async def test_announce_bad_input_gets_bencoded_failures(
    client: httpx.AsyncClient, packs: tuple[Torrent, Torrent, TorrentService]
) -> None:
    free, paid, service = packs
    free_hash = bytes.fromhex(free.info_hash_v1 or "")
    paid_hash = bytes.fromhex(paid.info_hash_v1 or "")
    user_id = uuid.UUID((await signup_user(client))["id"])
    other_listing = await service.grant(user_id, uuid.uuid4())
    revoked = await service.grant(user_id, paid.listing_id)
    await service.revoke(user_id, paid.listing_id)
    cases = [
        ("port=1&peer_id=-XX0001-abcdefghijkl", None, b"missing info_hash"),
        (_query(free_hash[:19]), None, b"info_hash must be 20 bytes"),
        (_query(free_hash, peer_id=b"short"), None, b"peer_id must be 20 bytes"),
        (_query(free_hash, port=0), None, b"port out of range"),
        (_query(free_hash) + "&port=x", None, b"port given more than once"),
        (_query(free_hash, left="-5"), None, b"left must be a non-negative integer"),
        (_query(free_hash, event="exploded"), None, b"unknown event"),
        (_query(b"\x01" * 20), None, b"unknown torrent"),
        (_query(paid_hash), None, b"this torrent is private"),
        (_query(paid_hash), "0" * 32, b"unknown passkey"),
        (_query(paid_hash), other_listing.key, b"passkey not valid for this torrent"),
        (_query(paid_hash), revoked.key, b"passkey revoked"),
    ]
    for query, passkey, reason in cases:
        body = await _announce(client, query, passkey)
        assert reason in body[b"failure reason"], (query, body)
    assert await TrackerPeer.count() == 0


async def signup_user(client: httpx.AsyncClient) -> dict[str, Any]:
    ident = await signup(client)
    session = await login(client, ident)
    account: dict[str, Any] = session["account"]
    account["token"] = session["access_token"]
    return account


async def test_announce_and_scrape_give_compact_peers(
    client: httpx.AsyncClient, packs: tuple[Torrent, Torrent, TorrentService]
) -> None:
    free, paid, _ = packs
    info_hash = bytes.fromhex(free.info_hash_v1 or "")
    first = await _announce(client, _query(info_hash, port=7001, left="0"))
    assert first[b"peers"] == b"" and first[b"interval"] > 0
    # The truncated v2 hash names the same swarm (hybrid torrents announce under both).
    v2 = bytes.fromhex(free.info_hash_v2 or "")[:20]
    second = await _announce(client, _query(v2, peer_id=b"-XX0001-zzzzzzzzzzzz", port=7002, left="10"))
    # 6 bytes per peer: the address the tracker saw (the test client's) and the announced port.
    assert second[b"peers"] == bytes([203, 0, 113, 7]) + (7001).to_bytes(2, "big")
    assert second[b"complete"] == 1 and second[b"incomplete"] == 1
    r = await client.get(f"/scrape?info_hash={quote_from_bytes(info_hash)}")
    files = lt.bdecode(r.content)[b"files"]
    assert files[info_hash] == {b"complete": 1, b"incomplete": 1, b"downloaded": 0}
    # A private swarm is not disclosed to a scrape without a passkey.
    r = await client.get(f"/scrape?info_hash={quote_from_bytes(bytes.fromhex(paid.info_hash_v1 or ''))}")
    assert lt.bdecode(r.content)[b"files"] == {}
    await _announce(client, _query(info_hash, port=7001, event="stopped"))
    assert await TrackerPeer.count() == 1


async def test_paid_pack_api_refusals(
    client: httpx.AsyncClient, packs: tuple[Torrent, Torrent, TorrentService]
) -> None:
    free, paid, service = packs
    shown = (await client.get(f"/api/v1/torrents/{paid.id}")).json()
    assert shown["magnet"] is None and shown["private"] is True
    assert (await client.get(f"/api/v1/torrents/{free.id}")).json()["magnet"].startswith("magnet:?xt=urn:btih:")
    r = await client.get(f"/api/v1/torrents/{paid.id}/torrent")
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/api/v1/torrents/{paid.id}/my-torrent")).status_code == 401
    account = await signup_user(client)
    r = await client.get(f"/api/v1/torrents/{paid.id}/my-torrent", headers=bearer(account["token"]))
    assert r.status_code == 403 and "do not own" in r.json()["detail"]
    await service.grant(uuid.UUID(account["id"]), paid.listing_id)
    r = await client.get(f"/api/v1/torrents/{paid.id}/my-torrent", headers=bearer(account["token"]))
    assert r.status_code == 200
    info = lt.torrent_info(r.content)
    assert str(info.info_hashes().v1) == paid.info_hash_v1
    assert (await client.get(f"/api/v1/torrents/{uuid.uuid4()}")).status_code == 404


async def test_web_seed_ranges_and_refusals(
    client: httpx.AsyncClient, packs: tuple[Torrent, Torrent, TorrentService]
) -> None:
    free, paid, service = packs
    base = f"/ws/seed/public/{free.info_hash_v1}/{free.name}"
    whole = (service.cache.dir_of(free.id) / free.name / "a.wav").read_bytes()
    r = await client.get(f"{base}/a.wav", headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206 and r.content == whole[1000:2000]
    assert r.headers["content-range"] == f"bytes 1000-1999/{len(whole)}"
    r = await client.get(f"{base}/a.wav", headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == whole[-10:]
    r = await client.get(f"{base}/a.wav")
    assert r.status_code == 200 and r.content == whole
    beyond = await client.get(f"{base}/a.wav", headers={"Range": "bytes=999999999-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole)}"
    assert (await client.get(f"{base}/..%2F..%2Fetc%2Fpasswd")).status_code in {404, 422}
    assert (await client.get(f"{base}/missing.wav")).status_code == 404
    assert (await client.get(f"/ws/seed/sometoken/{free.info_hash_v1}/{free.name}/a.wav")).status_code == 404
    paid_url = f"/ws/seed/public/{paid.info_hash_v1}/{paid.name}/x.wav"
    assert (await client.get(paid_url)).status_code == 403
    assert (await client.get(paid_url.replace("public", "00.99999999999.ff"))).status_code == 403
    served = await Torrent.objects().where(Torrent.id == free.id).first()
    assert served is not None and served.http_bytes == 1000 + 10 + len(whole)


async def test_publish_refuses_changed_or_unsafe_files(
    client: httpx.AsyncClient, packs: tuple[Torrent, Torrent, TorrentService], tmp_path: Path
) -> None:
    _, _, service = packs
    version, _ = make_pack(tmp_path / "changed", {"a.wav": 1000})
    f = version.files[0]
    changed = PackVersion(
        version.listing_id, version.version_id, version.name, [PackFile(f.path, f.source, f.size + 1)], False
    )
    with pytest.raises(InvalidInput, match="changed after publishing"):
        await service.publish(changed)
    unsafe = PackVersion(uuid.uuid4(), uuid.uuid4(), "x", [PackFile("../escape.wav", f.source, f.size)], False)
    with pytest.raises(InvalidInput, match="unsafe file path"):
        await service.publish(unsafe)
    assert await Torrent.count().where(Torrent.status == "ready") == 2


async def test_catalog_entitlement_issues_passkeys_and_a_refund_revokes_them(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    service: TorrentService = client._transport.app.state.torrents  # type: ignore[attr-defined]
    creator, buyer = await signup_user(client), await signup_user(client)
    now = int(time.time())
    listing = Listing(
        creator=uuid.UUID(creator["id"]),
        slug="pads",
        kind="sample_pack",
        title="Pads",
        price_kind="fixed",
        price_amount=900,
        status="published",
        created_at=now,
        updated_at=now,
    )
    await listing.save()
    version, _ = make_pack(tmp_path, {"a.wav": 50_000}, private=True)
    paid = await service.publish(dataclasses.replace(version, listing_id=listing.id))
    url = f"/api/v1/torrents/{paid.id}/my-torrent"
    assert (await client.get(url, headers=bearer(buyer["token"]))).status_code == 403
    entitlement = Entitlement(user=uuid.UUID(buyer["id"]), listing=listing.id, source="purchase", created_at=now)
    await entitlement.save()
    r = await client.get(url, headers=bearer(buyer["token"]))
    assert r.status_code == 200
    announce = lt.bdecode(r.content)[b"announce"].decode()
    passkey = announce.rsplit("/", 1)[1]
    query = _query(bytes.fromhex(paid.info_hash_v1 or ""))
    assert b"failure reason" not in await _announce(client, query, passkey)
    # A refund revokes the catalog entitlement: the tracker refuses at once, the seeder's sweep
    # revokes the passkey (and forgets the buyer's address).
    await Entitlement.update({Entitlement.revoked_at: now}).where(Entitlement.id == entitlement.id)
    assert (await _announce(client, query, passkey))[b"failure reason"] == b"passkey revoked"
    assert await revoke_refunded() == 1
    assert await TrackerPeer.count() == 0
    assert (await client.get(url, headers=bearer(buyer["token"]))).status_code == 403


async def test_the_passkey_sweep_spares_a_buyer_granted_again_and_the_owner(client: httpx.AsyncClient) -> None:
    creator, refunded, regranted = [uuid.UUID((await signup_user(client))["id"]) for _ in range(3)]
    now = int(time.time())
    listing = Listing(creator=creator, slug="keys", kind="sample_pack", title="Keys", created_at=now, updated_at=now)
    await listing.save()
    # Each bought and was refunded (the owner bought their own pack too); one was granted again.
    for user in (creator, refunded, regranted):
        await Entitlement(user=user, listing=listing.id, source="purchase", created_at=now, revoked_at=now).save()
        await Passkey(key=uuid.uuid4().hex, user=user, listing_id=listing.id).save()
    await Entitlement(user=regranted, listing=listing.id, source="grant", created_at=now).save()

    assert await revoke_refunded() == 1
    revoked = await Passkey.select(Passkey.user).where(Passkey.revoked_at.is_not_null())
    assert [r["user"] for r in revoked] == [refunded]
    assert await revoke_refunded() == 0  # nothing left to revoke: the sweep is idempotent


async def test_published_sample_pack_version_is_built_by_a_job(client: httpx.AsyncClient) -> None:
    state = client._transport.app.state  # type: ignore[attr-defined]
    creator = await signup_user(client)
    now = int(time.time())
    listing, version = await published_version(uuid.UUID(creator["id"]), "drums")
    data = b"RIFF" + bytes(range(256)) * 400
    key = f"listings/{listing.id}/kick.wav"
    path = state.storage.path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    await ListingFile(
        listing=listing.id,
        version=version.id,
        object_key=key,
        original_name="kicks/kick.wav",
        size=len(data),
        content_type="audio/wav",
        role="file",
        created_at=now,
    ).save()
    assert await enqueue_builds() == 1
    jobs = await Job.select().where(Job.kind == BUILD_KIND)
    assert len(jobs) == 1
    # Whichever worker claims the build runs it: the app's in-process one (woken at once on
    # PostgreSQL) or ours; running the handler by hand beside it raced it.
    ours = Worker(state=state)
    for _ in range(600):
        status = (await Job.select(Job.status).where(Job.id == jobs[0]["id"]).first() or {}).get("status")
        if status == "done" or await ours.run_once():
            break
        await asyncio.sleep(0.1)
    torrent = await Torrent.objects().where(Torrent.version_id == version.id).first()
    assert torrent is not None and torrent.status == "ready" and not torrent.private
    assert torrent.name == "drums-1.0" and torrent.total_size == len(data)
    assert (state.torrents.cache.dir_of(torrent.id) / "drums-1.0" / "kicks" / "kick.wav").read_bytes() == data
    assert await enqueue_builds() == 0
