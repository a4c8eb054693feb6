"""The CPU side of the media library: thumbnails, web renditions, posters, previews and PDF pages, and refusals."""

from __future__ import annotations

import io
import json
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageCms, ImageOps

from activities import media_processing as mp
from activities.media_processing import MediaCorrupt, ProcessedMedia
from tests import media_samples as samples

THUMBS = ("thumb-small", "thumb-medium", "thumb-large")


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def by_name(result: ProcessedMedia) -> dict[str, mp.Variant]:
    return {variant.name: variant for variant in result.variants}


def opened(variant: mp.Variant) -> Image.Image:
    image = Image.open(variant.path)
    image.load()
    return image


def assert_image_variants(result: ProcessedMedia, original: tuple[int, int], *, web: str = "web") -> None:
    """Names, files, declared sizes, WebP everywhere, each size fitting its box and never above the original."""
    variants = by_name(result)
    assert set(THUMBS) | {web} <= set(variants)
    for name in (*THUMBS, web):
        variant = variants[name]
        assert variant.path.is_file() and variant.path.parent.name.startswith("out")
        assert variant.content_type == "image/webp" and variant.path.suffix == ".webp"
        with opened(variant) as image:
            assert image.format == "WEBP" and image.size == (variant.width, variant.height)
    for name, edge in mp.THUMBNAIL_SIZES.items():
        variant = variants[name]
        assert variant.path.name == f"{name}.webp"
        assert max(variant.width, variant.height) == min(edge, max(original))
        assert variant.width <= original[0] and variant.height <= original[1]
    assert max(variants[web].width, variants[web].height) <= mp.WEB_MAX_EDGE


def assert_no_metadata(variant: mp.Variant) -> None:
    data = variant.path.read_bytes()
    with opened(variant) as image:
        assert not image.getexif(), variant.name
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile"} & set(image.info), (variant.name, image.info)
    for marker in (b"Exif\x00\x00", b"EXIF", b"XMP ", b"HeraldCam", b"Jane Photographer", b"GPS"):
        assert marker not in data, (variant.name, marker)


def colour_at(image: Image.Image, fx: float, fy: float) -> tuple[int, ...]:
    return image.convert("RGB").getpixel((int(image.width * fx), int(image.height * fy)))


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(actual, expected, strict=False))


# ---------------------------------------------------------------------------------------------------------- images


def test_a_jpeg_gets_three_thumbnails_and_a_web_rendition(tmp_path):
    source = write(tmp_path, "photo.jpg", samples.jpeg_bytes(width=1600, height=1200))
    result = mp.process_image(source, tmp_path / "out")
    assert (result.width, result.height) == (1600, 1200)
    assert result.duration_seconds is None and result.page_count is None
    assert_image_variants(result, (1600, 1200))
    sizes = {v.name: (v.width, v.height) for v in result.variants}
    assert sizes == {
        "thumb-small": (160, 120),
        "thumb-medium": (400, 300),
        "thumb-large": (800, 600),
        "web": (1600, 1200),
    }
    with opened(by_name(result)["thumb-medium"]) as thumb:  # the quadrants are where they were
        assert close_to(colour_at(thumb, 0.25, 0.25), samples.QUADRANTS[0])
        assert close_to(colour_at(thumb, 0.75, 0.75), samples.QUADRANTS[3])


def test_a_large_image_is_capped_by_the_web_edge(tmp_path):
    source = write(tmp_path, "wide.png", samples.png_bytes(alpha=False, width=3000, height=1000))
    result = mp.process_image(source, tmp_path / "out")
    assert (by_name(result)["web"].width, by_name(result)["web"].height) == (2048, 683)
    assert_image_variants(result, (3000, 1000))


def test_exif_orientation_is_applied_to_sizes_and_pixels(tmp_path):
    data = samples.jpeg_bytes(width=400, height=200, exif_orientation=6)
    source = write(tmp_path, "rotated.jpg", data)
    result = mp.process_image(source, tmp_path / "out")
    assert (result.width, result.height) == (200, 400)  # as displayed
    with Image.open(io.BytesIO(data)) as original:
        displayed = ImageOps.exif_transpose(original)
    for variant in result.variants:
        assert variant.height > variant.width, variant.name
        with opened(variant) as image:
            for fx, fy in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)):
                assert close_to(colour_at(image, fx, fy), colour_at(displayed, fx, fy)), (variant.name, fx, fy)


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 7, 8])
def test_every_exif_orientation_matches_pillows_transpose(tmp_path, orientation):
    data = samples.jpeg_bytes(width=300, height=200, exif_orientation=orientation)
    result = mp.process_image(write(tmp_path, "o.jpg", data), tmp_path / "out")
    with Image.open(io.BytesIO(data)) as original:
        displayed = ImageOps.exif_transpose(original)
    assert (result.width, result.height) == displayed.size
    with opened(by_name(result)["thumb-small"]) as thumb:
        for fx, fy in ((0.2, 0.2), (0.8, 0.2), (0.2, 0.8), (0.8, 0.8)):
            assert close_to(colour_at(thumb, fx, fy), colour_at(displayed, fx, fy))


def test_gps_exif_xmp_and_icc_never_reach_a_variant(tmp_path):
    icc_profile = samples.srgb_icc()
    data = samples.jpeg_bytes(width=800, height=600, exif_orientation=1, gps=True, xmp=True, icc_profile=icc_profile)
    with Image.open(io.BytesIO(data)) as source:  # the sample does carry all of it
        assert source.getexif().get_ifd(0x8825) and "xmp" in source.info and "icc_profile" in source.info
    result = mp.process_image(write(tmp_path, "gps.jpg", data), tmp_path / "out")
    assert len(result.variants) == 4
    for variant in result.variants:
        assert_no_metadata(variant)


def test_colours_in_another_profile_are_converted_to_srgb(tmp_path):
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(samples.display_p3_icc()))
    assert ImageCms.getProfileDescription(p3).startswith("Display P3")
    colour = (60, 180, 70)
    expected = ImageCms.profileToProfile(Image.new("RGB", (1, 1), colour), p3, ImageCms.createProfile("sRGB"))
    expected = expected.getpixel((0, 0))
    assert max(abs(a - b) for a, b in zip(expected, colour, strict=True)) >= 15  # the conversion matters here
    image = Image.new("RGB", (300, 200), colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, icc_profile=samples.display_p3_icc())
    result = mp.process_image(write(tmp_path, "p3.jpg", out.getvalue()), tmp_path / "out")
    for variant in result.variants:
        assert_no_metadata(variant)  # no profile embedded: sRGB is the default
        with opened(variant) as converted:
            assert close_to(colour_at(converted, 0.5, 0.5), expected, tolerance=6), variant.name


def test_png_transparency_is_kept(tmp_path):
    result = mp.process_image(write(tmp_path, "logo.png", samples.png_bytes(alpha=True)), tmp_path / "out")
    assert_image_variants(result, (320, 240))
    for variant in result.variants:
        with opened(variant) as image:
            assert image.mode == "RGBA", variant.name
            assert image.getpixel((0, 0))[3] == 0  # the transparent frame
            assert image.getpixel((image.width // 2, image.height // 4))[3] == 255
            low, high = image.getchannel("A").getextrema()
            assert (low, high) == (0, 255)


@pytest.mark.parametrize(("mode", "fmt"), [("P", "GIF"), ("L", "PNG"), ("RGB", "PNG")])
def test_a_transparent_colour_key_becomes_alpha(tmp_path, mode, fmt):
    image = Image.new("RGB", (200, 100), (0, 0, 0))
    image.paste((200, 30, 30), (50, 25, 150, 75))
    image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, fmt, transparency=0 if mode != "RGB" else (0, 0, 0))
    result = mp.process_image(write(tmp_path, f"key.{fmt.lower()}", out.getvalue()), tmp_path / "out")
    with opened(by_name(result)["web"]) as web:
        assert web.mode == "RGBA"
        assert web.getpixel((5, 5))[3] == 0 and web.getpixel((100, 50))[3] == 255


def test_an_opaque_png_gives_opaque_webps(tmp_path):
    result = mp.process_image(write(tmp_path, "flat.png", samples.png_bytes(alpha=False)), tmp_path / "out")
    for variant in result.variants:
        with opened(variant) as image:
            assert image.mode == "RGB"


def test_an_animated_gif_gives_its_first_frame(tmp_path):
    result = mp.process_image(write(tmp_path, "anim.gif", samples.gif_bytes(animated=True)), tmp_path / "out")
    assert (result.width, result.height) == (200, 150)
    assert_image_variants(result, (200, 150))
    for variant in result.variants:
        with opened(variant) as image:
            assert close_to(colour_at(image, 0.5, 0.5), (255, 0, 0)), variant.name
            assert getattr(image, "n_frames", 1) == 1


def test_an_animated_webp_gives_its_first_frame(tmp_path):
    source = write(tmp_path, "anim.webp", samples.webp_bytes(animated=True))
    result = mp.process_image(source, tmp_path / "out")
    with opened(by_name(result)["thumb-small"]) as image:
        assert close_to(colour_at(image, 0.5, 0.5), (255, 0, 0))
        assert getattr(image, "n_frames", 1) == 1


@pytest.mark.parametrize(
    ("name", "make"),
    [("pic.webp", samples.webp_bytes), ("pic.avif", samples.avif_bytes), ("pic.heic", samples.heic_bytes)],
)
def test_webp_avif_and_heic_are_processed_without_their_metadata(tmp_path, name, make):
    result = mp.process_image(write(tmp_path, name, make()), tmp_path / "out")
    assert (result.width, result.height) == (320, 240)
    assert_image_variants(result, (320, 240))
    for variant in result.variants:
        assert_no_metadata(variant)
    with opened(by_name(result)["web"]) as web:
        assert close_to(colour_at(web, 0.25, 0.25), samples.QUADRANTS[0])
        assert close_to(colour_at(web, 0.75, 0.75), samples.QUADRANTS[3])


def test_an_avif_with_an_orientation_is_shown_upright(tmp_path):
    data = samples.avif_bytes(exif_orientation=6)
    result = mp.process_image(write(tmp_path, "rot.avif", data), tmp_path / "out")
    assert (result.width, result.height) == (240, 320)
    assert all(variant.height > variant.width for variant in result.variants)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "JPEG"), ("CMYK", "JPEG"), ("P", "PNG"), ("1", "PNG"), ("LA", "PNG"), ("I;16", "PNG"), ("RGB", "GIF")],
)
def test_other_pixel_modes_become_rgb_or_rgba(tmp_path, mode, fmt):
    image = samples.quadrants(240, 180, "L" if mode == "I;16" else mode)
    if mode == "I;16":
        image = image.point(lambda value: value * 256, "I").convert("I;16")
    if mode == "LA":
        alpha = Image.new("L", image.size, 255)
        alpha.paste(0, (0, 0, 40, 40))
        image.putalpha(alpha)
    out = io.BytesIO()
    image.save(out, fmt)
    result = mp.process_image(write(tmp_path, f"mode.{fmt.lower()}", out.getvalue()), tmp_path / "out")
    assert_image_variants(result, (240, 180))
    with opened(by_name(result)["web"]) as web:
        assert web.mode == ("RGBA" if mode == "LA" else "RGB")
        if mode == "I;16":  # scaled to 8 bits, not clipped to white
            assert colour_at(web, 0.25, 0.25) != (255, 255, 255)


def test_small_images_are_never_upscaled(tmp_path):
    source = write(tmp_path, "tiny.png", samples.png_bytes(alpha=False, width=100, height=50))
    result = mp.process_image(source, tmp_path / "out")
    assert {(v.width, v.height) for v in result.variants} == {(100, 50)}
    assert_image_variants(result, (100, 50))


def test_thumbnails_only(tmp_path):
    source = write(tmp_path, "photo.jpg", samples.jpeg_bytes(width=1600, height=1200))
    result = mp.process_image(source, tmp_path / "out", web_rendition=False)
    assert sorted(v.name for v in result.variants) == sorted(THUMBS)
    assert not (tmp_path / "out" / "web.webp").exists()


def test_a_12_mp_jpeg_is_decoded_at_reduced_scale(tmp_path):
    source = samples.big_jpeg_path(tmp_path, megapixels=12)
    assert 2_000_000 < source.stat().st_size < 8_000_000  # photo-like
    original, decoded = mp.decoded_size(source, mp.THUMBNAIL_SIZES["thumb-large"])
    assert original == (4000, 3000)
    assert decoded == (1000, 750)  # 1/4 DCT scale: the smallest still >= 800 on the long edge
    assert mp.decoded_size(source, 480) == ((4000, 3000), (500, 375))  # 1/8
    assert mp.decoded_size(source, 3000)[1] == (4000, 3000)  # no reduced scale covers it

    result = mp.process_image(source, tmp_path / "out")
    assert (result.width, result.height) == (4000, 3000)
    assert_image_variants(result, (4000, 3000))
    web = by_name(result)["web"]
    assert mp.WEB_MIN_EDGE <= max(web.width, web.height) <= mp.WEB_MAX_EDGE  # the half-scale decode, as is
    assert (web.width, web.height) == (2000, 1500)


def test_naive_thumbnails_match_the_sizes(tmp_path):
    source = write(tmp_path, "photo.jpg", samples.jpeg_bytes(width=1600, height=1200))
    paths = mp.naive_thumbnails(source, tmp_path / "naive")
    sizes = {path.stem: Image.open(path).size for path in paths}
    assert sizes == {"thumb-small": (160, 120), "thumb-medium": (400, 300), "thumb-large": (800, 600)}


# ----------------------------------------------------------------------------------------------- refused images


def test_a_truncated_jpeg_is_corrupt(tmp_path):
    data = samples.jpeg_bytes(width=800, height=600)
    source = write(tmp_path, "cut.jpg", data[: len(data) // 2])
    with pytest.raises(MediaCorrupt, match="truncated"):
        mp.process_image(source, tmp_path / "out")


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path):
    data = samples.png_bomb_bytes(30_000, 30_000)  # 900 M pixels in ~110 KB
    assert len(data) < 200_000
    with pytest.raises(MediaCorrupt, match="pixels, over the limit"):
        mp.process_image(write(tmp_path, "bomb.png", data), tmp_path / "out")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_in_pillows_warning_range_is_refused_even_with_a_higher_budget(tmp_path):
    source = write(tmp_path, "warn.png", samples.png_bomb_bytes(10_000, 10_000))  # 100 M > Pillow's 89 M
    assert Image.MAX_IMAGE_PIXELS is not None and 100_000_000 > Image.MAX_IMAGE_PIXELS
    with pytest.raises(MediaCorrupt, match="pixels, over the limit"):
        mp.open_image(source, max_pixels=150_000_000)


def test_the_pixel_budget_is_the_callers(tmp_path):
    source = write(tmp_path, "photo.jpg", samples.jpeg_bytes(width=2000, height=1000))
    with pytest.raises(MediaCorrupt, match=r"2000×1000 = 2,000,000 pixels, over the limit of 1,000,000"):
        mp.process_image(source, tmp_path / "out", max_pixels=1_000_000)
    assert mp.process_image(source, tmp_path / "out", max_pixels=2_000_000).width == 2000


def bmp_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "BMP")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.jpg", b"just some text pretending to be a photo"),
        ("empty.png", b""),
        ("vector.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("bitmap.jpg", bmp_bytes()),  # a real image, but not an allowed format
        ("header-only.png", samples.png_bytes(alpha=False)[:40]),
        ("random.jpg", bytes(range(256)) * 40),
    ],
)
def test_files_that_are_not_allowed_images_are_corrupt(tmp_path, name, data):
    with pytest.raises(MediaCorrupt):
        mp.process_image(write(tmp_path, name, data), tmp_path / "out")


# ---------------------------------------------------------------------------------------------------------- videos


def assert_video_variants(result: ProcessedMedia, displayed: tuple[int, int]) -> None:
    variants = by_name(result)
    assert set(variants) == {"poster", "preview", *THUMBS}
    poster = variants["poster"]
    assert poster.path.name == "poster.jpg" and poster.content_type == "image/jpeg"
    with opened(poster) as image:
        assert image.format == "JPEG" and image.size == (poster.width, poster.height) == displayed
        assert not image.getexif()
    for name, edge in mp.THUMBNAIL_SIZES.items():
        assert max(variants[name].width, variants[name].height) == min(edge, max(displayed))
        assert_no_metadata(variants[name])
    preview = variants["preview"]
    assert preview.path.name == f"preview{mp.preview_encoder().suffix}"
    assert preview.content_type == mp.preview_encoder().content_type
    info = mp.probe_video(preview.path)
    assert (info.width, info.height) == (preview.width, preview.height)
    assert preview.height <= mp.PREVIEW_MAX_HEIGHT
    assert not info.has_audio
    assert not any("location" in key for key in info.metadata)


def test_an_mp4_gets_a_poster_thumbnails_and_a_short_muted_preview(tmp_path):
    source = samples.mp4_path(tmp_path, seconds=4, size=(320, 240), location=True)
    assert "location" in mp.probe_video(source).metadata and mp.probe_video(source).has_audio
    result = mp.process_video(source, tmp_path / "out")
    assert result.duration_seconds == pytest.approx(4, abs=0.1)
    assert (result.width, result.height) == (320, 240) and result.page_count is None
    assert_video_variants(result, (320, 240))
    preview = mp.probe_video(by_name(result)["preview"].path)
    assert preview.duration == pytest.approx(3, abs=0.15)  # the first preview_seconds only


def test_the_preview_is_at_most_480_high_and_keeps_the_aspect(tmp_path):
    source = samples.mp4_path(tmp_path, seconds=1, size=(1280, 720), audio=False)
    result = mp.process_video(source, tmp_path / "out", preview_seconds=0.5)
    preview = by_name(result)["preview"]
    assert (preview.width, preview.height) == (854, 480)
    assert (by_name(result)["poster"].width, by_name(result)["poster"].height) == (1280, 720)
    assert mp.probe_video(preview.path).duration == pytest.approx(0.5, abs=0.1)


def test_a_very_short_clip_takes_its_poster_from_the_middle(tmp_path):
    source = samples.mp4_path(tmp_path, seconds=0.4, size=(160, 120))
    result = mp.process_video(source, tmp_path / "out", poster_at=5.0)
    assert result.duration_seconds == pytest.approx(0.4, abs=0.1)
    assert by_name(result)["poster"].path.stat().st_size > 0


def test_a_mov_with_a_rotation_is_shown_upright(tmp_path):
    source = samples.mov_path(tmp_path, seconds=2, size=(320, 240), rotation=90)
    result = mp.process_video(source, tmp_path / "out")
    assert (result.width, result.height) == (240, 320)
    assert_video_variants(result, (240, 320))
    assert by_name(result)["preview"].height > by_name(result)["preview"].width


def test_a_plain_mov_and_a_webm_are_processed(tmp_path):
    for source in (samples.mov_path(tmp_path, seconds=2), samples.webm_path(tmp_path, seconds=2)):
        result = mp.process_video(source, tmp_path / f"out-{source.suffix[1:]}")
        assert result.duration_seconds == pytest.approx(2, abs=0.1)
        assert (result.width, result.height) == (320, 240)
        assert_video_variants(result, (320, 240))


def random_bytes(size: int) -> bytes:
    return random.Random(6).randbytes(size)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("random.mp4", random_bytes(200_000), "not a video"),
        ("ftyp.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + random_bytes(3200), "video"),
        ("empty.mp4", b"", "not a video"),
        ("playlist.mp4", b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n", "not a video"),
        ("picture.mp4", samples.png_bytes(alpha=False), "not a video"),
    ],
)
def test_files_that_are_not_videos_are_corrupt(tmp_path, name, data, reason):
    with pytest.raises(MediaCorrupt, match=reason) as caught:
        mp.process_video(write(tmp_path, name, data), tmp_path / "out")
    message = str(caught.value)
    assert str(tmp_path) not in message and len(message) < 250  # a short reason, no server path


def test_an_audio_only_file_has_no_video_track(tmp_path):
    with pytest.raises(MediaCorrupt, match="no video track"):
        mp.process_video(samples.audio_only_path(tmp_path), tmp_path / "out")


def test_a_truncated_mp4_is_corrupt(tmp_path):
    data = samples.mp4_path(tmp_path, seconds=2).read_bytes()
    with pytest.raises(MediaCorrupt):
        mp.process_video(write(tmp_path, "cut.mp4", data[: len(data) // 3]), tmp_path / "out")


def test_ffmpeg_runs_have_a_timeout(tmp_path, monkeypatch):
    source = samples.mp4_path(tmp_path, seconds=1)
    monkeypatch.setattr(mp, "FFMPEG_TIMEOUT", 0.001)
    with pytest.raises(MediaCorrupt, match="took too long"):
        mp.process_video(source, tmp_path / "out")


def test_the_rotation_parser_reads_old_and_new_ffmpeg_output():
    new = "  Stream #0:0: Video: h264, 320x240\n    Side data:\n      Display Matrix: rotation of -90.00 degrees\n"
    old = "  Stream #0:0: Video: h264, 320x240\n    Metadata:\n      rotate          : 270\n"
    audio_then_video = "  Stream #0:0: Audio: aac\n  Stream #0:1: Video: h264, 320x240\n"
    assert mp._rotation(new) == 270 and mp._rotation(old) == 270 and mp._rotation(audio_then_video) == 0


# ------------------------------------------------------------------------------------------------------------ PDFs


def test_a_pdf_gets_its_page_count_a_first_page_preview_and_thumbnails(tmp_path):
    result = mp.process_pdf(write(tmp_path, "brochure.pdf", samples.pdf_bytes(pages=3)), tmp_path / "out")
    assert result.page_count == 3 and result.duration_seconds is None
    assert (result.width, result.height) == (612, 792)  # points
    preview = by_name(result)["preview"]
    assert preview.path.name == "page-1.webp" and preview.height == 1024
    assert preview.width == pytest.approx(612 * 1024 / 792, abs=1)
    assert_image_variants(result, (preview.width, preview.height), web="preview")
    with opened(preview) as image:
        assert close_to(colour_at(image, 0.5, 0.15), samples.QUADRANTS[0])  # page 1's red band
        assert close_to(colour_at(image, 0.5, 0.9), (255, 255, 255))
    for variant in result.variants:
        assert_no_metadata(variant)


def test_an_encrypted_pdf_is_refused_with_the_reason(tmp_path):
    data = samples.encrypted_pdf_bytes(user_password="secret")
    document = pdfium.PdfDocument(data, password="secret")  # a genuine encrypted PDF
    assert len(document) == 1
    document.close()
    with pytest.raises(MediaCorrupt, match="password"):
        mp.process_pdf(write(tmp_path, "locked.pdf", data), tmp_path / "out")


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage",
        b"",
        samples.pdf_bytes(pages=1)[:500],
        json.dumps({"not": "a pdf"}).encode(),
    ],
)
def test_a_broken_pdf_is_corrupt(tmp_path, data):
    with pytest.raises(MediaCorrupt, match="PDF"):
        mp.process_pdf(write(tmp_path, "broken.pdf", data), tmp_path / "out")


def test_a_rotated_page_is_shown_as_rotated(tmp_path):
    document = pdfium.PdfDocument(samples.pdf_bytes(pages=1))
    document[0].set_rotation(90)
    out = io.BytesIO()
    document.save(out)
    document.close()
    result = mp.process_pdf(write(tmp_path, "landscape.pdf", out.getvalue()), tmp_path / "out")
    assert (result.width, result.height) == (792, 612)
    preview = by_name(result)["preview"]
    assert preview.width == 1024 and preview.width > preview.height


def test_a_missing_input_is_not_blamed_on_the_upload(tmp_path):
    for process in (mp.process_image, mp.process_video, mp.process_pdf):
        with pytest.raises(FileNotFoundError):
            process(tmp_path / "gone", tmp_path / "out")


def test_a_video_over_the_frame_budget_is_refused(tmp_path, monkeypatch):
    source = samples.mp4_path(tmp_path, seconds=1, size=(320, 240))
    monkeypatch.setattr(mp, "MAX_VIDEO_PIXELS", 320 * 240 - 1)
    with pytest.raises(MediaCorrupt, match="pixels a frame, over the limit"):
        mp.process_video(source, tmp_path / "out")


def test_pdf_rendering_is_safe_from_many_threads(tmp_path):
    source = write(tmp_path, "doc.pdf", samples.pdf_bytes(pages=2))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: mp.process_pdf(source, tmp_path / f"out-{n}"), range(8)))
    assert {r.page_count for r in results} == {2}


@pytest.mark.parametrize(
    ("available", "suffix", "content_type"), [("libvpx-vp9", ".webm", "video/webm"), ("mpeg4", ".mp4", "video/mp4")]
)
def test_the_preview_falls_back_when_libx264_is_missing(tmp_path, monkeypatch, available, suffix, content_type):
    if available not in mp.ffmpeg_encoders():
        pytest.skip(f"this ffmpeg has no {available} either")
    source = samples.mp4_path(tmp_path, seconds=1)
    monkeypatch.setattr(mp, "ffmpeg_encoders", lambda: frozenset({available, "aac"}))
    preview = by_name(mp.process_video(source, tmp_path / "out"))["preview"]
    assert (preview.path.name, preview.content_type) == (f"preview{suffix}", content_type)
    assert (preview.width, preview.height) == (320, 240)
    assert mp.probe_video(preview.path).duration == pytest.approx(1, abs=0.15)


def test_the_ffmpeg_binary_is_the_bundled_one():
    version = subprocess.run([mp.ffmpeg_exe(), "-version"], capture_output=True, text=True, timeout=30, check=True)
    assert version.stdout.startswith("ffmpeg version")
