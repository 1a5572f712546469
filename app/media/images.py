"""Images: verify what was uploaded really is an image we accept, and make WebP thumbnails."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "GIF"})
# 40 megapixels: more than any cover needs; decoding one takes ~160 MB of RAM as RGBA.
MAX_PIXELS = 40_000_000
THUMB_WIDTHS = (640, 1280)


class ImageRefused(ValueError):
    """The file is not an image we accept; the message says why, in words a user understands."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


@dataclass(frozen=True)
class Thumbnail:
    width: int
    height: int
    path: Path
    size: int


def _source(path: Path | bytes) -> Path | BytesIO:
    return BytesIO(path) if isinstance(path, bytes) else path


def verify_image(path: Path | bytes, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Open, check the size from the header, then decode the whole image; raise ImageRefused.

    ``path`` may also be the file's bytes (a cover checked straight from the object store).
    """
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse on our own limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(_source(path)) as im:
                info = ImageInfo(im.format or "", im.width, im.height)
                if info.format not in ACCEPTED_FORMATS:
                    raise ImageRefused(f"{info.format or 'this'} images are not accepted; use PNG, JPEG, WebP or GIF")
                # Checked before any pixel is decoded: a bomb is a tiny file with a huge header size.
                if info.width * info.height > max_pixels:
                    raise ImageRefused(
                        f"the image is {info.width} x {info.height} pixels; "
                        f"at most {max_pixels // 1_000_000} megapixels are accepted"
                    )
                im.verify()  # structure and checksums
            with Image.open(_source(path)) as im:
                im.load()  # the pixels themselves: catches truncated data verify() does not read
    except ImageRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ImageRefused("the file is not an image we can read (PNG, JPEG, WebP or GIF)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRefused(f"the image is damaged and cannot be decoded ({exc})") from None
    return info


def make_thumbnails(
    path: Path, out_dir: Path, widths: tuple[int, ...] = THUMB_WIDTHS, quality: int = 82, max_pixels: int = MAX_PIXELS
) -> list[Thumbnail]:
    """WebP thumbnails at ``widths`` (never upscaled), with EXIF and other metadata dropped.

    Files are named ``<width>.webp`` in ``out_dir``. The EXIF orientation is applied to the
    pixels first, so a phone photo keeps its right way up once its EXIF (and GPS) is gone.
    """
    verify_image(path, max_pixels)
    out_dir.mkdir(parents=True, exist_ok=True)
    thumbs: list[Thumbnail] = []
    with Image.open(path) as original:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale straight from the DCT: far cheaper than a full
        # decode for a thumbnail. Asked for twice the largest width (either side, since EXIF may
        # turn the image), so the final resize still has pixels to spare.
        largest = 2 * max(widths)
        original.draft("RGB", (largest, largest))
        im = ImageOps.exif_transpose(original)  # first frame of an animation
        im = im.convert("RGBA" if _has_alpha(im) else "RGB")
        for width in sorted(set(widths)):
            target = min(width, im.width)
            if thumbs and thumbs[-1].width == target:
                continue  # the image is narrower than this width too: one file is enough
            height = max(1, round(im.height * target / im.width))
            # reducing_gap: shrink by whole factors first (fast), then LANCZOS for the last step.
            resized = (
                im.resize((target, height), Image.Resampling.LANCZOS, reducing_gap=3.0) if target != im.width else im
            )
            out = out_dir / f"{width}.webp"
            # No exif= or xmp= argument: Pillow then writes none of the source's metadata.
            resized.save(out, "WEBP", quality=quality, method=4)
            thumbs.append(Thumbnail(target, height, out, out.stat().st_size))
    return thumbs


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
