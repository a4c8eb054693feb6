"""An HTTP client for calls to URLs that users write (automation webhooks): it never reaches the machine's own
network unless told to.

A marketer's webhook URL must not become a way to read the cloud metadata service (169.254.169.254), the database
or the Temporal frontend next to the worker. Checking the URL's host before the call is not enough (a name can
resolve to a public address when checked and to 127.0.0.1 when connected: DNS rebinding), so the check sits in the
connection itself: the host is resolved once, every address it has must be public, and the socket is opened to the
address that was checked. TLS still verifies the certificate against the URL's host name (httpcore passes the
origin's host as the server name, whatever address the socket went to). Redirects are not followed and proxies from
the environment are ignored, so neither can lead the call elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

# host, port -> the addresses it resolves to
Resolver = Callable[[str, int], Awaitable[list[str]]]


class BlockedAddress(Exception):
    """The URL's host is (or resolves to) an address of a private, loopback, link-local or reserved network."""


def address_problem(address: str) -> str | None:
    """Why a call must not go to this address (None: a public address)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason, flagged in (
        ("a loopback address", ip.is_loopback),
        ("a link-local address", ip.is_link_local),
        ("a private address", ip.is_private),
        ("a multicast address", ip.is_multicast),
        ("an unspecified address", ip.is_unspecified),
        ("a reserved address", ip.is_reserved),
    ):
        if flagged:
            return reason
    return None if ip.is_global else "not a public address"


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, connecting only to addresses that passed `address_problem`."""

    def __init__(self, resolve: Resolver, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._resolve = resolve
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = await self._resolve(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        if not self._allow_private:
            for address in addresses:
                problem = address_problem(address)
                if problem is not None:
                    raise BlockedAddress(f"{host} is {problem} ({address}): webhooks only call public addresses")
        last: Exception | None = None
        for address in addresses:  # the checked addresses, in the resolver's order
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, resolve: Resolver, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        # The same pool httpx builds, with the guarded backend (httpx offers no public setting for it).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=50,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(resolve, allow_private),
        )


def guarded_http_client(*, allow_private: bool = False, resolve: Resolver | None = None) -> httpx.AsyncClient:
    """An AsyncClient whose connections only go to public addresses (`allow_private`: any address, for a
    deployment whose webhooks target its own network, and for tests). Raises `BlockedAddress` for a refused one."""
    transport = _GuardedTransport(resolve or system_resolver, allow_private)
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)
