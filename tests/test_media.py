"""The media library through the API and a real worker: uploads, MediaProcessingWorkflow, search, usage, storage."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from tests import media_samples as samples
from tests.helpers import eventually


async def upload(api, name: str, data: bytes, folder: str = "") -> httpx.Response:
    params = {"folder": folder} if folder else {}
    return await api.post("/api/media", files={"file": (name, data, "application/octet-stream")}, params=params)


async def until_processed(api, asset_id: int, timeout: float = 90) -> dict:
    async def done():
        asset = (await api.get(f"/api/media/{asset_id}")).json()
        return asset if asset["status"] != "processing" else None

    return await eventually(done, timeout=timeout, interval=0.2)


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


async def test_images_of_every_allowed_format_get_thumbnails(api, worker):
    files = {
        "photo.jpg": samples.jpeg_bytes(width=1600, height=1200),
        "logo.png": samples.png_bytes(alpha=True),
        "anim.gif": samples.gif_bytes(animated=True),
        "pic.webp": samples.webp_bytes(),
        "pic.avif": samples.avif_bytes(),
        "pic.heic": samples.heic_bytes(),
    }
    uploaded = {}
    for name, data in files.items():
        response = await upload(api, name, data)
        assert response.status_code == 201, (name, response.text)
        assert response.json()["status"] == "processing" and response.json()["duplicate"] is False
        uploaded[name] = response.json()
    assert uploaded["photo.jpg"]["content_type"] == "image/jpeg"
    assert uploaded["pic.heic"]["content_type"] == "image/heic"
    for name, asset in uploaded.items():
        done = await until_processed(api, asset["id"])
        assert done["status"] == "ready", (name, done["failure_reason"])
        assert {"thumb-small", "thumb-medium", "thumb-large"} <= set(done["variants"]), name
        thumb = await api.get(done["variants"]["thumb-small"]["url"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
        assert (
            thumb.headers["x-content-type-options"] == "nosniff"
            and "sandbox" in thumb.headers["content-security-policy"]
        )
        assert max(image_size(thumb.content)) <= 160
    photo = await until_processed(api, uploaded["photo.jpg"]["id"])
    assert (photo["width"], photo["height"]) == (1600, 1200)
    original = await api.get(photo["url"])
    assert original.content == files["photo.jpg"] and original.headers["content-type"] == "image/jpeg"


async def test_exif_orientation_applied_and_gps_stripped(api, worker):
    data = samples.jpeg_bytes(width=400, height=200, exif_orientation=6, gps=True)
    asset = (await upload(api, "rotated.jpg", data)).json()
    done = await until_processed(api, asset["id"])
    assert (done["width"], done["height"]) == (200, 400)  # as displayed
    large = await api.get(done["variants"]["thumb-medium"]["url"])
    with Image.open(io.BytesIO(large.content)) as image:
        assert image.size[1] > image.size[0]
        assert not image.getexif()


async def test_video_and_pdf_are_processed(api, worker, tmp_path):
    video = samples.mp4_path(tmp_path, seconds=2, size=(320, 240))
    asset = (await upload(api, "clip.mp4", video.read_bytes())).json()
    assert asset["kind"] == "video" and asset["content_type"] == "video/mp4"
    done = await until_processed(api, asset["id"])
    assert done["status"] == "ready", done["failure_reason"]
    assert done["duration_seconds"] == pytest.approx(2, abs=0.3)
    assert (done["width"], done["height"]) == (320, 240)
    assert "poster" in done["variants"] and "preview" in done["variants"]

    pdf = (await upload(api, "brochure.pdf", samples.pdf_bytes(pages=3))).json()
    assert pdf["kind"] == "document"
    done = await until_processed(api, pdf["id"])
    assert done["status"] == "ready", done["failure_reason"]
    assert done["page_count"] == 3 and "thumb-small" in done["variants"]


async def test_a_corrupt_video_ends_failed_with_a_reason(api, worker):
    fake = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + uuid.uuid4().bytes * 200
    asset = (await upload(api, "broken.mp4", fake)).json()
    done = await until_processed(api, asset["id"])
    assert done["status"] == "failed" and done["failure_reason"]


async def test_the_same_bytes_twice_offer_the_existing_asset(api, worker):
    data = samples.png_bytes(alpha=False)
    first = await upload(api, "a.png", data)
    second = await upload(api, "copy-of-a.png", data)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["duplicate"] is True and second.json()["id"] == first.json()["id"]
    assert (await api.get("/api/media")).json()["total"] == 1


def truncated_jpeg() -> bytes:
    data = samples.jpeg_bytes(width=800, height=600)
    return data[: len(data) // 2]


def bomb_png() -> bytes:
    image = Image.new("1", (20_000, 20_000))  # 400 M pixels, a few KB compressed
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def polyglot_gif() -> bytes:
    return samples.gif_bytes(animated=False) + b"<script>alert(document.cookie)</script>"


HOSTILE = [
    ("notes.jpg", b"just some text pretending to be a photo", 415),
    ("shell.jpg", b"<?php system($_GET['cmd']); ?>", 415),
    ("binary.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, 415),
    ("script.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 415),
    ("empty.png", b"", 422),
]


@pytest.mark.parametrize(("name", "data", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_uploads_are_refused_and_nothing_is_stored(api, settings, name, data, status):
    await _refused(api, settings, name, data, status)


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("polyglot.gif", polyglot_gif, "polyglot"),
        ("truncated.jpg", truncated_jpeg, "damaged or incomplete"),
        ("bomb.png", bomb_png, "pixels"),
        ("../../etc/passwd.jpg", lambda: samples.png_bytes(alpha=False), "path"),
        ("evil\x00.jpg", lambda: samples.png_bytes(alpha=False), "control characters"),
    ],
)
async def test_dangerous_content_and_names_are_refused(api, settings, name, make, message):
    response = await _refused(api, settings, name, make(), 422)
    assert message in response.json()["message"]


async def test_oversize_uploads_are_refused(api, settings):
    settings.media_max_image_bytes = 10_000
    await _refused(api, settings, "big.jpg", samples.jpeg_bytes(width=1600, height=1200), 413)


async def _refused(api, settings, name, data, status) -> httpx.Response:
    response = await upload(api, name, data)
    assert response.status_code == status, response.text
    assert response.json()["field"] == "file"
    assert (await api.get("/api/media")).json()["total"] == 0
    stored = settings.storage_root / "media"
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))
    return response


async def test_search_filters_tags_folders_and_bulk(api, worker):
    red = (await upload(api, "red-banner.png", samples.png_bytes(color=(255, 0, 0)), folder="banners/2026")).json()
    blue = (await upload(api, "blue.png", samples.png_bytes(color=(0, 0, 255)), folder="banners")).json()
    doc = (await upload(api, "terms.pdf", samples.pdf_bytes(pages=1), folder="legal")).json()
    patched = await api.patch(
        f"/api/media/{blue['id']}", json={"tags": ["summer", " sale "], "alt_text": "Ocean waves", "title": "Blue"}
    )
    assert patched.status_code == 200 and patched.json()["tags"] == ["sale", "summer"]

    async def ids(**params) -> list[int]:
        page = (await api.get("/api/media", params=params)).json()
        return [item["id"] for item in page["items"]]

    assert await ids(search="banner") == [red["id"]]
    assert await ids(search="ocean") == [blue["id"]]  # alt text
    assert await ids(search="summer") == [blue["id"]]  # tag
    assert await ids(tag="sale") == [blue["id"]]
    assert await ids(kind="document") == [doc["id"]]
    assert sorted(await ids(folder="banners")) == sorted([red["id"], blue["id"]])
    assert await ids(folder="banners/2026") == [red["id"]]
    assert await ids(sort="name") == [blue["id"], red["id"], doc["id"]]
    page = (await api.get("/api/media", params={"limit": 2, "offset": 2})).json()
    assert page["total"] == 3 and len(page["items"]) == 1

    bulk = await api.post("/api/media/bulk", json={"ids": [red["id"], doc["id"]], "action": "tag", "tag": "2026"})
    assert bulk.json()["affected"] == 2
    tags = {t["name"]: t["count"] for t in (await api.get("/api/media/tags")).json()}
    assert tags == {"2026": 2, "sale": 1, "summer": 1}
    moved = await api.post("/api/media/bulk", json={"ids": [doc["id"]], "action": "move", "folder": "archive"})
    assert moved.json()["affected"] == 1
    folders = {f["name"]: f["count"] for f in (await api.get("/api/media/folders")).json()}
    assert folders == {"archive": 1, "banners": 1, "banners/2026": 1}
    assert (await api.patch(f"/api/media/{doc['id']}", json={"folder": "../up"})).status_code == 422
    gone = await api.post("/api/media/bulk", json={"ids": [doc["id"], 999999], "action": "delete"})
    assert gone.json()["affected"] == 1 and gone.json()["refused"][0]["id"] == 999999


async def test_an_asset_in_use_is_only_deleted_when_a_manager_forces_it(app, api, worker, db, tenant):
    from domain.permissions import Role
    from tests.conftest import client_for, make_key
    from tests.factories import make_campaign, make_leads

    asset = (await upload(api, "hero.png", samples.png_bytes(alpha=False))).json()
    template = await api.post(
        "/api/templates",
        json={
            "name": "With hero",
            "subject": "Hello",
            "body_html": f'<img src="/api/media/{asset["id"]}/file/thumb-large" alt="">',
        },
    )
    assert template.status_code == 201, template.text
    leads = await make_leads(db, 1, workspace_id=tenant.workspace_id)
    campaign = await make_campaign(db, leads, name="Spring sale", workspace_id=tenant.workspace_id)
    async with db() as session:
        await session.execute(
            text("UPDATE campaigns SET template_id = :t WHERE id = :c"), {"t": template.json()["id"], "c": campaign}
        )
        await session.commit()
    detail = (await api.get(f"/api/media/{asset['id']}")).json()
    assert {(u["type"], u["name"]) for u in detail["used_by"]} == {
        ("template", "With hero"),
        ("campaign", "Spring sale"),
    }

    refused = await api.delete(f"/api/media/{asset['id']}")
    assert refused.status_code == 409 and "With hero" in refused.json()["message"]
    marketer = await make_key(db, tenant.workspace_id, Role.marketer)
    async with client_for(app, marketer) as client:
        assert (await client.delete(f"/api/media/{asset['id']}", params={"force": "true"})).status_code == 409
    manager = await make_key(db, tenant.workspace_id, Role.manager)
    async with client_for(app, manager) as client:
        assert (await client.delete(f"/api/media/{asset['id']}", params={"force": "true"})).status_code == 204
    assert (await api.get(f"/api/media/{asset['id']}")).status_code == 404


async def test_viewers_cannot_upload_and_workspaces_are_apart(app, api, db, tenant, worker):
    from domain.permissions import Role
    from tests.conftest import client_for, make_key, make_tenant

    asset = (await upload(api, "mine.png", samples.png_bytes(alpha=False))).json()
    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        assert (await upload(client, "v.png", samples.png_bytes(color=(1, 2, 3)))).status_code == 403
        assert (await client.get(asset["url"])).status_code == 200
    other = await make_tenant(db, "Globex", "admin@globex.test")
    async with client_for(app, other.admin_key) as client:
        assert (await client.get(f"/api/media/{asset['id']}")).status_code == 404
        assert (await client.get(asset["url"])).status_code == 404
        # The same bytes in another workspace are a new asset there, not a link to ours.
        again = await upload(client, "mine.png", samples.png_bytes(alpha=False))
        assert again.status_code == 201 and again.json()["id"] != asset["id"]


async def test_orphaned_objects_are_cleaned_and_referenced_ones_kept(api, worker, settings, temporal_client):
    from models.payloads.media import CleanupInput
    from workflows.storage_cleanup import StorageCleanupWorkflow

    asset = await until_processed(api, (await upload(api, "keep.png", samples.png_bytes(alpha=False))).json()["id"])
    storage_root = settings.storage_root
    orphan = storage_root / "media" / "1" / "deadbeef" / "original.png"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left behind by a failed commit")
    result = await temporal_client.execute_workflow(
        StorageCleanupWorkflow.run,
        CleanupInput(grace_hours=0),
        id=f"cleanup-{uuid.uuid4().hex[:6]}",
        task_queue=settings.temporal_task_queue,
    )
    assert result.deleted == ["media/1/deadbeef/original.png"]
    assert not orphan.exists()
    assert (await api.get(asset["url"])).status_code == 200
    assert (await api.get(asset["variants"]["thumb-small"]["url"])).status_code == 200


@pytest.fixture
async def s3_api(settings, temporal_client, db, tenant, moto_endpoint) -> AsyncIterator[httpx.AsyncClient]:
    from api.main import create_app
    from tests.conftest import client_for, running_worker

    s3 = settings.model_copy(
        update={
            "s3_endpoint": moto_endpoint,
            "s3_access_key": "testing",
            "s3_secret_key": "testing",
            "s3_bucket": f"media-{uuid.uuid4().hex[:8]}",
        }
    )
    app = create_app(s3, temporal_client=temporal_client)
    async with app.router.lifespan_context(app), running_worker(temporal_client, s3, db):
        async with client_for(app, tenant.admin_key) as client:
            yield client


async def test_the_s3_backend_stores_processes_and_serves(s3_api, db):
    asset = (await upload(s3_api, "cloud.jpg", samples.jpeg_bytes(width=640, height=480))).json()
    done = await until_processed(s3_api, asset["id"])
    assert done["status"] == "ready", done["failure_reason"]
    redirect = await s3_api.get(done["variants"]["thumb-small"]["url"])
    assert redirect.status_code == 307
    async with httpx.AsyncClient() as plain:
        thumb = await plain.get(redirect.headers["location"])
    assert thumb.status_code == 200 and max(image_size(thumb.content)) <= 160
    async with db() as session:
        key = (await session.execute(text("SELECT storage_key FROM media_assets"))).scalar_one()
    assert key.startswith("media/") and key.endswith("/original.jpg") and "cloud" not in key


def test_sample_files_exist(tmp_path: Path):
    """The generators the other tests rely on produce what they claim (guards against a silent skip)."""
    assert samples.jpeg_bytes(width=10, height=10)[:3] == b"\xff\xd8\xff"
    assert samples.pdf_bytes(pages=1).startswith(b"%PDF-")
