"""Workspace secrets sealed at rest (models/secrets.py): what the API stores and the journey worker reads.

A value is sealed with AES-GCM under a key derived (HKDF-SHA256) from `Settings.signing_key`, that is from
SECRET_KEY, so the API and the worker of one install share it and a database dump alone does not reveal a value.
The workspace id and the name are the associated data: a sealed value copied to another row or workspace does not
open. Layout: version byte (1), 12-byte random nonce, ciphertext with its 16-byte tag.

Changing SECRET_KEY makes every stored value unreadable (`SecretUnavailable`, asking for it to be set again).
Values are never logged, and no message of this module contains one.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.secrets import WorkspaceSecret

VERSION = b"\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_INFO = b"herald workspace secrets v1"
SECRETS = WorkspaceSecret.__table__


class SecretUnavailable(Exception):
    """The secret does not exist in the workspace, or its stored value cannot be opened; the message names it."""


def secrets_key(signing_key: bytes) -> bytes:
    """The AES-256 key of workspace secrets, derived apart from the link-signing key it comes from."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(signing_key)


def _associated(workspace_id: int, name: str) -> bytes:
    return f"workspace-secret:{workspace_id}:{name}".encode()


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(secrets_key(settings.signing_key))

    def __repr__(self) -> str:
        return "SecretBox()"

    def seal(self, workspace_id: int, name: str, value: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, value.encode(), _associated(workspace_id, name))

    def open(self, workspace_id: int, name: str, sealed: bytes) -> str:
        sealed = bytes(sealed)
        if len(sealed) < 1 + NONCE_BYTES + TAG_BYTES or sealed[:1] != VERSION:
            raise SecretUnavailable(f"secret '{name}' is not in a readable form: set it again")
        nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, _associated(workspace_id, name))
        except InvalidTag:
            raise SecretUnavailable(
                f"secret '{name}' cannot be decrypted (was SECRET_KEY changed since it was set?): set it again"
            ) from None
        return plaintext.decode()


async def read_secret(
    session: AsyncSession, box: SecretBox, workspace_id: int, name: str, *, touch: bool = True
) -> str:
    """The value of the workspace's secret `name` (SecretUnavailable when there is none, or it cannot be opened).
    `touch` stamps its `last_used_at` (not `updated_at`, which says when the value was set); the caller commits."""
    where = (SECRETS.c.workspace_id == workspace_id, SECRETS.c.name == name)
    if touch:
        query = (
            update(SECRETS)
            .where(*where)
            .values(last_used_at=func.now(), updated_at=SECRETS.c.updated_at)
            .returning(SECRETS.c.sealed_value)
        )
    else:
        query = select(SECRETS.c.sealed_value).where(*where)
    sealed = (await session.execute(query)).scalar_one_or_none()
    if sealed is None:
        raise SecretUnavailable(f"secret '{name}' does not exist in this workspace")
    return box.open(workspace_id, name, sealed)
