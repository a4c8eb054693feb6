"""The storage layer: one suite run against both backends (a directory, and S3 served by moto)."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

import httpx
import pytest

from core import storage as storage_module
from core.settings import Settings
from core.storage import (
    InvalidKey,
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    Storage,
    attachment_disposition,
    parse_s3_endpoint,
    storage_from_settings,
)
from core.storage import local as local_module

BIG_SIZE = 20 * 1024 * 1024 + 123  # more than one 16 MiB part: multipart on S3
INVALID_KEYS = [
    "../x",
    "/abs",
    "a//b",
    "a\x00b",
    "a b",
    "",
    "a/",
    "a/../b",
    "a/./b",
    ".",
    "a\\b",
    "é.txt",
    "a\n",
    "x" * 513,
]


def make_s3(endpoint: str, bucket: str | None = None) -> S3Storage:
    return S3Storage(
        endpoint,
        access_key="testing",
        secret_key="testing",
        bucket=bucket or f"test-{uuid.uuid4().hex[:12]}",  # a fresh bucket per test: list_keys sees only its keys
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    return make_s3(request.getfixturevalue("moto_endpoint"))


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        for _ in range(BIG_SIZE // len(block)):
            out.write(block)
        out.write(block[: BIG_SIZE % len(block)])
    return path


def test_backends_satisfy_the_protocol(store: Storage) -> None:
    assert isinstance(store, Storage)


def test_put_bytes_open_round_trip(store: Storage) -> None:
    store.put_bytes("imports/1/a.csv", b"email\nx@example.com\n", "text/csv")
    with store.open("imports/1/a.csv") as stream:
        assert stream.read(5) == b"email"
        assert stream.read() == b"\nx@example.com\n"
    assert store.size("imports/1/a.csv") == 20
    store.put_bytes("imports/1/a.csv", b"replaced")
    with store.open("imports/1/a.csv") as stream:
        assert stream.read() == b"replaced"
    store.put_bytes("empty", b"")
    assert store.size("empty") == 0
    with store.open("empty") as stream:
        assert stream.read() == b""


def test_closing_a_partly_read_stream(store: Storage) -> None:
    store.put_bytes("k", b"x" * 1_000_000)
    for _ in range(3):  # on S3 the pooled connection must stay usable after an early close
        stream = store.open("k")
        assert stream.read(10) == b"x" * 10
        stream.close()
        assert stream.closed
    assert store.size("k") == 1_000_000


def test_put_file_big_size_download(store: Storage, big_file: Path, tmp_path: Path) -> None:
    store.put_file("media/big.bin", big_file)
    assert store.size("media/big.bin") == BIG_SIZE
    if isinstance(store, S3Storage):  # two parts: the ETag of a multipart upload ends in -<parts>
        assert store.client.stat_object(store.bucket, "media/big.bin").etag.endswith("-2")
    target = tmp_path / "out" / "nested" / "big.bin"
    store.download("media/big.bin", target)
    assert target.read_bytes() == big_file.read_bytes()
    with store.open("media/big.bin") as stream:
        assert stream.read() == big_file.read_bytes()


def test_download_replaces_existing_file(store: Storage, tmp_path: Path) -> None:
    store.put_bytes("a", b"new")
    target = tmp_path / "dl.bin"
    target.write_bytes(b"old content that is longer")
    store.download("a", target)
    assert target.read_bytes() == b"new"


def test_exists_and_delete(store: Storage) -> None:
    assert not store.exists("a/b.txt")
    store.put_bytes("a/b.txt", b"1")
    assert store.exists("a/b.txt")
    assert not store.exists("a")  # a "directory" is not an object
    store.delete("a/b.txt")
    assert not store.exists("a/b.txt")
    store.delete("a/b.txt")  # twice is fine
    store.delete("never/existed")


def test_missing_objects(store: Storage, tmp_path: Path) -> None:
    store.put_bytes("dir/x", b"1")
    for key in ("missing", "dir", "dir/x/y"):
        with pytest.raises(ObjectNotFound):
            store.open(key)
        with pytest.raises(ObjectNotFound):
            store.size(key)
        with pytest.raises(ObjectNotFound):
            store.download(key, tmp_path / "never")
        assert not store.exists(key)
    assert not (tmp_path / "never").exists()
    assert isinstance(ObjectNotFound("k"), LookupError)


def test_list_keys_with_prefix(store: Storage) -> None:
    before = datetime.now(UTC) - timedelta(minutes=1)
    for key, data in {
        "imports/1/a.csv": b"a",
        "imports/1/b.xlsx": b"bb",
        "imports/12/c.csv": b"ccc",
        "imports/2/d.csv": b"dddd",
        "media/1/e.png": b"eeeee",
        "top": b"t",
    }.items():
        store.put_bytes(key, data)

    listed = {key: (size, modified) for key, size, modified in store.list_keys("imports/1/")}
    assert {key: size for key, (size, _) in listed.items()} == {"imports/1/a.csv": 1, "imports/1/b.xlsx": 2}
    for _, modified in listed.values():
        assert modified.tzinfo is not None
        assert modified.utcoffset() == timedelta(0)
        assert before <= modified <= datetime.now(UTC) + timedelta(minutes=1)

    assert sorted(key for key, _, _ in store.list_keys("imports/1")) == [
        "imports/1/a.csv",
        "imports/1/b.xlsx",
        "imports/12/c.csv",
    ]
    assert sorted(key for key, _, _ in store.list_keys("imports/1/a")) == ["imports/1/a.csv"]
    assert sorted(key for key, _, _ in store.list_keys("")) == [
        "imports/1/a.csv",
        "imports/1/b.xlsx",
        "imports/12/c.csv",
        "imports/2/d.csv",
        "media/1/e.png",
        "top",
    ]
    assert list(store.list_keys("nothing/")) == []
    assert list(store.list_keys("top/")) == []


@pytest.mark.parametrize("key", INVALID_KEYS, ids=repr)
def test_invalid_keys_rejected(store: Storage, key: str, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.write_bytes(b"x")
    calls = [
        lambda: store.put_bytes(key, b"x"),
        lambda: store.put_file(key, source),
        lambda: store.open(key),
        lambda: store.download(key, tmp_path / "out"),
        lambda: store.size(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.presigned_get_url(key, timedelta(minutes=5)),
    ]
    for call in calls:
        with pytest.raises(InvalidKey):
            call()
    assert list(store.list_keys("")) == []
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("prefix", ["../", "/abs", "a//", "a b", "a/../"])
def test_invalid_prefixes_rejected(store: Storage, prefix: str) -> None:
    with pytest.raises(InvalidKey):
        store.list_keys(prefix)


def test_longest_key_accepted(store: Storage) -> None:
    # Segments of at most 200 characters: local file names are limited to 255 bytes.
    key = "/".join(["x" * 200, "y" * 200, "z" * 110])
    assert len(key) == 512
    store.put_bytes(key, b"1")
    assert store.exists(key)
    assert [k for k, _, _ in store.list_keys("x")] == [key]


def test_presigned_url(store: Storage) -> None:
    data = b"%PDF-1.7 fake\n" * 100
    store.put_bytes("media/7/report.pdf", data, "application/pdf")
    url = store.presigned_get_url("media/7/report.pdf", timedelta(minutes=5))
    if isinstance(store, LocalStorage):
        assert url is None
        assert store.presigned_get_url("media/7/report.pdf", timedelta(minutes=5), download_name="r.pdf") is None
        return
    assert url is not None
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert "attachment" not in response.headers.get("content-disposition", "")

    named = store.presigned_get_url("media/7/report.pdf", timedelta(minutes=5), download_name='Q3 "final" résumé.pdf')
    assert named is not None
    response = httpx.get(named)
    assert response.status_code == 200
    assert response.content == data
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == 'Q3 "final" résumé.pdf'


def test_attachment_disposition() -> None:
    assert attachment_disposition("report.pdf") == "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    value = attachment_disposition('../../etc/"pass\r\nwd"\u202e.exe')
    assert "\r" not in value and "\n" not in value and "\u202e" not in value
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert "/" not in fallback and '"' not in fallback
    assert 'filename="download"' in attachment_disposition("\x00\x01")
    assert 'filename="resume.pdf"' in attachment_disposition("résumé.pdf")


# --- local backend specifics ---------------------------------------------------------------------------------


def test_local_symlink_cannot_escape_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    store = LocalStorage(tmp_path / "root")
    (store.root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidKey):
        store.open("link/secret")
    with pytest.raises(InvalidKey):
        store.put_bytes("link/new", b"x")
    assert not (outside / "new").exists()
    assert list(store.list_keys("")) == []  # symlinks are not followed


def test_local_leaves_no_temp_files(tmp_path: Path, big_file: Path) -> None:
    store = LocalStorage(tmp_path / "root")
    store.put_file("a/big", big_file)
    store.put_bytes("a/small", b"1")
    store.put_bytes("a/small", b"2")
    store.download("a/small", tmp_path / "dl")
    assert sorted(p.name for p in (store.root / "a").iterdir()) == ["big", "small"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("dl")) == ["dl"]


def test_local_failed_write_leaves_no_object(tmp_path: Path, big_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStorage(tmp_path / "root")
    store.put_bytes("a/existing", b"old")

    def copy_half_then_fail(src: BinaryIO, dst: BinaryIO, length: int = 0) -> None:
        dst.write(src.read(1024 * 1024))
        raise OSError("disk full")

    monkeypatch.setattr(local_module.shutil, "copyfileobj", copy_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        store.put_file("a/new", big_file)
    with pytest.raises(OSError, match="disk full"):
        store.put_file("a/existing", big_file)
    monkeypatch.undo()

    assert not store.exists("a/new")
    assert store.open("a/existing").read() == b"old"  # the old object is intact
    assert sorted(p.name for p in (store.root / "a").iterdir()) == ["existing"]

    def failing_replace(src: object, dst: object) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(local_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        store.put_bytes("a/other", b"x")
    monkeypatch.undo()
    assert sorted(p.name for p in (store.root / "a").iterdir()) == ["existing"]
    with pytest.raises(FileNotFoundError):
        store.put_file("a/from-missing", tmp_path / "no-such-file")
    assert not store.exists("a/from-missing")


def test_local_readers_never_see_partial_objects(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "root")
    size = 2 * 1024 * 1024
    versions = [bytes([65 + i]) * size for i in range(4)]
    store.put_bytes("hot", versions[0])
    stop = threading.Event()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            with store.open("hot") as stream:
                data = stream.read()
            if data not in versions:
                errors.append(f"read {len(data)} bytes of mixed content")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for i in range(40):
            store.put_bytes("hot", versions[i % len(versions)])
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []


def test_local_ignores_foreign_files_in_listing(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "root")
    store.put_bytes("a/x", b"1")
    (store.root / "a" / "x~0123.tmp").write_bytes(b"partial")  # a crashed writer's temp file
    (store.root / "a" / "with space").write_bytes(b"?")
    assert [key for key, _, _ in store.list_keys("")] == ["a/x"]


# --- settings ---------------------------------------------------------------------------------------------------


def test_parse_s3_endpoint() -> None:
    assert parse_s3_endpoint("127.0.0.1:9000") == ("127.0.0.1:9000", False)
    assert parse_s3_endpoint("minio:9000") == ("minio:9000", False)
    assert parse_s3_endpoint("http://minio:9000") == ("minio:9000", False)
    assert parse_s3_endpoint("https://s3.eu-west-1.amazonaws.com/") == ("s3.eu-west-1.amazonaws.com", True)
    for bad in ("", "ftp://h", "http://h:1/bucket", "http://u:p@h", "h/path", "https://"):
        with pytest.raises(ValueError):
            parse_s3_endpoint(bad)


def test_storage_from_settings_local(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", s3_endpoint="", storage_dir="")
    assert settings.s3_endpoint is None
    assert settings.storage_root == tmp_path / "data" / "media"
    store = storage_from_settings(settings)
    assert isinstance(store, LocalStorage)
    assert store.root == (tmp_path / "data" / "media").resolve()

    store = storage_from_settings(Settings(_env_file=None, data_dir=tmp_path, storage_dir=tmp_path / "elsewhere"))
    assert isinstance(store, LocalStorage)
    store.put_bytes("k", b"1")
    assert (tmp_path / "elsewhere" / "k").read_bytes() == b"1"


def test_storage_from_settings_s3(moto_endpoint: str, tmp_path: Path) -> None:
    bucket = f"settings-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        s3_endpoint=moto_endpoint.removeprefix("http://"),  # no scheme: plain HTTP
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_bucket=bucket,
        s3_region="",
    )
    assert settings.s3_region == "us-east-1"
    store = storage_from_settings(settings)
    assert isinstance(store, S3Storage)
    assert store.bucket == bucket
    store.put_bytes("k", b"via settings")
    with store.open("k") as stream:
        assert stream.read() == b"via settings"
    assert not (tmp_path / "media").exists()


def test_bucket_created_once_across_threads(moto_endpoint: str) -> None:
    bucket = f"race-{uuid.uuid4().hex[:8]}"
    store = make_s3(moto_endpoint, bucket)
    other = make_s3(moto_endpoint, bucket)  # a second process sharing the bucket
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def put(target: S3Storage, i: int) -> None:
        barrier.wait()
        try:
            target.put_bytes(f"k{i}", b"x")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(store if i % 2 else other, i)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(key for key, _, _ in store.list_keys("")) == [f"k{i}" for i in range(6)]


def test_package_exports() -> None:
    for name in storage_module.__all__:
        assert hasattr(storage_module, name)


def test_presigned_links_are_signed_for_the_public_endpoint() -> None:
    """Workers reach MinIO as minio:9000; browsers follow links to the public name."""
    from datetime import timedelta

    storage = S3Storage(
        "minio:9000", access_key="k", secret_key="s", bucket="media", public_endpoint="https://files.example.com"
    )
    url = storage.presigned_get_url("media/1/a.jpg", timedelta(minutes=5))
    assert url is not None and url.startswith("https://files.example.com/media/media/1/a.jpg?")
    assert "minio" not in url
