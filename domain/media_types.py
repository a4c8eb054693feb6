"""What an uploaded file really is, from its first bytes, against the media library's allow-list.

Extension and Content-Type are never trusted. SVG is refused (scripts run when it is opened directly), and so are
files that carry markup or script a browser could be tricked into running (GIF/HTML polyglots, PDFs with JavaScript).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class MediaType:
    kind: str  # image, video, document
    content_type: str
    extension: str


JPEG = MediaType("image", "image/jpeg", "jpg")
PNG = MediaType("image", "image/png", "png")
GIF = MediaType("image", "image/gif", "gif")
WEBP = MediaType("image", "image/webp", "webp")
AVIF = MediaType("image", "image/avif", "avif")
HEIC = MediaType("image", "image/heic", "heic")
MP4 = MediaType("video", "video/mp4", "mp4")
MOV = MediaType("video", "video/quicktime", "mov")
WEBM = MediaType("video", "video/webm", "webm")
PDF = MediaType("document", "application/pdf", "pdf")
ALLOWED = (JPEG, PNG, GIF, WEBP, AVIF, HEIC, MP4, MOV, WEBM, PDF)

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"mmp4"}
# Markup a browser would act on if it sniffed an image as HTML, or script in a PDF.
_MARKUP = re.compile(rb"<\s*(script|html|body|iframe|svg|object|embed)\b|<\?php|javascript:", re.IGNORECASE)
_PDF_ACTIONS = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia)\b")


class MediaRefused(ValueError):
    """An upload that is not accepted; the message names what is wrong."""


def sniff(head: bytes) -> MediaType:
    """The allowed type the first bytes (at least 64) announce; MediaRefused otherwise."""
    if not head:
        raise MediaRefused("the file is empty")
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    if head.startswith(b"%PDF-"):
        return PDF
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        compatible = {head[i : i + 4] for i in range(16, min(len(head), 64), 4)}
        if brand in _AVIF_BRANDS:
            return AVIF
        if brand in _HEIC_BRANDS or (brand == b"mif1" and compatible & _HEIC_BRANDS):
            return HEIC
        if brand == b"qt  ":
            return MOV
        if brand in _MP4_BRANDS or compatible & _MP4_BRANDS:
            return MP4
    text = head.lstrip()[:256].lower()
    if text.startswith((b"<svg", b"<?xml")) and b"<svg" in head.lower():
        raise MediaRefused("SVG files are refused (they can carry scripts); upload PNG or WebP instead")
    raise MediaRefused(
        "this type of file is not accepted (allowed: JPEG, PNG, GIF, WebP, AVIF, HEIC, MP4, MOV, WebM, PDF)"
    )


def check_content(media_type: MediaType, data: bytes) -> None:
    """Refuses images that also read as HTML/script (polyglots) and PDFs that carry actions or JavaScript."""
    if media_type.kind == "image" and _MARKUP.search(data):
        raise MediaRefused("the image also contains HTML or script (a polyglot file)")
    if media_type is PDF and _PDF_ACTIONS.search(data):
        raise MediaRefused("PDFs with JavaScript, launch actions or embedded files are refused")


def check_filename(name: str | None) -> str:
    """The name shown in the library; refuses path tricks and control characters rather than guessing."""
    if not name or not name.strip():
        raise MediaRefused("the file has no name")
    decoded = unquote(name)  # clients percent-encode what they cannot put in a header: "%00", "%2F"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name + decoded):
        raise MediaRefused("the file name contains control characters")
    if any(sep in text for sep in ("/", "\\") for text in (name, decoded)) or decoded.strip().startswith(".."):
        raise MediaRefused("the file name contains a path")
    clean = name.strip()
    if len(clean) > 255:
        stem, dot, ext = clean.rpartition(".")
        clean = (stem[: 250 - len(ext)] + dot + ext) if dot else clean[:255]
    return clean


_REFERENCE = re.compile(r"/api/media/(\d+)\b|\bmedia:(\d+)\b")


def media_references(*texts: str) -> set[int]:
    """Asset ids a template body points at (`/api/media/<id>/file...` URLs or `media:<id>` references)."""
    found: set[int] = set()
    for body in texts:
        for match in _REFERENCE.finditer(body or ""):
            found.add(int(match.group(1) or match.group(2)))
    return found
