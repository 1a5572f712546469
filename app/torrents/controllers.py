"""HTTP for torrents: the tracker, .torrent files and magnets, and the web seed."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from app.accounts.tables import User
from app.core.http import NO_STORE, client_ip
from app.core.ranges import answer_range, read_span
from app.torrents.schemas import TorrentView
from app.torrents.services import TorrentService
from app.torrents.tracker import Tracker

BENCODE = "text/plain"
OCTETS = "application/octet-stream"
PUBLIC = {"public": True}


def provide_torrents(request: Request[Any, Any, Any]) -> TorrentService:
    service: TorrentService = request.app.state.torrents
    return service


def _bencoded(body: bytes) -> Response[bytes]:
    # Trackers always answer 200: clients read the failure reason from the body.
    return Response(body, media_type=BENCODE, headers=NO_STORE)


class TrackerController(Controller):
    """``/announce[/{passkey}]`` and ``/scrape[/{passkey}]``; the query is parsed raw (binary hashes)."""

    opt = PUBLIC

    @get("/announce")
    async def announce_free(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _announce(request, None)

    @get("/announce/{passkey:str}")
    async def announce(self, request: Request[Any, Any, Any], passkey: FromPath[str]) -> Response[bytes]:
        return await _announce(request, passkey)

    @get("/scrape")
    async def scrape_free(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _scrape(request, None)

    @get("/scrape/{passkey:str}")
    async def scrape(self, request: Request[Any, Any, Any], passkey: FromPath[str]) -> Response[bytes]:
        return await _scrape(request, passkey)


async def _announce(request: Request[Any, Any, Any], passkey: str | None) -> Response[bytes]:
    tracker: Tracker = request.app.state.tracker
    return _bencoded(await tracker.announce(passkey, request.scope["query_string"], client_ip(request)))


async def _scrape(request: Request[Any, Any, Any], passkey: str | None) -> Response[bytes]:
    tracker: Tracker = request.app.state.tracker
    return _bencoded(await tracker.scrape(passkey, request.scope["query_string"]))


def _torrent_file(body: bytes, name: str) -> Response[bytes]:
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) + ".torrent"
    return Response(
        body,
        media_type="application/x-bittorrent",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


class TorrentController(Controller):
    """Free packs: facts, magnet and .torrent for anyone. Paid packs: per-buyer .torrent."""

    path = "/api/v1/torrents"
    dependencies = {"svc": Provide(provide_torrents, sync_to_thread=False)}

    @get("/", opt=PUBLIC, cache=False)
    async def of_listing(
        self, svc: NamedDependency[TorrentService], listing: FromQuery[uuid.UUID]
    ) -> list[TorrentView]:
        """A listing's torrents (building ones with their progress), with live swarm figures."""
        rows = await svc.for_listing(listing)
        return [svc.view(t) for t in rows]

    @get("/{torrent_id:uuid}", opt=PUBLIC, cache=False)
    async def show(self, svc: NamedDependency[TorrentService], torrent_id: FromPath[uuid.UUID]) -> TorrentView:
        return svc.view(await svc.get(torrent_id))

    @get("/{torrent_id:uuid}/torrent", opt=PUBLIC)
    async def public_file(
        self, svc: NamedDependency[TorrentService], torrent_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        torrent = await svc.get(torrent_id)
        return _torrent_file(svc.public_torrent_file(torrent), torrent.name)

    @get("/{torrent_id:uuid}/my-torrent")
    async def buyer_file(
        self, request: Request[User, Any, Any], svc: NamedDependency[TorrentService], torrent_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        torrent = await svc.get(torrent_id)
        return _torrent_file(await svc.buyer_torrent_file(torrent, request.user.id), torrent.name)


class WebSeedController(Controller):
    """``/ws/seed/{token}/{info_hash}/{name}/{path}``: pack files with Range, for BEP 19 clients."""

    path = "/ws/seed"
    opt = PUBLIC
    dependencies = {"svc": Provide(provide_torrents, sync_to_thread=False)}

    @get("/{token:str}/{info_hash:str}/{path:path}")
    async def serve(
        self,
        request: Request[Any, Any, Any],
        svc: NamedDependency[TorrentService],
        token: FromPath[str],
        info_hash: FromPath[str],
        path: FromPath[str],
    ) -> Response[Any]:
        torrent, target = await svc.webseed_file(token, info_hash, path.lstrip("/"))
        start, end, status, headers = answer_range(request.headers.get("range"), target.stat().st_size)
        # Counted as asked for, also when nginx sends the bytes (it serves the same range).
        await svc.count_http_bytes(torrent.id, end - start + 1)
        # Paid bytes must never sit in a shared cache; free ones may.
        cache = "private, no-store" if torrent.private else "public, max-age=86400"
        accel = svc.accel_redirect(target)
        if accel is not None:
            # nginx answers Range and sends the file from disk: no pack byte passes through here.
            # It keeps this Content-Type, which must stay out of gzip_types (gzip drops Range).
            return Response(b"", media_type=OCTETS, headers={"X-Accel-Redirect": accel, "Cache-Control": cache})
        return Stream(
            read_span(target, start, end),
            status_code=status,
            media_type=OCTETS,
            headers=headers | {"Cache-Control": cache},
        )
