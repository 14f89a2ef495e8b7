"""Hostile input against the real processes: with the secret and without it.

Nothing a client sends may fill Redis or the web's memory, get someone else blocked,
hold a connection forever, be answered with a redirect it chose, or turn into a 500;
credentials in a source URL are never shown.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import Callable

import httpx
import pytest
from redis.asyncio import Redis

from devtools.processes import memory_mb
from devtools.raw_http import read_answer
from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.conftest import SECRET
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process, strings
from tests.support import AUTH, REFRESH, VERSION, wait_until

pytestmark = pytest.mark.slow

FORGED_REQUESTS = 10_000
PROXY_ENTRY = "198.51.100.7"  # what the trusted proxy appends: the attacker's real address


async def auth_keys(redis: Redis, keys: ServiceKeys) -> list[str]:
    return [key async for key in redis.scan_iter(match=keys.auth_failures("*"))]


async def stored(redis: Redis, keys: ServiceKeys) -> dict[str, int]:
    """Every key under the test's prefix and the bytes Redis holds for it (MEMORY USAGE):
    what requests could fill, without the client buffers (they come and go with the
    connections, and INFO's used_memory counts them with every other test's)."""
    names = [key async for key in redis.scan_iter(match=f"{keys.prefix}:*")]
    return {name: int(await redis.memory_usage(name) or 0) for name in names}


@pytest.mark.server_sensitive
async def test_ten_thousand_forged_addresses_fill_nothing(
    start_web: Callable[..., Process], redis: Redis, keys: ServiceKeys
) -> None:
    """10,000 wrong guesses, each with a different made-up address and 4 KB of junk in front of
    the entry our proxy appends (TRUSTED_PROXY_HOPS=1, as on Heroku): one brake key added
    in Redis and a few bytes stored, the web's RSS about where it was, every answer
    401/429."""
    web = start_web(TRUSTED_PROXY_HOPS="1", AUTH_FAILURE_LIMIT="10")
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        await client.get(VERSION, headers=AUTH)  # the web's own allocations made once
    rss_before = memory_mb(web)
    stored_before = await stored(redis, keys)

    def guess() -> bytes:
        made_up = ".".join(str(b) for b in secrets.token_bytes(4))
        forged = f"{made_up}, {secrets.token_hex(2048)}, {PROXY_ENTRY}"
        return (
            f"GET {VERSION} HTTP/1.1\r\nHost: test\r\nX-Admin-Secret: guess\r\n"
            f"X-Forwarded-For: {forged}\r\n\r\n"
        ).encode()

    # On 50 keep-alive connections from a client of a few lines, so that the web does the
    # work (an HTTP client library would cost more CPU than the server).
    per_connection = FORGED_REQUESTS // 50
    batches = await asyncio.gather(
        *(
            on_one_connection(web.base_url, [guess() for _ in range(per_connection)])
            for _ in range(50)
        )
    )
    statuses = [status for batch in batches for status in batch]
    stored_after = await stored(redis, keys)
    assert set(statuses) == {401, 429}
    assert len(statuses) == FORGED_REQUESTS
    assert await auth_keys(redis, keys) == [keys.auth_failures(PROXY_ENTRY)]
    assert set(stored_after) - set(stored_before) == {keys.auth_failures(PROXY_ENTRY)}
    # The one counter (an integer and its expiry); nothing else grew.
    assert sum(stored_after.values()) - sum(stored_before.values()) < 512
    assert memory_mb(web) - rss_before < 16


async def test_without_a_trusted_proxy_forwarded_for_counts_for_nothing(
    start_web: Callable[..., Process], redis: Redis, keys: ServiceKeys
) -> None:
    """With TRUSTED_PROXY_HOPS unset, made-up X-Forwarded-For values are ignored: every
    guess counts against the connection's own address, so the guesser is blocked."""
    web = start_web(AUTH_FAILURE_LIMIT="3")
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        statuses = [
            (
                await client.get(
                    VERSION, headers={"X-Forwarded-For": f"192.0.2.{i}", "X-Admin-Secret": "x"}
                )
            ).status_code
            for i in range(6)
        ]
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert await auth_keys(redis, keys) == [keys.auth_failures("127.0.0.1")]


async def on_one_connection(base_url: str, requests: list[bytes]) -> list[int]:
    """Send `requests` one after another on one keep-alive connection, each once the
    previous one is answered; the status of each answer, in order."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    statuses = []
    try:
        for request in requests:
            writer.write(request)
            statuses.append(await read_answer(reader))
    finally:
        writer.close()
    return statuses


def raw_exchange(base_url: str, request: bytes, *, within: float = 30) -> bytes:
    """Send `request` bytes as they are; everything the server answers until it closes."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=within) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received


def envelope_of(answer: bytes) -> dict[str, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/json" in head.lower(), head
    data: dict[str, object] = json.loads(body)
    return data


async def test_a_client_sending_its_headers_a_byte_at_a_time_is_cut_off(
    start_web: Callable[..., Process],
) -> None:
    """Headers that have not all arrived HEADER_TIMEOUT after the connection opened: a 408
    envelope and the connection closed, instead of a connection held forever."""
    web = start_web(HEADER_TIMEOUT="1s")
    answer = await asyncio.to_thread(raw_exchange, web.base_url, b"GET /healthz HTTP/1.1\r\nHo")
    assert answer.startswith(b"HTTP/1.1 408")
    assert envelope_of(answer) == {
        "status": False,
        "code": 408,
        "message": "Request timeout",
        "error": "the request headers did not arrive within 1s",
    }


async def test_malformed_http_gets_the_envelope(start_web: Callable[..., Process]) -> None:
    """A request line that is not HTTP is answered 400 in the JSON envelope."""
    web = start_web()
    answer = await asyncio.to_thread(raw_exchange, web.base_url, b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert envelope_of(answer) == {
        "status": False,
        "code": 400,
        "message": "Bad request",
        "error": "the request is not valid HTTP/1.1",
    }


async def test_no_redirect_is_built_from_the_host_header(
    start_web: Callable[..., Process],
) -> None:
    """`/healthz/` with `Host: evil.example` is a 404 envelope, not a 307 to evil.example."""
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        response = await client.get("/healthz/", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_bad_bodies_and_queries_are_400s_with_the_request_id(
    start_web: Callable[..., Process],
) -> None:
    """2,000 nested `[` in a pin, a history limit of 5,000 digits: 400 envelopes that
    carry the request id; nothing logged at error level."""
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        nested = await client.put(
            VERSION, content=b'{"version":' + b"[" * 2000 + b"}", headers=AUTH
        )
        digits = await client.get(
            "/admin/whatsapp/version/history", params={"limit": "9" * 5000}, headers=AUTH
        )
    for response in (nested, digits):
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 400
        assert response.headers["x-request-id"]
    assert nested.json()["error"] == "the body is nested too deeply"
    assert '"level": "error"' not in web.output


async def test_a_client_leaving_mid_body_is_no_error(start_web: Callable[..., Process]) -> None:
    """A PUT whose body stops halfway and whose connection closes: an info line, no
    error-level traceback, and the web goes on answering."""
    web = start_web()
    secret = SECRET.encode()
    request = (
        b"PUT /admin/whatsapp/version HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
        b"X-Admin-Secret: " + secret + b'\r\n\r\n{"version": "2.3000'
    )
    host, port = web.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
    await wait_until(lambda: "went away before sending its whole body" in web.output, within=10)
    assert '"level": "error"' not in web.output
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize("padded", [f"{SECRET} ", f"{SECRET}\t", f" {SECRET}", f"\t{SECRET} "])
async def test_whitespace_around_the_secret_is_ignored_on_both_sides(
    start_web: Callable[..., Process], padded: str
) -> None:
    """RFC 9110: a header value's surrounding spaces and tabs are not part of it."""
    web = start_web()
    request = (
        b"GET /admin/whatsapp/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"X-Admin-Secret: " + padded.encode() + b"\r\n\r\n"
    )
    answer = await asyncio.to_thread(raw_exchange, web.base_url, request)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


async def test_credentials_in_a_source_url_are_never_shown(
    launch: Launcher, start_web: Callable[..., Process], upstream: StubUpstream, redis: Redis
) -> None:
    """WA_VERSION_URL with user:password: the API's source and last_error, the published
    message, the history, the watcher's output and every log show the URL without them."""
    good = upstream.url("/sw.js").replace("http://", "http://mirror-user:mirror-pass@")
    bad = upstream.url("/gone.js").replace("http://", "http://mirror-user:mirror-pass@")
    worker = launch("worker", WA_VERSION_URL=good)
    watcher = launch("watcher")
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        fetched = (await client.post(REFRESH, headers=AUTH)).json()["data"]
        await wait_until(lambda: len(strings(watcher)) == 1, within=20)
        worker.stop()
        failing = launch("worker", WA_VERSION_URL=bad)
        upstream.configure(status=404)
        failed = (await client.post(REFRESH, headers=AUTH)).json()
        history = (await client.get("/admin/whatsapp/version/history", headers=AUTH)).text
    assert fetched["source"] == upstream.url("/sw.js")
    assert failed["error"].startswith(upstream.url("/gone.js") + ": ")
    shown = [json.dumps(fetched), json.dumps(failed), history]
    shown += [process.output for process in (worker, failing, watcher, web)]
    for text in shown:
        assert "mirror-pass" not in text
        assert "mirror-user" not in text
