"""A quick structural check of an uploaded image before it is accepted: the format Pillow finds must be the one
the bytes announced, the pixel count under the bomb limit, and the data complete (truncated files fail here)."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/avif": "AVIF",
    "image/heic": "HEIF",
}


class ImageRefused(ValueError):
    pass


def check_image(path: Path, content_type: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) of a sound image; ImageRefused with the reason otherwise."""
    expected = PILLOW_FORMATS[content_type]
    if expected == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[expected]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageRefused(f"{width}×{height} pixels is over the limit of {max_pixels:,} pixels")
                if image.format == "JPEG":
                    image.draft("RGB", (min(width, 512), min(height, 512)))  # decode small: the check is integrity
                image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(f"too many pixels (decompression bomb): {exc}") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... for broken files
        raise ImageRefused(f"the image is damaged or incomplete ({type(exc).__name__}: {str(exc)[:120]})") from exc
    return width, height
