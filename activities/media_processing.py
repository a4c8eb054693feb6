"""CPU side of the media library (issue #6): thumbnails, web renditions, video posters and previews, PDF previews.

Plain synchronous functions, run by sync activities on the worker's thread pool: no database, storage or Temporal
here. Each takes a local file and an output folder and returns what it wrote.

Every output is re-encoded from decoded pixels and carries no metadata: no EXIF (so no GPS), XMP or comments in the
images, no container tags (an iPhone's `location`) in the video preview. Colours in another ICC profile (Display P3,
Adobe RGB, CMYK) are converted to sRGB, the web's default, and no profile is embedded.

Hostile input: images are opened only by the allow-listed decoders and refused over a pixel budget before any pixel is
decoded; ffmpeg may only open a local file with the MP4/QuickTime or Matroska/WebM demuxers (no playlists, no URLs),
and every ffmpeg run has a timeout; a file that cannot be processed raises `MediaCorrupt`, whose message is shown to
the marketer.
"""

from __future__ import annotations

import functools
import io
import math
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import pillow_heif
import pypdfium2 as pdfium
from moviepy.video.io.ffmpeg_reader import FFmpegInfosParser
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

THUMBNAIL_SIZES: dict[str, int] = {"thumb-small": 160, "thumb-medium": 400, "thumb-large": 800}  # long edge, px
WEB_MAX_EDGE = 2048
# A JPEG decoded at a reduced DCT scale is used as the web rendition as is when its long edge lands in
# [WEB_MIN_EDGE, WEB_MAX_EDGE]: a 12 MP photo (4032 x 3024) gives a 2016 px rendition at half scale, which saves a
# full-size decode and a 4000 -> 2048 resample (measured: a third less time for process_image on 12 MP JPEGs).
WEB_MIN_EDGE = 1920
ALLOWED_IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "HEIF")

WEBP_THUMBNAIL = {"quality": 80, "method": 2}  # method 2: ~2x faster than libwebp's default 4, a few % larger
WEBP_WEB = {"quality": 80, "method": 4}  # made once, served often: the default effort
RESAMPLE = Image.Resampling.LANCZOS
REDUCING_GAP = 2.0  # resize() shrinks by an integer factor with reduce() first while >= 2x the target remains

MAX_VIDEO_PIXELS = 40_000_000  # per frame: 8K UHD (7680 x 4320) is 33 M
POSTER_MAX_EDGE = WEB_MAX_EDGE
PREVIEW_MAX_HEIGHT = 480
PREVIEW_MAX_FPS = 30
FFMPEG_TIMEOUT = 120.0  # seconds, every ffmpeg run
PROBE_TIMEOUT = 30.0
# Demuxers ffmpeg may use on an upload (matched against each demuxer's name list): MP4/MOV/3GP and Matroska/WebM.
VIDEO_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"

PDF_PREVIEW_EDGE = 1024
_PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe; activities run on a thread pool


@dataclass
class Variant:
    name: str
    path: Path
    content_type: str
    width: int
    height: int


@dataclass
class ProcessedMedia:
    width: int | None
    height: int | None
    duration_seconds: float | None
    page_count: int | None
    variants: list[Variant]


class MediaCorrupt(Exception):
    """the file cannot be processed; the message is shown to the marketer"""


def _require_file(path: Path) -> None:
    """A missing input is the caller's bug (or storage's), not a corrupt upload: FileNotFoundError, not MediaCorrupt."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")


# ---------------------------------------------------------------------------------------------------------- images


def pixel_limit(max_pixels: int) -> int:
    """The effective budget: max_pixels, and never above Pillow's own decompression-bomb threshold."""
    if Image.MAX_IMAGE_PIXELS is None:
        return max_pixels
    return min(max_pixels, int(Image.MAX_IMAGE_PIXELS))


def open_image(path: Path, max_pixels: int) -> Image.Image:
    """Open an upload with the allow-listed decoders only; nothing is decoded yet, only the header is read.

    Over the pixel budget -> MediaCorrupt. Pillow's DecompressionBombError is mapped to MediaCorrupt, and any image
    large enough to raise DecompressionBombWarning is refused too, since the budget never exceeds Pillow's
    threshold (the warnings filters are not changed: catch_warnings is not thread-safe).
    """
    _require_file(path)
    limit = pixel_limit(max_pixels)
    try:
        image = Image.open(path, formats=ALLOWED_IMAGE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise MediaCorrupt(f"The image has too many pixels, over the limit of {limit:,}.") from exc
    except UnidentifiedImageError as exc:
        raise MediaCorrupt("The file is not an image we can read (JPEG, PNG, GIF, WebP, AVIF or HEIC).") from exc
    except Exception as exc:  # a plugin choking on a malformed header
        raise MediaCorrupt("The image file is damaged and cannot be read.") from exc
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise MediaCorrupt("The image has no pixels.")
    if width * height > limit:
        image.close()
        raise MediaCorrupt(f"The image is {width}×{height} = {width * height:,} pixels, over the limit of {limit:,}.")
    return image


def fit(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """`size` scaled down so that its long edge is at most `long_edge`, aspect kept; never scaled up."""
    width, height = size
    if max(width, height) <= long_edge:
        return width, height
    scale = long_edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(image: Image.Image, long_edge: int, min_edge: int | None = None) -> Image.Image:
    """Decode the first frame, as small as the JPEG decoder can while the long edge stays >= long_edge.

    With min_edge, a reduced scale whose long edge is >= min_edge is good enough (see WEB_MIN_EDGE).
    Image.draft is a no-op for the formats other than JPEG.
    """
    try:
        image.seek(0)  # animated GIF / WebP / AVIF: the first frame
        image.draft("RGB", fit(image.size, min_edge or long_edge))
        image.load()
    except Exception as exc:  # truncated data, a broken stream, a decoder error
        reason = "is incomplete (truncated)" if "truncated" in str(exc) else "is damaged and cannot be decoded"
        raise MediaCorrupt(f"The image file {reason}.") from exc
    return image


def decoded_size(
    path: Path, long_edge: int, *, max_pixels: int = 50_000_000
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(original size, size actually decoded) when preparing images of `long_edge`: shows the JPEG draft at work."""
    with open_image(path, max_pixels) as image:
        original = image.size
        return original, _decode(image, long_edge).size


def _resizable(image: Image.Image) -> Image.Image:
    """A mode Pillow resamples well (alpha is premultiplied by resize); palette and 16-bit images are expanded."""
    if image.mode in ("RGB", "RGBA", "L", "LA", "CMYK") and "transparency" not in image.info:
        return image
    if image.mode.startswith("I"):  # 16-bit greyscale PNG: scale to 8 bits rather than clip
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.lru_cache(maxsize=32)
def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A transform from the embedded profile to sRGB, or None when it is sRGB already or unusable."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if mode != "CMYK" and "srgb" in ImageCms.getProfileDescription(profile).lower():
            return None
        out_mode = "RGBA" if mode == "RGBA" else "RGB"
        return ImageCms.buildTransform(profile, _SRGB, mode, out_mode, ImageCms.Intent.PERCEPTUAL)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _web_colours(image: Image.Image) -> Image.Image:
    """RGB or RGBA in sRGB, with no metadata left to save."""
    icc_profile = image.info.get("icc_profile")
    if icc_profile and image.mode in ("RGB", "RGBA", "CMYK"):
        transform = _srgb_transform(bytes(icc_profile), image.mode)
        if transform is not None:
            image = transform.apply(image)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    image.info = {}  # EXIF, XMP, ICC, comments: none of it reaches an output
    return image


def _shrink(image: Image.Image, long_edge: int) -> Image.Image:
    size = fit(image.size, long_edge)
    if size == image.size:
        return image
    return image.resize(size, RESAMPLE, reducing_gap=REDUCING_GAP)


def _save_webp(image: Image.Image, path: Path, options: dict) -> None:
    image.save(path, "WEBP", **options)  # no exif=, xmp= or icc_profile=: nothing but pixels


def _write_thumbnails(largest: Image.Image, out_dir: Path, previous: Variant | None = None) -> list[Variant]:
    """The THUMBNAIL_SIZES from an oriented RGB(A) image, each derived from the next bigger one, never upscaled.

    `previous` is the variant already written from `largest` (web rendition, poster): a thumbnail of the very same
    pixels is a copy of it rather than another encode.
    """
    variants: list[Variant] = []
    source, source_variant = largest, previous
    for name, edge in sorted(THUMBNAIL_SIZES.items(), key=lambda item: -item[1]):
        thumb = _shrink(source, edge)
        path = out_dir / f"{name}.webp"
        if thumb is source and source_variant is not None and source_variant.content_type == "image/webp":
            shutil.copyfile(source_variant.path, path)
        else:
            _save_webp(thumb, path, WEBP_THUMBNAIL)
        variant = Variant(name, path, "image/webp", thumb.width, thumb.height)
        variants.append(variant)
        source, source_variant = thumb, variant
    return sorted(variants, key=lambda v: THUMBNAIL_SIZES[v.name])


def process_image(
    path: Path, out_dir: Path, *, max_pixels: int = 50_000_000, web_rendition: bool = True
) -> ProcessedMedia:
    """Thumbnails (`thumb-*.webp`) and a web rendition (`web.webp`, long edge <= WEB_MAX_EDGE) of an image upload.

    Width and height are the original's as displayed (EXIF orientation applied). Animated images: first frame.
    Transparency is kept. JPEGs are decoded at the smallest DCT scale that still covers the largest output.
    `web_rendition=False` makes the thumbnails only.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    largest_edge = WEB_MAX_EDGE if web_rendition else max(THUMBNAIL_SIZES.values())
    with open_image(path, max_pixels) as image:
        original = image.size
        decoded = _decode(image, largest_edge, WEB_MIN_EDGE if web_rendition else None)
        working = _shrink(_resizable(decoded), largest_edge)
        if working is decoded:
            working = working.copy()  # detached from the file, free to change in place
        before = working.size
        # Orientation is applied to the (smaller) resized copy, which still carries the EXIF/XMP of the original.
        ImageOps.exif_transpose(working, in_place=True)
        working = _web_colours(working)  # sRGB, and the metadata dropped
    width, height = original
    if working.size != before:  # rotated a quarter turn: displayed as height x width
        width, height = height, width

    variants: list[Variant] = []
    web: Variant | None = None
    if web_rendition:
        web_path = out_dir / "web.webp"
        _save_webp(working, web_path, WEBP_WEB)
        web = Variant("web", web_path, "image/webp", working.width, working.height)
    variants += _write_thumbnails(working, out_dir, web)
    if web is not None:
        variants.append(web)
    return ProcessedMedia(width, height, None, None, variants)


def naive_thumbnails(path: Path, out_dir: Path) -> list[Path]:
    """Bench baseline only: full-size decode, each size resized from the original; same sizes and WebP settings."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with Image.open(path, formats=ALLOWED_IMAGE_FORMATS) as image:
        image.load()
        full = ImageOps.exif_transpose(image).convert("RGB")
    for name, edge in THUMBNAIL_SIZES.items():
        out = out_dir / f"{name}.webp"
        full.resize(fit(full.size, edge), RESAMPLE).save(out, "WEBP", **WEBP_THUMBNAIL)
        paths.append(out)
    return paths


# ---------------------------------------------------------------------------------------------------------- videos


@functools.cache
def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def ffmpeg_encoders() -> frozenset[str]:
    listing = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, timeout=30, check=True, text=True
    ).stdout
    return frozenset(match.group(1) for match in re.finditer(r"^ [VAS][\w.]{5} (\S+)", listing, re.MULTILINE))


@dataclass(frozen=True)
class PreviewEncoder:
    suffix: str
    content_type: str
    args: tuple[str, ...]


def preview_encoder() -> PreviewEncoder:
    """H.264 in MP4 when this ffmpeg has libx264, else VP9 in WebM, else MPEG-4 part 2 in MP4."""
    encoders = ffmpeg_encoders()
    faststart = ("-movflags", "+faststart")
    if "libx264" in encoders:
        args = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p", *faststart)
        return PreviewEncoder(".mp4", "video/mp4", args)
    if "libvpx-vp9" in encoders:
        args = ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-crf", "40", "-b:v", "0")
        return PreviewEncoder(".webm", "video/webm", (*args, "-row-mt", "1", "-pix_fmt", "yuv420p"))
    return PreviewEncoder(".mp4", "video/mp4", ("-c:v", "mpeg4", "-q:v", "5", "-pix_fmt", "yuv420p", *faststart))


def _input_guards() -> list[str]:
    return ["-protocol_whitelist", "file", "-format_whitelist", VIDEO_DEMUXERS]


def _reason(stderr: bytes, path: Path) -> str:
    """The last line ffmpeg complained with, without the server's paths or its '[demuxer @ 0x…]' prefixes."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    # "Error opening input files: Invalid data found when processing input" and the like come last.
    reason = lines[-1] if lines else "unknown error"
    reason = reason.replace(str(path), "the file").replace(path.name, "the file")
    reason = re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", reason)
    reason = re.sub(r"^Error opening input files?:?\s*", "", reason)
    return reason[:160].rstrip(".") or "unknown error"


def _ffmpeg(args: list[str], path: Path, what: str) -> bytes:
    """Run ffmpeg, return its stdout; a failure or a timeout is the file's fault: MediaCorrupt with a short reason."""
    timeout = FFMPEG_TIMEOUT
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:  # run() has killed ffmpeg
        raise MediaCorrupt(f"The video took too long to {what} (over {timeout:g} s).") from exc
    if done.returncode != 0:
        raise MediaCorrupt(f"The video could not be {what}: {_reason(done.stderr, path)}.")
    return done.stdout


@dataclass
class VideoInfo:
    width: int
    height: int  # as displayed: rotation applied
    duration: float | None
    rotation: int
    has_audio: bool
    metadata: dict[str, str]


_ROTATION = re.compile(r"(?:Display ?Matrix|displaymatrix|rotate)\s*:\s*(?:rotation of\s*)?(-?\d+(?:\.\d+)?)", re.I)


def _rotation(infos: str) -> int:
    """The display rotation of the first video stream (moviepy 2.1 misses ffmpeg 7+'s 'Display Matrix' side data)."""
    in_video = False
    for line in infos.splitlines():
        if re.match(r"\s*Stream #", line):
            if in_video:
                break
            in_video = "Video:" in line and "attached pic" not in line
        elif in_video and (match := _ROTATION.search(line)):
            return round(float(match.group(1))) % 360
    return 0


def probe_video(path: Path) -> VideoInfo:
    """Duration, displayed size and container tags, from `ffmpeg -i` parsed by moviepy's parser."""
    timeout = PROBE_TIMEOUT
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", *_input_guards(), "-i", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaCorrupt("The video took too long to read.") from exc
    infos = done.stderr.decode("utf-8", "replace")
    if not re.search(r"^\s*Stream #.*Video:", infos, re.MULTILINE):
        if re.search(r"^Input #", infos, re.MULTILINE):
            raise MediaCorrupt("The file has no video track.")
        raise MediaCorrupt(f"The file is not a video we can read: {_reason(done.stderr, path)}.")
    try:
        parsed = FFmpegInfosParser(infos, str(path)).parse()
    except Exception:  # no parsable duration (a live WebM): take the rest without it
        try:
            parsed = FFmpegInfosParser(infos, str(path), check_duration=False).parse()
        except Exception as exc:
            raise MediaCorrupt("The video's format information cannot be read.") from exc
    if not parsed.get("video_found") or not parsed.get("video_size"):
        raise MediaCorrupt("The file has no readable video track.")
    width, height = (int(value) for value in parsed["video_size"])
    rotation = _rotation(infos)
    if rotation in (90, 270):
        width, height = height, width
    duration = parsed.get("duration")
    duration = float(duration) if isinstance(duration, int | float) and duration > 0 else None
    return VideoInfo(width, height, duration, rotation, bool(parsed.get("audio_found")), parsed.get("metadata", {}))


def poster_frame(path: Path, at: float) -> Image.Image:
    """One frame at `at` seconds, as displayed (rotation, pixel aspect), long edge <= POSTER_MAX_EDGE.

    `-ss` before `-i` seeks in the demuxer to the keyframe before `at` and decodes from there only.
    """
    cap = POSTER_MAX_EDGE
    filters = (
        f"scale=w='trunc(iw*sar)':h=ih,scale=w='min(iw,{cap})':h='min(ih,{cap})':force_original_aspect_ratio=decrease"
    )
    for seek in dict.fromkeys((max(0.0, at), 0.0)):  # past the end (a wrong duration): the first frame then
        source = [*_input_guards(), "-ss", f"{seek:.3f}", "-i", str(path), "-map", "0:V:0", "-an", "-sn", "-dn"]
        output = ["-frames:v", "1", "-vf", filters, "-pix_fmt", "rgb24", "-c:v", "ppm", "-f", "image2pipe", "-"]
        frame = _ffmpeg([*source, *output], path, "read")
        if frame:
            with Image.open(io.BytesIO(frame), formats=("PPM",)) as image:
                image.load()
                return image.convert("RGB")
    raise MediaCorrupt("The video has no frame we can show.")


def make_preview(path: Path, out_dir: Path, seconds: float) -> Path:
    """The first `seconds`, at most PREVIEW_MAX_HEIGHT px high and 30 fps, no audio, no metadata."""
    encoder = preview_encoder()
    out = out_dir / f"preview{encoder.suffix}"
    filters = f"scale=w='trunc(iw*sar/2)*2':h='trunc(ih/2)*2',setsar=1,scale=w=-2:h='min({PREVIEW_MAX_HEIGHT},ih)'"
    source = [*_input_guards(), "-t", f"{seconds:.3f}", "-i", str(path), "-map", "0:V:0", "-an", "-sn", "-dn"]
    video = ["-vf", filters, "-fpsmax", str(PREVIEW_MAX_FPS), *encoder.args]
    _ffmpeg([*source, *video, "-map_metadata", "-1", "-map_chapters", "-1", "-y", str(out)], path, "converted")
    return out


def process_video(path: Path, out_dir: Path, *, poster_at: float = 1.0, preview_seconds: float = 3.0) -> ProcessedMedia:
    """`poster.jpg` (a frame at min(poster_at, duration / 2)), thumbnails of it and `preview.mp4` (muted, short)."""
    _require_file(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = probe_video(path)
    if info.width * info.height > MAX_VIDEO_PIXELS:
        raise MediaCorrupt(
            f"The video is {info.width}×{info.height} = {info.width * info.height:,} pixels a frame, "
            f"over the limit of {MAX_VIDEO_PIXELS:,}."
        )
    at = poster_at if info.duration is None else min(poster_at, info.duration / 2)
    poster = _web_colours(poster_frame(path, at))
    poster_path = out_dir / "poster.jpg"
    poster.save(poster_path, "JPEG", quality=85, optimize=True, progressive=True)
    variants = [Variant("poster", poster_path, "image/jpeg", poster.width, poster.height)]
    variants += _write_thumbnails(poster, out_dir)

    preview_path = make_preview(path, out_dir, preview_seconds)
    preview = probe_video(preview_path)
    encoder = preview_encoder()
    variants.append(Variant("preview", preview_path, encoder.content_type, preview.width, preview.height))
    return ProcessedMedia(info.width, info.height, info.duration, None, variants)


# ------------------------------------------------------------------------------------------------------------ PDFs


def _pdf_failure(exc: Exception) -> MediaCorrupt:
    if "password" in str(exc).lower():
        return MediaCorrupt("The PDF is password-protected; upload a copy without a password.")
    return MediaCorrupt("The PDF is damaged and cannot be read.")


def render_pdf_page(
    path: Path, *, long_edge: int = PDF_PREVIEW_EDGE, max_pixels: int = 50_000_000
) -> tuple[int, tuple[float, float], Image.Image]:
    """(page count, first page size in points, first page rendered with its long edge ~long_edge px, RGB)."""
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as exc:
            raise _pdf_failure(exc) from exc
        try:
            page_count = len(document)
            if page_count < 1:
                raise MediaCorrupt("The PDF has no pages.")
            page = document[0]
            try:
                width_pt, height_pt = page.get_size()  # with the page's /Rotate applied
                if not (math.isfinite(width_pt) and math.isfinite(height_pt) and width_pt > 0 and height_pt > 0):
                    raise MediaCorrupt("The PDF's first page has no size.")
                scale = long_edge / max(width_pt, height_pt)
                pixels = math.ceil(width_pt * scale) * math.ceil(height_pt * scale)
                if pixels > pixel_limit(max_pixels) or min(width_pt, height_pt) * scale < 1:
                    raise MediaCorrupt(f"The PDF's first page is {pixels:,} pixels, over the limit or too thin.")
                bitmap = page.render(scale=scale, may_draw_forms=True)
                try:
                    image = bitmap.to_pil().convert("RGB")  # a copy: the bitmap's buffer is freed below
                finally:
                    bitmap.close()
            finally:
                page.close()
        except pdfium.PdfiumError as exc:
            raise _pdf_failure(exc) from exc
        finally:
            document.close()
    return page_count, (width_pt, height_pt), image


def process_pdf(path: Path, out_dir: Path, *, max_pixels: int = 50_000_000) -> ProcessedMedia:
    """Page count, `page-1.webp` (variant "preview", page 1 at ~PDF_PREVIEW_EDGE px) and thumbnails of it.

    Width and height are page 1's size in PDF points (1/72 in).
    """
    _require_file(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    page_count, (width_pt, height_pt), image = render_pdf_page(path, max_pixels=max_pixels)
    image.info = {}
    preview_path = out_dir / "page-1.webp"
    _save_webp(image, preview_path, WEBP_WEB)
    preview = Variant("preview", preview_path, "image/webp", image.width, image.height)
    variants = [*_write_thumbnails(image, out_dir, preview), preview]
    return ProcessedMedia(round(width_pt), round(height_pt), None, page_count, variants)
