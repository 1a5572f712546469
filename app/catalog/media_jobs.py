"""The ``catalog.process_file`` job: what happens to a verified upload in the background.

* cover → WebP thumbnails (640 and 1280 wide, EXIF dropped)
* demo → duration and waveform peaks, plus an AAC preview when the original is unfit to stream
* pack zip → expanded into its files, or refused with the reason

Outputs go to the object store under ``derived/<file id>/`` with a ``media.json`` manifest
describing them (other files, presets say, get neither). A file refused here (corrupt image or
audio, malicious zip) is marked ``rejected`` with the reason, so it can no longer be published
or downloaded. The work is idempotent: a retry rewrites the same keys.
"""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
from pathlib import Path
from typing import Any

import anyio.to_thread

from app.catalog.derived import MANIFEST, derived_key
from app.catalog.processing import PROCESS_KIND
from app.catalog.tables import ListingFile
from app.jobs import JobContext, register
from app.media import audio, images, magic
from app.media.archives import ArchiveRefused, expand_zip
from app.storage import ObjectStorage

log = logging.getLogger("echoel.catalog.media")


@register(PROCESS_KIND, max_attempts=5)
async def process_file(job: JobContext) -> None:
    file = await ListingFile.objects().where(ListingFile.id == uuid.UUID(job.payload["file_id"])).first()
    if file is None or file.status != "ready":
        return  # deleted or refused since it was queued: nothing to do
    storage: ObjectStorage = job.state.storage
    scratch: Path = job.state.settings.var_path / "tmp"
    await anyio.to_thread.run_sync(lambda: scratch.mkdir(parents=True, exist_ok=True))
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        work = Path(tmp)
        await storage.get_file(file.object_key, work / "source")
        try:
            manifest, outputs = await anyio.to_thread.run_sync(_work, str(file.id), file.role, work)
        except (images.ImageRefused, audio.AudioRefused, ArchiveRefused) as exc:
            await ListingFile.update({ListingFile.status: "rejected", ListingFile.reason: str(exc)}).where(
                ListingFile.id == file.id
            )
            log.info("file %s refused in processing: %s", file.id, exc)
            manifest, outputs = {"refused": str(exc), "reason": getattr(exc, "reason", "invalid")}, []
        # Written even when empty (a preset: nothing to derive), so its presence always says "done".
        for key, path, content_type in outputs:
            await storage.put_file(key, path, content_type)
        out = work / "media.json"
        await anyio.to_thread.run_sync(out.write_text, json.dumps(manifest))
        # The manifest last: its presence says every output it lists is in place.
        await storage.put_file(derived_key(file.id, MANIFEST), out, "application/json")


Output = tuple[str, Path, str]  # object key, local file, content type


def _work(file_id: str, role: str, work: Path) -> tuple[dict[str, Any], list[Output]]:
    """The blocking part (in a thread): the manifest and the files to store."""
    src = work / "source"
    with src.open("rb") as f:
        kind = magic.detect(f.read(magic.HEAD_BYTES))
    outputs: list[Output] = []
    if role == "cover":
        thumbs = []
        for t in images.make_thumbnails(src, work / "thumbs"):
            key = derived_key(file_id, f"thumb-{t.width}.webp")
            outputs.append((key, t.path, "image/webp"))
            thumbs.append({"width": t.width, "height": t.height, "size": t.size, "key": key})
        return {"thumbnails": thumbs}, outputs
    if role == "demo":
        info = audio.analyse(src)
        preview = None
        if audio.needs_preview(info, src.stat().st_size):
            made = audio.transcode_preview(src, work / "preview.m4a")
            key = derived_key(file_id, "preview.m4a")
            outputs.append((key, made.path, made.mime))
            preview = {"key": key, "size": made.size, "content_type": made.mime}
        return {"duration": info.duration, "peaks": info.peaks, "preview": preview}, outputs
    if kind == magic.ZIP:
        files = []
        for item in expand_zip(src, work / "files"):
            key = derived_key(file_id, f"files/{item.name}")
            outputs.append((key, item.path, "application/octet-stream"))
            files.append({"name": item.name, "size": item.size, "key": key})
        return {"files": files}, outputs
    return {}, outputs
