"""The webhooks' HTTP client: no call reaches a private, loopback or link-local address unless allowed, and the
socket goes to the very address that was checked (activities/outbound_http.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.outbound_http import BlockedAddress, address_problem, guarded_http_client


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),  # the cloud metadata service
        ("10.1.2.3", "a private address"),
        ("192.168.0.10", "a private address"),
        ("172.16.5.4", "a private address"),
        ("fd00::1", "a private address"),
        ("::ffff:127.0.0.1", "a loopback address"),  # an IPv4-mapped IPv6 address is judged as IPv4
        ("0.0.0.0", "a private address"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("224.0.0.1", "a multicast address"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_problem(address: str, problem: str | None) -> None:
    assert address_problem(address) == problem


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A bare HTTP server on 127.0.0.1 that answers 200 and keeps each request's head."""
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port, heads


async def test_a_loopback_url_is_refused_before_any_connection(receiver) -> None:
    port, heads = receiver
    async with guarded_http_client() as client:
        for url in (f"http://127.0.0.1:{port}/hook", f"http://localhost:{port}/hook", f"http://[::1]:{port}/"):
            with pytest.raises(BlockedAddress, match="webhooks only call public addresses"):
                await client.get(url)
    assert heads == []


async def test_a_name_resolving_to_any_private_address_is_refused(receiver) -> None:
    port, heads = receiver

    async def resolve(host: str, _port: int) -> list[str]:
        return ["8.8.8.8", "127.0.0.1"]

    async with guarded_http_client(resolve=resolve) as client:
        with pytest.raises(BlockedAddress, match=r"hooks\.example\.test is a loopback address \(127\.0\.0\.1\)"):
            await client.post(f"http://hooks.example.test:{port}/hook", content=b"{}")
    assert heads == []


async def test_the_connection_goes_to_the_checked_address_with_the_urls_host(receiver) -> None:
    """Resolved once, connected to that address: a second answer of the resolver (DNS rebinding) is never used."""
    port, heads = receiver
    answers = [["127.0.0.1"], ["10.9.9.9"]]
    asked: list[str] = []

    async def resolve(host: str, _port: int) -> list[str]:
        asked.append(host)
        return answers.pop(0)

    async with guarded_http_client(allow_private=True, resolve=resolve) as client:
        response = await client.get(f"http://hooks.example.test:{port}/hook?lead=7")
    assert response.status_code == 200 and response.text == "ok"
    assert asked == ["hooks.example.test"]
    assert heads[0].startswith(b"GET /hook?lead=7 HTTP/1.1\r\n")
    assert f"Host: hooks.example.test:{port}".encode() in heads[0]


async def test_redirects_are_not_followed() -> None:
    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(redirect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, guarded_http_client(allow_private=True) as client:
        response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 302 and response.is_redirect
    assert isinstance(response.next_request, httpx.Request)  # offered, not taken
