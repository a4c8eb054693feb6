"""Secrets: password hashing (argon2 via pwdlib), session tokens, API keys. Only hashes are ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pwdlib import PasswordHash

_passwords = PasswordHash.recommended()
# Verified when the email is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _passwords.hash(secrets.token_urlsafe(16))
API_KEY_PREFIX = "hk"
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _passwords.verify(password, _DUMMY_HASH)
        return False
    try:
        return _passwords.verify(password, password_hash)
    except Exception:
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class NewApiKey:
    prefix: str
    secret: str  # the whole key, shown once
    key_hash: str


def new_api_key() -> NewApiKey:
    prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(prefix=prefix, secret=secret, key_hash=sha256_hex(secret))


def api_key_prefix(secret: str) -> str | None:
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]
