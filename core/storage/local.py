"""Storage in a local directory (the default for `make run` and single-host installs)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from core.storage.base import (
    DEFAULT_CONTENT_TYPE,
    KEY_CHARS,
    InvalidKey,
    ObjectNotFound,
    is_valid_key,
    validate_key,
    validate_prefix,
)

COPY_CHUNK = 1024 * 1024
# `~` is not allowed in keys, so a temporary file can never collide with an object or be listed as one.
TMP_MARKER = "~"


class LocalStorage:
    """Objects are files under `root`, the key being the relative path.

    Every write goes to a temporary file in the object's directory and is then renamed over the object with
    `os.replace`, so a reader sees either the old or the new object in full, never part of one, and a failed write
    leaves nothing behind. The content type is not stored: the database row that owns the key keeps it.
    A key cannot be both an object and a "directory" of other keys here (`a` and `a/b`); we never generate such
    keys.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = (self.root / key).resolve()
        # Belt and braces: the key rules already forbid `..`, but a symlink inside the root must not lead out of it.
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKey(f"storage key leaves the storage root: {key!r}")
        return path

    def local_path(self, key: str) -> Path:
        """The file behind a key, for servers that send files themselves (HTTP Range support)."""
        return self._path(key)

    def _write_atomically(self, target: Path, fill: Callable[[BinaryIO], None]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}{TMP_MARKER}{secrets.token_hex(8)}.tmp")
        # os.open with 0o666 (rather than mkstemp's 0o600) so objects get the usual umask-based permissions.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def put_file(self, key: str, path: Path, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        target = self._path(key)
        with open(path, "rb") as src:
            self._write_atomically(target, lambda out: shutil.copyfileobj(src, out, COPY_CHUNK))

    def put_bytes(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        self._write_atomically(self._path(key), lambda out: out.write(data))

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            return open(path, "rb")  # the caller closes it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc

    def download(self, key: str, path: Path) -> None:
        with self.open(key) as src:
            self._write_atomically(Path(os.path.abspath(path)), lambda out: shutil.copyfileobj(src, out, COPY_CHUNK))

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            if path.is_file():
                return path.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            pass
        raise ObjectNotFound(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        # Empty directories are left in place: removing them could race with a writer creating a file in them.
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            path.unlink()

    def list_keys(self, prefix: str = "") -> Iterator[tuple[str, int, datetime]]:
        validate_prefix(prefix)
        base = prefix.rpartition("/")[0]
        start = self._path(base) if base else self.root
        return self._walk(start, base, prefix)

    def _walk(self, directory: Path | str, rel: str, prefix: str) -> Iterator[tuple[str, int, datetime]]:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if not KEY_CHARS.fullmatch(entry.name):  # temporary files and anything we did not write
                continue
            key = f"{rel}/{entry.name}" if rel else entry.name
            # Symlinks are neither followed nor listed: we never create them.
            if entry.is_dir(follow_symlinks=False):
                if key.startswith(prefix) or prefix.startswith(f"{key}/"):
                    yield from self._walk(entry.path, key, prefix)
            elif entry.is_file(follow_symlinks=False) and key.startswith(prefix) and is_valid_key(key):
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # deleted while we were listing
                    continue
                yield key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)

    def presigned_get_url(self, key: str, expires: timedelta, download_name: str | None = None) -> str | None:
        """Always None: there is nothing to presign, the API streams local objects itself."""
        self._path(key)
        return None


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (Linux); best effort elsewhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
