"""Restarting the seeder resumes from saved resume data: no file is hashed again."""

from __future__ import annotations

from pathlib import Path

from app.torrents.services import TorrentService
from tests.integration.torrents.helpers import MB, SeederProcess, make_pack


async def test_seeder_restart_resumes_without_rehashing(
    service: TorrentService, torrent_env: dict[str, str], tmp_path: Path
) -> None:
    free, _ = make_pack(tmp_path / "free", {"a.wav": 6 * MB, "b/c.wav": 3 * MB})
    other, _ = make_pack(tmp_path / "other", {"x.wav": 5 * MB})
    paid, _ = make_pack(tmp_path / "paid", {"y.wav": 1 * MB}, private=True)
    torrents = [await service.publish(free), await service.publish(other)]
    await service.publish(paid)  # no buyer announces it: it stays dormant, without a session
    resume_dir = Path(torrent_env["ECHOEL_VAR_DIR"]) / "torrents" / "resume"

    seeder = SeederProcess(torrent_env).start(torrents=2)
    first = seeder.wait_stats(lambda s: s.get("seeding") == 2)
    assert first["resumed"] == 0 and first["checked"] == 0  # fresh torrents start in seed mode
    assert first["dormant"] == 1
    seeder.stop()  # SIGTERM: resume data is saved on the way out
    assert sorted(p.name for p in resume_dir.iterdir()) == sorted(f"{t.id}.resume" for t in torrents)

    seeder.start(torrents=2)
    try:
        again = seeder.wait_stats(lambda s: s.get("seeding") == 2)
        assert again["resumed"] == 2
        assert again["checked"] == 0, "the restarted seeder re-checked files"
    finally:
        seeder.stop()
