"""What the web process relies on in uvicorn (api/protocol.py), pinned to the releases it
was checked with: uvicorn serves through GuardedHttpProtocol, in this process, on
loopback, and each override must still be called where it was."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api import protocol
from api.protocol import GuardedHttpProtocol

RECHECK = "re-check api/protocol.py against this uvicorn"
HEADER_TIMEOUT = 0.3


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, then answers 200 with it."""
    if scope["type"] != "http":
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
    monkeypatch.setattr(GuardedHttpProtocol, "header_timeout", HEADER_TIMEOUT)
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", http=GuardedHttpProtocol)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the server
            await asyncio.sleep(0.01)  # polling a condition; the loop ends with the task
        yield listening.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        listening.close()


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
