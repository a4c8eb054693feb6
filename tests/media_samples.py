"""Media files made on the fly for the tests: every allowed image format, videos, PDFs and hostile variants.

The *_bytes generators are deterministic (the same call gives the same bytes), so tests can rely on duplicate
detection; the photo-like big JPEG has random grain.
Video generators run the ffmpeg binary bundled with imageio-ffmpeg and skip the test when an encoder is missing.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pillow_heif
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw

from activities.media_processing import ffmpeg_encoders, ffmpeg_exe

pillow_heif.register_heif_opener()

QUADRANTS = ((255, 0, 0), (0, 160, 0), (0, 0, 255), (255, 255, 0))  # top-left, top-right, bottom-left, bottom-right
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.5),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.2),
}
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Jane Photographer"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def quadrants(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Four coloured quadrants: any rotation or mirroring of the image is visible."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    half_w, half_h = width // 2, height // 2
    boxes = [
        (0, 0, half_w, half_h),
        (half_w, 0, width, half_h),
        (0, half_h, half_w, height),
        (half_w, half_h, width, height),
    ]
    for box, colour in zip(boxes, QUADRANTS, strict=True):
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=colour)
    return image.convert(mode) if mode != "RGB" else image


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def exif_block(orientation: int | None = None, gps: bool = False) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HeraldCam"
    exif[ExifTags.Base.Model] = "Test 1"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = dict(GPS)
    return exif


def jpeg_bytes(
    width: int = 640,
    height: int = 480,
    exif_orientation: int | None = None,
    gps: bool = False,
    *,
    xmp: bool = False,
    icc_profile: bytes | None = None,
    mode: str = "RGB",
    quality: int = 90,
) -> bytes:
    """Quadrants as stored; exif_orientation (1-8) says how to display them. gps adds a GPS IFD, xmp an XMP packet."""
    options: dict = {"quality": quality}
    if exif_orientation is not None or gps:
        options["exif"] = exif_block(exif_orientation, gps)
    if xmp:
        options["xmp"] = XMP
    if icc_profile:
        options["icc_profile"] = icc_profile
    return _encode(quadrants(width, height, mode), "JPEG", **options)


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def display_p3_icc() -> bytes:
    """A minimal ICC v2 matrix/TRC profile with Display P3 primaries (D50-adapted) and a 2.2 gamma."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    text = b"Display P3 (Herald test)\x00"
    description = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    gamma = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    tags = [
        (b"desc", description),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(4 + 4 + 4 + 4 + 8 + 4)
    header += s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(4 + 44)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def png_bytes(
    alpha: bool = True, *, width: int = 320, height: int = 240, color: tuple[int, int, int] = (30, 120, 200)
) -> bytes:
    """A plain colour; with alpha, a transparent frame and a half-transparent band around an opaque centre."""
    image = Image.new("RGBA" if alpha else "RGB", (width, height), (*color, 255) if alpha else color)
    if alpha:
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width - 1, height - 1), outline=(*color, 0), width=max(1, width // 10))
        draw.rectangle((width // 10, height // 2 - 4, width - width // 10, height // 2 + 4), fill=(*color, 128))
    return _encode(image, "PNG")


def gif_bytes(animated: bool = True, *, width: int = 200, height: int = 150) -> bytes:
    """Frames red, then blue, then green (animated), or red alone."""
    colours = [(255, 0, 0), (0, 0, 255), (0, 255, 0)] if animated else [(255, 0, 0)]
    frames = [Image.new("RGB", (width, height), colour).convert("P") for colour in colours]
    if not animated:
        return _encode(frames[0], "GIF")
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)


def webp_bytes(animated: bool = False, *, width: int = 320, height: int = 240) -> bytes:
    if not animated:
        return _encode(quadrants(width, height), "WEBP", quality=90, exif=exif_block(gps=True))
    frames = [Image.new("RGB", (width, height), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    return _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=200, lossless=True)


def avif_bytes(*, width: int = 320, height: int = 240, exif_orientation: int | None = None) -> bytes:
    return _encode(quadrants(width, height), "AVIF", quality=80, exif=exif_block(exif_orientation, gps=True))


def heic_bytes(*, width: int = 320, height: int = 240) -> bytes:
    return _encode(quadrants(width, height), "HEIF", quality=80, exif=exif_block(gps=True))


def pdf_bytes(pages: int = 2, *, size: tuple[int, int] = (612, 792)) -> bytes:
    """`pages` US-Letter pages (at 72 dpi, 1 px = 1 pt), each a different colour with its number."""
    images = []
    for number in range(1, pages + 1):
        page = Image.new("RGB", size, (255, 255, 255))
        draw = ImageDraw.Draw(page)
        draw.rectangle((50, 50, size[0] - 50, 200), fill=QUADRANTS[(number - 1) % 4])
        draw.text((60, 250), f"Herald brochure, page {number}", fill=(0, 0, 0))
        images.append(page)
    fixed = time.gmtime(1_767_225_600)  # no "now" in the bytes
    return _encode(
        images[0], "PDF", save_all=True, append_images=images[1:], resolution=72.0, creationDate=fixed, modDate=fixed
    )


_PDF_PADDING = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def encrypted_pdf_bytes(user_password: str = "secret", owner_password: str = "owner") -> bytes:
    """A one-page PDF under the standard security handler (revision 2, RC4 40-bit): opens only with the password."""

    def padded(password: str) -> bytes:
        return (password.encode("latin-1") + _PDF_PADDING)[:32]

    doc_id = hashlib.md5(b"herald-encrypted-sample").digest()
    permissions = -44
    owner_entry = _rc4(hashlib.md5(padded(owner_password)).digest()[:5], padded(user_password))
    key = hashlib.md5(padded(user_password) + owner_entry + struct.pack("<i", permissions) + doc_id).digest()[:5]
    user_entry = _rc4(key, _PDF_PADDING)

    def object_key(number: int) -> bytes:
        return hashlib.md5(key + struct.pack("<i", number)[:3] + b"\x00\x00").digest()[:10]

    content = _rc4(object_key(4), b"BT /F1 24 Tf 72 700 Td (Confidential) Tj ET")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Filter /Standard /V 1 /R 2 /Length 40 /O <%s> /U <%s> /P %d >>"
        % (owner_entry.hex().encode(), user_entry.hex().encode(), permissions),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 6 0 R /ID [<%s> <%s>] >>\n" % (
        len(objects) + 1,
        doc_id.hex().encode(),
        doc_id.hex().encode(),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def png_bomb_bytes(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid 1-bit all-black PNG declaring width x height pixels, compressed to ~100 KB (30000 x 30000)."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter type 0, then the packed bits
    compressor = zlib.compressobj(9)
    rows_per_block = 1000
    parts = [compressor.compress(row * rows_per_block) for _ in range(height // rows_per_block)]
    parts += [compressor.compress(row * (height % rows_per_block)), compressor.flush()]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def realistic_photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """Gradients, soft shapes and sensor-like noise: compresses like a photo (12 MP -> ~3-5 MB at quality 90)."""
    rng = random.Random(seed)
    small = (max(1, width // 8), max(1, height // 8))
    base = Image.merge(
        "RGB",
        [Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize(small) for _ in range(3)],
    )
    draw = ImageDraw.Draw(base)
    for _ in range(40):
        x, y = rng.randrange(small[0]), rng.randrange(small[1])
        radius = rng.randrange(2, max(3, min(small) // 3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=tuple(rng.randrange(256) for _ in "rgb"))
    image = base.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((width, height), 30)  # random: the pixels differ from run to run
    shifted = [ImageChops.offset(grain, width // 3, 7), ImageChops.offset(grain, 7, height // 2)]
    return Image.blend(image, Image.merge("RGB", [grain, *shifted]), 0.3)


def big_jpeg_path(tmp_path: Path, megapixels: float = 12, *, name: str = "big.jpg", seed: int = 0) -> Path:
    """A 4:3 photo-like JPEG of about `megapixels` MP (12 -> 4000 x 3000)."""
    width = round((megapixels * 1_000_000 * 4 / 3) ** 0.5 / 8) * 8
    height = width * 3 // 4
    path = tmp_path / name
    realistic_photo(width, height, seed).save(path, "JPEG", quality=90)
    return path


# ---------------------------------------------------------------------------------------------------------- videos


def _require_encoder(*names: str) -> None:
    missing = [name for name in names if name not in ffmpeg_encoders()]
    if missing:
        import pytest

        pytest.skip(f"this ffmpeg has no {', '.join(missing)} encoder")


def _make_video(
    out: Path,
    *,
    seconds: float,
    size: tuple[int, int],
    video: list[str],
    audio: list[str] | None,
    extra: list[str] | None = None,
) -> Path:
    width, height = size
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate=25:duration={seconds}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", *audio]
    command += [*video, *(extra or []), "-shortest", str(out)]
    subprocess.run(command, check=True, timeout=120, capture_output=True)
    return out


def mp4_path(
    tmp_path: Path,
    seconds: float = 2,
    size: tuple[int, int] = (320, 240),
    *,
    name: str = "clip.mp4",
    audio: bool = True,
    location: bool = False,
) -> Path:
    """H.264 (+ AAC) test pattern; location=True adds an iPhone-style GPS tag to the container."""
    _require_encoder("libx264")
    extra = ["-metadata", "location=+48.8577+002.2950/"] if location else []
    video = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    return _make_video(
        tmp_path / name,
        seconds=seconds,
        size=size,
        video=video,
        audio=["-c:a", "aac"] if audio else None,
        extra=extra,
    )


def mov_path(
    tmp_path: Path, seconds: float = 2, size: tuple[int, int] = (320, 240), *, rotation: int | None = None
) -> Path:
    """QuickTime H.264; with `rotation`, the frames are stored as is and a display matrix asks to rotate them."""
    plain = mp4_path(tmp_path, seconds, size, name="plain-for-mov.mp4", location=True)
    out = tmp_path / "clip.mov"
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    if rotation is not None:
        command += ["-display_rotation", str(rotation)]
    command += ["-i", str(plain), "-c", "copy", str(out)]
    subprocess.run(command, check=True, timeout=60, capture_output=True)
    plain.unlink()
    return out


def webm_path(tmp_path: Path, seconds: float = 2, size: tuple[int, int] = (320, 240)) -> Path:
    _require_encoder("libvpx-vp9", "libopus")
    video = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"]
    return _make_video(tmp_path / "clip.webm", seconds=seconds, size=size, video=video, audio=["-c:a", "libopus"])


def audio_only_path(tmp_path: Path, seconds: float = 1) -> Path:
    """An MP4 container holding only AAC audio (an .m4a named .mp4)."""
    out = tmp_path / "voice.mp4"
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", str(out)]
    subprocess.run(command, check=True, timeout=60, capture_output=True)
    return out
