"""Torrent rules: publishing (building) a pack version, .torrent files, magnets, passkeys, web seeds."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from urllib.parse import quote

import anyio
import anyio.to_thread

from app.core import db
from app.core.errors import Forbidden, InvalidInput, NotFound
from app.core.settings import Settings
from app.ops import metrics, webhooks
from app.storage.protocol import ObjectStorage
from app.torrents import builder
from app.torrents.cache import PackCache, PackPreparing
from app.torrents.catalog import entitlement_revoked, pack_version
from app.torrents.packs import Entitlements, NoEntitlements, PackVersion, clean_relative_path, materialise
from app.torrents.schemas import TorrentView, to_view
from app.torrents.tables import Passkey, Torrent, TrackerPeer, without_metainfo
from app.torrents.tokens import PUBLIC, make_webseed_token, read_webseed_token


class TorrentService:
    def __init__(self, settings: Settings, entitlements: Entitlements | None = None) -> None:
        self.settings = settings
        self.entitlements = entitlements or NoEntitlements()
        self.cache = PackCache(settings)
        self.base = settings.public_url.rstrip("/")
        self.tracker = (settings.tracker_url or settings.public_url).rstrip("/")

    # --- publishing ---------------------------------------------------------------------

    async def publish(self, version: PackVersion) -> Torrent:
        """Build (once) the torrent of a published pack version; progress is kept on the row."""
        existing = await Torrent.objects().where(Torrent.version_id == version.version_id).first()
        if existing is not None and existing.status == "ready":
            return existing
        if not version.files:
            raise InvalidInput("a pack needs at least one file")
        if "/" in version.name or version.name in {"", ".", ".."}:
            raise InvalidInput("invalid pack name")
        files = [(clean_relative_path(f.path), f.size) for f in version.files]
        if len({p for p, _ in files}) != len(files):
            raise InvalidInput("two files share a path")
        row = existing or Torrent(listing_id=version.listing_id, version_id=version.version_id, name=version.name)
        row.private, row.status, row.progress, row.error = version.private, "building", 0.0, ""
        data_dir = self.cache.dir_of(row.id)
        await row.save()
        state = {"progress": 0.0, "done": False}

        def work() -> builder.BuiltTorrent:
            try:
                # Under the pack's cache lock, so the seeder never evicts a pack being built.
                with self.cache.building(row.id):
                    materialise(version, data_dir)
                    return builder.build(
                        data_dir,
                        version.name,
                        files,
                        private=version.private,
                        progress=lambda p: state.__setitem__("progress", p),
                    )
            finally:
                state["done"] = True

        async def report() -> None:
            while not state["done"]:
                await anyio.sleep(0.5)
                await Torrent.update({Torrent.progress: state["progress"]}).where(Torrent.id == row.id)

        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(report)
            try:
                built = await anyio.to_thread.run_sync(work)
            except Exception as exc:  # recorded on the row, then raised as it was
                failure = exc
        if failure is not None:
            await Torrent.update({Torrent.status: "failed", Torrent.error: str(failure)[:500]}).where(
                Torrent.id == row.id
            )
            raise failure
        row.metainfo, row.piece_size = built.metainfo, built.piece_size
        row.info_hash_v1, row.info_hash_v2 = built.info_hash_v1, built.info_hash_v2
        row.total_size, row.file_count = built.total_size, built.file_count
        row.status, row.progress = "ready", 1.0
        # The pack's announcement is queued iff the torrent is recorded ready (same transaction).
        async with db.write_transaction(Torrent._meta.db):
            await row.save()
            await self._announce(row, version)
        return row

    async def _announce(self, row: Torrent, version: PackVersion) -> None:
        gib = row.total_size / 1024**3
        data = {
            "title": version.name,
            "url": f"{self.base}/listing.html?id={version.listing_id}",
            "size": f"{gib:.2f} GiB" if gib >= 1 else f"{row.total_size / 1024**2:.1f} MiB",
            "files": row.file_count,
            "access": "buyers only (private torrent)" if row.private else "free (magnet and web seed)",
        }
        await webhooks.emit(self.settings, "pack.published", data, event_id=f"pack:{row.version_id}")

    async def publish_catalog_version(self, storage: ObjectStorage, version_id: uuid.UUID) -> Torrent:
        """Build the torrent of a published catalog version (run from a background job)."""
        return await self.publish(await pack_version(storage, version_id))

    async def for_listing(self, listing_id: uuid.UUID) -> list[Torrent]:
        """Every version's torrent of a listing, newest first, whatever its state."""
        rows = await without_metainfo(Torrent.listing_id == listing_id)
        return sorted(rows, key=lambda t: t.created_at, reverse=True)

    async def get(self, torrent_id: uuid.UUID) -> Torrent:
        row = await Torrent.objects().where(Torrent.id == torrent_id).first()
        if row is None or row.status != "ready":
            raise NotFound("no such torrent")
        return row

    def view(self, torrent: Torrent) -> TorrentView:
        """The API view: the magnet for free ready packs, and where the seeder's cache stands."""
        if torrent.status != "ready":
            return to_view(torrent, None)
        return to_view(torrent, None if torrent.private else self.magnet(torrent), self.cache.state(torrent.id))

    # --- what downloaders get -----------------------------------------------------------

    def webseed_url(self, torrent: Torrent, token: str = PUBLIC) -> str:
        # BEP 19: a URL ending in "/" gets "<name>/<path>" appended by the client.
        return f"{self.base}/ws/seed/{token}/{torrent.info_hash_v1}/"

    def magnet(self, torrent: Torrent) -> str:
        """Both info-hashes, name, web seed, tracker and the seeder's address (free packs only)."""
        if torrent.private:
            raise Forbidden("paid packs have no magnet link: download your .torrent from your library")
        seeder = self.settings.seeder_public_address or f"{self.settings.seeder_host}:{self.settings.seeder_port}"
        parts = [
            f"xt=urn:btih:{torrent.info_hash_v1}",
            f"xt=urn:btmh:1220{torrent.info_hash_v2}",
            f"dn={quote(torrent.name, safe='')}",
            f"tr={quote(self.tracker + '/announce', safe='')}",
            f"ws={quote(self.webseed_url(torrent), safe='')}",
            f"x.pe={seeder}",
        ]
        return "magnet:?" + "&".join(parts)

    def public_torrent_file(self, torrent: Torrent) -> bytes:
        if torrent.private:
            raise Forbidden("paid packs are downloaded from your library")
        return builder.with_sources(torrent.metainfo, f"{self.tracker}/announce", [self.webseed_url(torrent)])

    async def buyer_torrent_file(self, torrent: Torrent, user_id: uuid.UUID) -> bytes:
        """A .torrent carrying the buyer's passkey and a per-buyer expiring web seed."""
        if not torrent.private:
            return self.public_torrent_file(torrent)
        passkey = await self.passkey_for(user_id, torrent.listing_id)
        token = make_webseed_token(
            self.settings.secret_key, passkey.id, str(torrent.info_hash_v1), self.settings.webseed_token_hours * 3600
        )
        announce = f"{self.tracker}/announce/{passkey.key}"
        return builder.with_sources(torrent.metainfo, announce, [self.webseed_url(torrent, token)])

    # --- passkeys -----------------------------------------------------------------------

    async def passkey_for(self, user_id: uuid.UUID, listing_id: uuid.UUID) -> Passkey:
        """The buyer's live passkey; issued on first use if the catalog says they own the listing."""
        row = await _live_passkey(user_id, listing_id)
        if row is not None:
            return row
        if not await self.entitlements.is_entitled(user_id, listing_id):
            raise Forbidden("you do not own this pack")
        return await self.grant(user_id, listing_id)

    async def grant(self, user_id: uuid.UUID, listing_id: uuid.UUID) -> Passkey:
        """Give a buyer a passkey for a listing (idempotent): called on purchase."""
        row = await _live_passkey(user_id, listing_id)
        if row is None:
            row = Passkey(key=secrets.token_hex(16), user=user_id, listing_id=listing_id)
            await row.save()
        return row

    async def revoke(self, user_id: uuid.UUID, listing_id: uuid.UUID) -> int:
        """Revoke a buyer's passkeys for a listing (refund, lost dispute, admin); returns how many.

        The tracker refuses the key at once; its peers are deleted so the seeder's next filter
        refresh (every few seconds) drops the buyer's address.
        """
        rows = await Passkey.select(Passkey.key).where(
            Passkey.user == user_id, Passkey.listing_id == listing_id, Passkey.revoked_at.is_null()
        )
        keys = [r["key"] for r in rows]
        if keys:
            await Passkey.update({Passkey.revoked_at: db.now()}).where(Passkey.key.is_in(keys))
            await TrackerPeer.delete().where(TrackerPeer.passkey.is_in(keys))
        return len(keys)

    # --- web seed -----------------------------------------------------------------------

    async def webseed_file(self, token: str, info_hash: str, path: str) -> tuple[Torrent, Path]:
        """The file a web-seed request may read, after checking the token for paid packs."""
        found = await without_metainfo(Torrent.info_hash_v1 == info_hash.lower())
        torrent = found[0] if found else None
        if torrent is None or torrent.status != "ready":
            raise NotFound("no such torrent")
        if torrent.private:
            passkey_id = read_webseed_token(self.settings.secret_key, token, info_hash.lower())
            if passkey_id is None:
                raise Forbidden("web seed link expired or invalid: download a fresh .torrent")
            passkey = await Passkey.objects().where(Passkey.id == passkey_id).first()
            if passkey is None or passkey.revoked_at is not None or passkey.listing_id != torrent.listing_id:
                raise Forbidden("access to this pack was revoked")
            # A refund revokes the entitlement at once; the passkey follows only at the seeder's
            # next refresh, and with no seeder running not at all. Asked like the tracker does.
            if await entitlement_revoked(passkey.user, passkey.listing_id):
                raise Forbidden("access to this pack was revoked")
        elif token != PUBLIC:
            raise NotFound("no such web seed")
        relative = clean_relative_path(path)
        if self.cache.state(torrent.id) != "cached":
            # Evicted from the seeder's cache: fetch it back in the background (verified before
            # anything is served from it) and have the client retry; BEP 19 clients honour
            # Retry-After on a 503. Why a fill failed is logged, not told to the public.
            if not self.cache.start_fill(torrent):
                raise PackPreparing("this pack cannot be prepared right now: retry later", 60)
            raise PackPreparing("this pack is being fetched into the seeder's cache: retry shortly", 5)
        self.cache.touch(torrent.id)
        root = self.cache.dir_of(torrent.id)
        target = (root / relative).resolve()
        if not target.is_relative_to((root / torrent.name).resolve()) or not target.is_file():
            raise NotFound("no such file in this pack")
        return torrent, target

    def accel_redirect(self, target: Path) -> str | None:
        """The ``X-Accel-Redirect`` URI that has nginx send ``target`` (None: the app streams it).

        Percent-encoded: pack and file names hold spaces and any Unicode, and nginx decodes the
        URI before mapping it onto the aliased cache folder.
        """
        prefix = self.settings.webseed_accel_prefix
        if not prefix:
            return None
        return prefix + quote(target.relative_to(self.cache.root).as_posix())

    async def count_http_bytes(self, torrent_id: uuid.UUID, count: int) -> None:
        """Web-seed bytes of one request, on the torrent (the creator's dashboard) and in metrics."""
        metrics.TORRENT_HTTP_BYTES.inc(count)
        await Torrent.update({Torrent.http_bytes: Torrent.http_bytes + count}).where(Torrent.id == torrent_id)


async def _live_passkey(user_id: uuid.UUID, listing_id: uuid.UUID) -> Passkey | None:
    return (
        await Passkey.objects()
        .where(Passkey.user == user_id, Passkey.listing_id == listing_id, Passkey.revoked_at.is_null())
        .first()
    )
