"""Avatar bytes → small, clean square pictures. Pure: bytes in, bytes out, no I/O.

An avatar URL is chosen by a member but served by anyone, so the bytes are hostile: only real
PNG, JPEG, GIF and WebP images are decoded (never SVG, which can carry script), the pixel count
is checked from the header before anything is decompressed (a 50 KB PNG can claim 10 billion
pixels), and the output is re-encoded from bare pixels, so no metadata (EXIF, GPS, ICC,
comments) survives.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

from aggregator.errors import AggregatorError

FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
DEFAULT_MAX_PIXELS = 16_000_000  # 4,000 × 4,000: far beyond any avatar, far below a bomb
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


class AvatarError(AggregatorError):
    """An avatar could not be used. The message names the URL and says why, in plain words."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(_SIGNATURES):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def square_pictures(data: bytes, sizes: Sequence[int], *, url: str,
                    max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[int, bytes]:
    """Decode `data` and return a centred square WebP of each size, with no metadata.

    Raises AvatarError for anything that is not a PNG, JPEG, GIF or WebP image of at most
    `max_pixels` pixels (Pillow's own decompression-bomb limit applies too), or that fails to
    decode.
    """
    if not _looks_like_image(data):
        kind = "an SVG drawing" if b"<svg" in data[:2048].lower() else "not a PNG, JPEG, GIF " \
            "or WebP image"
        raise AvatarError(url, f"{kind}: refused (only PNG, JPEG, GIF and WebP are used)")
    cap = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width * height > cap:
                    raise AvatarError(url, f"{width}×{height} pixels is too large for an "
                                           f"avatar (at most {cap:,} pixels)")
                image.seek(0)  # an animated GIF or WebP: its first frame
                image.load()
                upright = ImageOps.exif_transpose(image)
                mode = "RGBA" if _has_alpha(upright) else "RGB"
                pixels = upright.convert(mode)
    except AvatarError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AvatarError(url, f"refused as a decompression bomb: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise AvatarError(url, f"not a readable image: {exc}") from exc
    pictures = {}
    for size in sizes:
        fitted = ImageOps.fit(pixels, (size, size), method=Image.Resampling.LANCZOS)
        bare = Image.frombytes(fitted.mode, fitted.size, fitted.tobytes())  # no info, no EXIF
        out = io.BytesIO()
        bare.save(out, format="WEBP", quality=82, method=4)
        pictures[size] = out.getvalue()
    return pictures


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info)
