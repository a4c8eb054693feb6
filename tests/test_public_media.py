"""Images in messages: library links become signed public URLs at render time, served without login only when the
signature matches; media used by any version of a template stays in use."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.settings import Settings
from core.signing import media_reference, public_media_url, valid_media_signature
from tests import media_samples as samples
from tests.conftest import client_for
from tests.test_media import until_processed, upload


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_signatures_cover_the_asset_and_the_rendition():
    settings = Settings(database_url="postgresql://x@127.0.0.1/one", public_url="https://mail.example.com/")
    url = public_media_url(settings, 7, "web")
    assert url.startswith("https://mail.example.com/public/media/7/web?sig=")
    sig = url.rsplit("=", 1)[1]
    assert valid_media_signature(settings, 7, "web", sig)
    assert not valid_media_signature(settings, 8, "web", sig)
    assert not valid_media_signature(settings, 7, "original", sig)
    other_install = Settings(database_url="postgresql://x@127.0.0.1/two")
    assert not valid_media_signature(other_install, 7, "web", sig)
    assert not valid_media_signature(Settings(secret_key="s3cret", database_url="x"), 7, "web", sig)
    assert media_reference("/api/media/12/file/thumb-large") == (12, "thumb-large")
    assert media_reference("http://herald.test/api/media/12/file") == (12, "original")
    assert media_reference("media:5") == (5, "web")
    assert media_reference("https://cdn.example.com/a.png") is None


async def test_previews_and_sends_link_to_the_public_route_which_needs_the_signature(app, api, worker, db):
    asset = (await upload(api, "hero.png", samples.png_bytes(alpha=False))).json()
    await until_processed(api, asset["id"])
    template = await api.post(
        "/api/templates",
        json={
            "name": "With hero",
            "subject": "Look",
            "body_html": f'<p><img src="/api/media/{asset["id"]}/file/web" alt="Hero"></p><p>Hi</p>',
        },
    )
    assert template.status_code == 201, template.text
    assert template.json()["thumbnail_media_id"] == asset["id"]
    preview = (await api.post(f"/api/templates/{template.json()['id']}/preview", json={})).json()
    prefix = f"http://localhost:8000/public/media/{asset['id']}/web?sig="
    assert prefix in preview["html"] and "/api/media/" not in preview["html"]
    url = prefix + preview["html"].split(prefix, 1)[1].split('"', 1)[0]

    async with client_for(app) as anonymous:
        served = await anonymous.get(_path(url))
        assert served.status_code == 200, served.text
        assert served.headers["content-type"] == "image/webp" and served.content[:4] == b"RIFF"
        sig = url.rsplit("=", 1)[1]
        for forged in (
            f"/public/media/{asset['id']}/web?sig={sig[:-2]}AA",
            f"/public/media/{asset['id']}/original?sig={sig}",
            f"/public/media/{asset['id'] + 1}/web?sig={sig}",
            f"/public/media/{asset['id']}/web",
        ):
            assert (await anonymous.get(forged)).status_code == 404, forged
        assert (await anonymous.get(f"/api/media/{asset['id']}/file/web")).status_code == 401

    sent = await api.post(f"/api/templates/{template.json()['id']}/test-send", json={"to": ["qa@example.com"]})
    assert sent.json()["results"][0]["ok"], sent.text
    [message] = (await api.get("/api/outbox")).json()["items"]
    detail = (await api.get(f"/api/outbox/{message['id']}")).json()
    assert prefix in detail["body_html"]


async def test_an_image_of_an_older_version_stays_in_use(api, worker, db):
    asset = (await upload(api, "old.png", samples.png_bytes(alpha=False, color=(9, 9, 9)))).json()
    await until_processed(api, asset["id"])
    template = (
        await api.post(
            "/api/templates",
            json={"name": "T", "subject": "s", "body_html": f'<img src="/api/media/{asset["id"]}/file/web" alt="">'},
        )
    ).json()
    await api.put(f"/api/templates/{template['id']}", json={"subject": "s", "body_html": "<p>No image now</p>"})
    used_by = (await api.get(f"/api/media/{asset['id']}")).json()["used_by"]
    assert [(u["type"], u["name"]) for u in used_by] == [("template", "T")]
    assert (await api.delete(f"/api/media/{asset['id']}")).status_code == 409

    whatsapp = await api.post(
        "/api/templates",
        json={"name": "W", "channel": "whatsapp", "body_text": "Photo", "media_ids": [asset["id"]]},
    )
    assert whatsapp.status_code == 201, whatsapp.text
    preview = (await api.post(f"/api/templates/{whatsapp.json()['id']}/preview", json={})).json()
    assert preview["media_urls"] and preview["media_urls"][0].startswith(
        f"http://localhost:8000/public/media/{asset['id']}/web?sig="
    )
