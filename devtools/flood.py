"""Many unauthenticated requests at once, each on a connection of its own, each counted
by the brake under an address of its own: what tests/e2e/test_unauthenticated_flood.py
and bench/unauthenticated_flood.py send a web process behind one trusted proxy
(TRUSTED_PROXY_HOPS=1), so that every request costs the brake a Redis call."""

from __future__ import annotations

import asyncio
import time

from devtools.raw_http import read_answer

REFRESH = "/admin/whatsapp/version/refresh"


def wrong_guess(number: int) -> bytes:
    """A refresh with a wrong secret, forwarded for the address 10.x.y.z numbered `number`."""
    address = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
    return (
        f"POST {REFRESH} HTTP/1.1\r\nHost: x\r\nX-Admin-Secret: wrong\r\n"
        f"X-Forwarded-For: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode()


async def one_request(port: int, request: bytes, within: float) -> tuple[int | None, float]:
    """Its status (None: no answer within `within` s) and its seconds from connecting."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request)
                status = await read_answer(reader)
            finally:
                writer.close()
    except (OSError, TimeoutError, ValueError, IndexError):
        return None, time.perf_counter() - started
    return status, time.perf_counter() - started


async def flood(port: int, count: int, *, within: float = 30.0) -> list[tuple[int | None, float]]:
    """`count` wrong guesses sent at once, each from an address of its own."""
    return list(
        await asyncio.gather(*(one_request(port, wrong_guess(n), within) for n in range(count)))
    )
