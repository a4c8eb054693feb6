"""Fetches the certificates SNS signs with (`SigningCertURL`), once per URL per process.

Only URLs accepted by `domain.sns.is_sns_certificate_url` reach this; the HTTPS connection to AWS's host is what
vouches for the certificate. Tests replace the fetcher (api/routes/public_inbound_bounces.py,
`sns_certificate_fetcher`) with one that hands out their own self-signed certificate.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import httpx

MAX_CERTIFICATE_BYTES = 64 << 10
MAX_CACHED = 32  # AWS rotates certificates rarely; a handful of regions at most


class CertificateFetchError(Exception):
    pass


class CertificateFetcher(Protocol):
    async def get(self, url: str) -> bytes: ...


class SnsCertificates:
    """`await get(url)`: the PEM bytes at `url`, from an in-process cache after the first fetch."""

    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self.timeout_seconds = timeout_seconds
        self._cache: dict[str, bytes] = {}
        self._lock = asyncio.Lock()

    async def get(self, url: str) -> bytes:
        cached = self._cache.get(url)
        if cached is not None:
            return cached
        async with self._lock:
            if url not in self._cache:
                pem = await self._fetch(url)
                if len(self._cache) >= MAX_CACHED:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[url] = pem
            return self._cache[url]

    async def _fetch(self, url: str) -> bytes:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False) as client:
                response = await client.get(url)
        except httpx.HTTPError as exc:
            raise CertificateFetchError(f"fetching {url}: {exc}") from exc
        if response.status_code != 200 or len(response.content) > MAX_CERTIFICATE_BYTES:
            raise CertificateFetchError(f"fetching {url}: HTTP {response.status_code}, {len(response.content)} bytes")
        return response.content
