"""What the web process relies on in uvicorn (api/protocol.py), pinned to the releases it
was checked with: uvicorn serves through GuardedHttpProtocol, in this process, on
loopback, and each override must still be called where it was."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from api import protocol
from api.connection_limits import ConnectionGuard, ConnectionLimits
from api.protocol import GuardedHttpProtocol
from tests.support import serving

RECHECK = "re-check api/protocol.py against this uvicorn"
HEADER_TIMEOUT = 0.3
BODY_TIMEOUT = 1.0  # longer than the pause the header test leaves before a body
KEEP_ALIVE = 1  # uvicorn takes whole seconds
PER_ADDRESS = 3


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, then answers 200 with it; on /unread, answers at once."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/unread":
        length = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": length})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    length = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": length})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def port(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """uvicorn serving `app` through GuardedHttpProtocol on a loopback port."""
    limits = ConnectionLimits(HEADER_TIMEOUT, BODY_TIMEOUT, max_per_address=PER_ADDRESS)
    monkeypatch.setattr(protocol, "FALLBACK_GUARD", ConnectionGuard(limits))
    config = uvicorn.Config(
        app,
        log_level="error",
        lifespan="off",
        http=GuardedHttpProtocol,
        timeout_keep_alive=KEEP_ALIVE,
    )
    async with serving(config) as served:
        yield served


async def exchange(port: int, *parts: bytes, pause: float = 0.0) -> bytes:
    """Send `parts`, `pause` seconds apart; everything the server answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for number, part in enumerate(parts):
            if number:
                await asyncio.sleep(pause)  # a slow client, on purpose
            writer.write(part)
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def envelope(answer: bytes) -> dict[str, object]:
    data: dict[str, object] = json.loads(answer.partition(b"\r\n\r\n")[2])
    return data


def test_the_installed_uvicorn_is_one_the_protocol_was_checked_with() -> None:
    assert uvicorn.__version__ in protocol.CHECKED_WITH, (
        f"uvicorn {uvicorn.__version__} is not one of {sorted(protocol.CHECKED_WITH)}: "
        f"{RECHECK} (every override, and this file), then add it to CHECKED_WITH"
    )


def test_every_method_the_protocol_overrides_is_there() -> None:
    gone = [name for name in protocol.RELIED_ON if not hasattr(HttpToolsProtocol, name)]
    assert gone == [], f"uvicorn's HttpToolsProtocol lost {gone}: {RECHECK}"


def test_every_attribute_the_protocol_reads_is_set_by_uvicorn() -> None:
    """Set in the constructors (or, for the protocol's, connection_made) of the installed
    uvicorn: a rename would otherwise surface as an AttributeError under traffic."""
    protocol_code = inspect.getsource(HttpToolsProtocol.__init__)
    protocol_code += inspect.getsource(HttpToolsProtocol.connection_made)
    cycle_code = inspect.getsource(RequestResponseCycle.__init__)

    def assigned(name: str, code: str) -> bool:  # `self.name = …` or `self.name: T = …`
        return re.search(rf"self\.{name}\b[^=\n]*=", code) is not None

    gone = [n for n in protocol.RELIED_ON_STATE if not assigned(n, protocol_code)]
    gone += [n for n in protocol.RELIED_ON_CYCLE if not assigned(n, cycle_code)]
    assert gone == [], f"uvicorn no longer sets {gone}: {RECHECK}"


async def test_malformed_http_is_answered_through_send_400_response(port: int) -> None:
    answer = await exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), f"{answer[:80]!r}: {RECHECK}"
    assert envelope(answer)["error"] == "the request is not valid HTTP/1.1"


async def test_headers_late_are_cut_off_after_the_connection_opened(port: int) -> None:
    """Armed by connection_made: a client that sends part of its headers gets a 408."""
    answer = await exchange(port, b"GET / HTTP/1.1\r\nHo")
    assert answer.startswith(b"HTTP/1.1 408"), f"{answer[:80]!r}: {RECHECK}"
    assert envelope(answer)["code"] == 408


async def test_the_deadline_ends_with_the_headers_and_starts_again_with_the_next(
    port: int,
) -> None:
    """Disarmed by on_headers_complete (a body slower than the deadline is fine), armed
    again by on_message_begin (the next request's headers have a deadline of their own)."""
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n"
    late_second = b"GET / HTTP/1.1\r\nHo"
    answer = await exchange(port, head, b"body" + late_second, pause=2 * HEADER_TIMEOUT)
    first, _, second = answer.partition(b"body")
    assert first.startswith(b"HTTP/1.1 200"), f"{answer[:80]!r}: {RECHECK}"
    assert second.startswith(b"HTTP/1.1 408"), f"{answer[-120:]!r}: {RECHECK}"


async def test_a_body_the_route_never_reads_has_its_deadline_too(port: int) -> None:
    """Armed by on_headers_complete, not disarmed by on_response_complete: the answer
    comes at once, one more byte of the body arrives, and the connection still closes."""
    head = b"GET /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
    answer = await exchange(port, head, b"x", pause=0.05)
    assert answer.startswith(b"HTTP/1.1 200"), f"{answer[:80]!r}: {RECHECK}"
    assert answer.endswith(b"ok"), f"{answer[-80:]!r}: {RECHECK}"


async def test_a_body_that_stops_gets_a_408_when_nothing_was_answered(port: int) -> None:
    """The cycle's response_started says nothing was answered: the 408 envelope, and the
    handler (still reading) sees the client gone."""
    answer = await exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    assert answer.startswith(b"HTTP/1.1 408"), f"{answer[:80]!r}: {RECHECK}"
    assert envelope(answer)["error"] == f"the request body did not arrive within {BODY_TIMEOUT:g}s"


async def test_a_stray_byte_between_requests_does_not_stop_the_keep_alive(port: int) -> None:
    """Armed by on_response_complete on a timer data_received does not cancel: a CRLF
    after the answer (uvicorn cancels its own keep-alive timer for it) changes nothing."""
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = await exchange(port, request, b"\r\n", pause=0.05)
    assert answer.startswith(b"HTTP/1.1 200"), f"{answer[:80]!r}: {RECHECK}"


async def test_connections_over_the_per_address_limit_are_refused_as_they_open(
    port: int,
) -> None:
    """connection_made counts, connection_lost releases: with PER_ADDRESS held, the next
    gets a 503 envelope; once one closes, a new one is served."""
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(PER_ADDRESS)]
    refused = await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert refused.startswith(b"HTTP/1.1 503"), f"{refused[:80]!r}: {RECHECK}"
    _, writer = held.pop()
    writer.close()
    await writer.wait_closed()
    request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    for _ in range(20):  # the server sees the close a moment after the client
        answer = await exchange(port, request)
        if answer.startswith(b"HTTP/1.1 200"):
            break
        await asyncio.sleep(0.05)  # polling for the release, bounded by the loop
    assert answer.startswith(b"HTTP/1.1 200"), f"{answer[:80]!r}: {RECHECK}"
    for _, writer in held:
        writer.close()


async def test_an_upgrade_request_stays_an_http_request(port: int) -> None:
    """ws_protocol_class cleared: uvicorn (with `websockets` installed) does not hand the
    connection to its WebSocket protocol; the app answers it as HTTP."""
    upgrade = (
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    answer = await exchange(port, upgrade)
    assert answer.startswith(b"HTTP/1.1 200"), f"{answer[:80]!r}: {RECHECK}"
