"""Test helpers for torrents: random packs, a downloading libtorrent session, the seeder process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import libtorrent as lt

from app.catalog.tables import Listing, ListingVersion
from app.torrents.packs import PackFile, PackVersion
from tests.services.binaries import REPO_ROOT, free_port, wait_until

MB = 1024 * 1024


def make_pack(
    folder: Path, sizes: dict[str, int], *, private: bool = False, name: str = "Test Pack"
) -> tuple[PackVersion, dict[str, str]]:
    """Files of random bytes under ``folder`` (the uploads), their pack version and sha256 each."""
    files, digests = [], {}
    for rel, size in sizes.items():
        path = folder / "uploads" / uuid.uuid4().hex
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with path.open("wb") as f:
            left = size
            while left:
                chunk = os.urandom(min(4 * MB, left))
                digest.update(chunk)
                f.write(chunk)
                left -= len(chunk)
        files.append(PackFile(path=rel, source=str(path), size=size))
        digests[rel] = digest.hexdigest()
    version = PackVersion(listing_id=uuid.uuid4(), version_id=uuid.uuid4(), name=name, files=files, private=private)
    return version, digests


async def published_version(creator_id: uuid.UUID, slug: str) -> tuple[Listing, ListingVersion]:
    """A published sample-pack listing with one published version (1.0), no files yet."""
    now = int(time.time())
    listing = Listing(creator=creator_id, slug=slug, kind="sample_pack", title=slug.title(), status="published")
    listing.created_at = listing.updated_at = now
    await listing.save()
    version = ListingVersion(listing=listing.id, label="1.0", published=True, created_at=now)
    await version.save()
    return listing, version


def verify(save_path: Path, name: str, digests: dict[str, str]) -> None:
    """Every file of the pack is present with the right sha256."""
    for rel, expected in digests.items():
        digest = hashlib.sha256()
        with (save_path / name / rel).open("rb") as f:
            while chunk := f.read(4 * MB):
                digest.update(chunk)
        assert digest.hexdigest() == expected, f"{rel} differs"


def downloader(ip: str, **extra: Any) -> lt.session:
    """A separate libtorrent session playing the downloader on its own loopback address, TCP only."""
    return lt.session(
        {
            "listen_interfaces": f"{ip}:{free_port()}",
            "outgoing_interfaces": ip,
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "ssrf_mitigation": False,
            "allow_multiple_connections_per_ip": True,
            "alert_mask": lt.alert_category.error | lt.alert_category.status,
            "recv_socket_buffer_size": 4 * MB,
            "max_out_request_queue": 1500,
            **extra,
        }
    )


def wait_seeding(session: lt.session, handle: lt.torrent_handle, timeout: float = 180) -> lt.torrent_status:
    """Wait until the download completes and its bytes are on disk (libtorrent writes behind)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = handle.status()
        if status.is_seeding:
            handle.flush_cache()
            while time.monotonic() < deadline:
                session.wait_for_alert(500)
                if any(isinstance(a, lt.cache_flushed_alert) for a in session.pop_alerts()):
                    return status
        time.sleep(0.1)
    status = handle.status()
    raise AssertionError(
        f"download did not finish: {status.state} {status.progress:.3f} "
        f"peers={status.num_peers} error={status.errc.message()}"
    )


class SeederProcess:
    """``echoel seeder`` in a child process, stopped with SIGTERM (which saves resume data)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.var_dir = Path(env["ECHOEL_VAR_DIR"])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def stats_path(self) -> Path:
        return self.var_dir / "torrents" / "seeder-stats.json"

    def stats(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.stats_path.read_text())
        except (OSError, ValueError):
            return {}
        return data

    def start(self, torrents: int = 1) -> SeederProcess:
        self.stats_path.unlink(missing_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = (self.var_dir / "seeder.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "seeder"],
            env={**base, **self.env},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_until(lambda: self.stats().get("torrents", -1) >= torrents or self.process.poll() is not None, 60):
            raise RuntimeError("seeder did not pick up the torrents: " + self.log())
        if self.process.poll() is not None:
            raise RuntimeError("seeder exited: " + self.log())
        return self

    def wait_stats(self, predicate: Any, timeout: float = 30) -> dict[str, Any]:
        if not wait_until(lambda: predicate(self.stats()), timeout):
            raise AssertionError(f"seeder stats never matched: {self.stats()}")
        return self.stats()

    def log(self) -> str:
        return (self.var_dir / "seeder.log").read_text()[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> SeederProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
