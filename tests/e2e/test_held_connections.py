"""Connections held against the real web process: every state in which it waits on the
client has a deadline, and no one address can take the process's open files.

Clients come from distinct loopback addresses (127.0.0.2, 127.0.0.3, …), which the web
sees as distinct peers.
"""

from __future__ import annotations

import asyncio
import resource
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from devtools.held_connections import RESET, Attempt, attempt, held_attempts, open_files
from devtools.raw_http import read_answer
from tests.conftest import SECRET
from tests.e2e.processes import Process
from tests.support import REFRESH, VERSION, wait_until

pytestmark = pytest.mark.slow

BODY_TIMEOUT = 1.0
MARGIN = 3.0  # for a loaded machine: the deadline is the web's, the margin the test's
KEEP_ALIVE = 5.0  # uvicorn's default; the Procfile leaves it


def port_of(web: Process) -> int:
    return int(web.base_url.rsplit(":", 1)[1])


def stopping_body(method: str, path: str, *headers: str) -> bytes:
    """The head of a request announcing a megabyte of body."""
    lines = [f"{method} {path} HTTP/1.1", "Host: x", "Content-Length: 1000000", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


CASES = {
    "answered 200 (healthz)": (stopping_body("GET", "/healthz"), 200),
    "answered 401 (no secret)": (stopping_body("POST", REFRESH), 401),
    "answered 429 (the brake)": (stopping_body("POST", REFRESH, "X-Admin-Secret: no"), 429),
    "not answered (a route reading the body)": (
        stopping_body("PUT", VERSION, f"X-Admin-Secret: {SECRET}"),
        408,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_body_that_stops_is_closed_at_the_body_deadline(
    start_web: Callable[..., Process], case: str
) -> None:
    """Content-Length 1,000,000, and one byte of it once answered (for the route reading
    the body, which answers at the deadline, before): the connection is closed within
    BODY_TIMEOUT, below uvicorn's keep-alive (5 s), which that byte cancels."""
    request, status = CASES[case]
    before, after = (b"x", b"") if status == 408 else (b"", b"x")
    web = start_web(BODY_TIMEOUT=f"{BODY_TIMEOUT:g}s", AUTH_FAILURE_LIMIT="1")
    if status == 429:  # the brake: one failure allowed, the second blocks
        for _ in range(2):
            (await attempt(port_of(web), "127.0.0.2", stopping_body("POST", REFRESH))).close()
    held = await attempt(port_of(web), "127.0.0.2", request + before, after=after)
    try:
        assert held.status == status
        assert await held.closed_within(BODY_TIMEOUT + MARGIN)
    finally:
        held.close()


async def test_an_idle_keep_alive_closes_at_its_timeout_even_after_a_stray_byte(
    start_web: Callable[..., Process],
) -> None:
    """A whole request answered, then a CRLF that starts no request (uvicorn cancels its
    keep-alive timer on any byte): still closed at the keep-alive timeout."""
    web = start_web()
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port_of(web), local_addr=("127.0.0.2", 0)
    )
    held = Attempt(None, reader, writer)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        # The whole answer read first: its last byte is written just before uvicorn arms
        # its keep-alive timer, in the same step; the CRLF arrives after, and cancels it.
        assert await read_answer(reader) == 200
        writer.write(b"\r\n")
        assert await held.closed_within(KEEP_ALIVE + MARGIN)
    finally:
        held.close()


async def test_one_address_holding_connections_leaves_room_for_another(
    start_web: Callable[..., Process],
) -> None:
    """The web limited to 300 open files; 2,000 held attempts from 127.0.0.2: the first
    MAX_CONNECTIONS_PER_ADDRESS (100 by default) are served, every other is answered 503
    as it opens, and a request from 127.0.0.3 is answered meanwhile."""
    web = start_web()
    resource.prlimit(web.popen.pid, resource.RLIMIT_NOFILE, (300, 300))
    held = await held_attempts(port_of(web), "127.0.0.2", 2000)
    try:
        statuses = Counter(a.status for a in held)
        assert statuses[200] == 100
        assert statuses[503] + statuses[RESET] == 1900  # every other refused as it opened
        async with httpx.AsyncClient(timeout=10) as client:
            other = await client.get(f"{web.base_url}/healthz")  # from 127.0.0.1
        assert other.status_code == 200
        assert open_files(web.popen.pid) < 300
    finally:
        for one in held:
            one.close()


async def test_the_connections_in_all_are_bounded_too(start_web: Callable[..., Process]) -> None:
    """MAX_CONNECTIONS=30, from three addresses: 30 served, the rest refused with a 503
    (or a reset overtaking it), the web's log naming the limit."""
    web = start_web(MAX_CONNECTIONS="30")
    batches = await asyncio.gather(
        *(held_attempts(port_of(web), f"127.0.0.{n}", 15, after=b"") for n in (2, 3, 4))
    )
    held = [one for batch in batches for one in batch]
    try:
        statuses = Counter(a.status for a in held)
        assert statuses[200] == 30
        assert statuses[503] + statuses[RESET] == 15
        assert "the last: the server holds 30 connections, its limit" in web.output
    finally:
        for one in held:
            one.close()


async def test_a_websocket_upgrade_leaves_the_connection_counted_and_timed(
    start_web: Callable[..., Process],
) -> None:
    """The API serves no WebSocket: an upgrade request is an HTTP request
    like any other, answered 404 on a connection the guard still counts and releases;
    with 2 allowed per address, 5 in turn, each closed by the client, leave room for
    a sixth request."""
    web = start_web(MAX_CONNECTIONS_PER_ADDRESS="2")
    upgrade = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    for _ in range(5):
        answered = await attempt(port_of(web), "127.0.0.2", upgrade, after=b"")
        answered.close()
        assert answered.status == 404

    async def served() -> bool:
        """A request from the same address is served (the web sees each close a moment
        after the client does)."""
        held = await attempt(
            port_of(web), "127.0.0.2", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", after=b""
        )
        held.close()
        return held.status == 200

    await wait_until(served, within=10)
