"""Connections that announce a body and then stop sending it: what the end-to-end tests
and bench/held_connections.py hold against a web process.

Each connection comes from a loopback address of its own choosing (127.0.0.2,
127.0.0.3, …: every 127.x.y.z is this machine), so one "client address" can hold many
while another is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass

# Announces a megabyte; once answered (the route reads no body), sends one byte of it
# (HELD_AFTER): uvicorn cancels its keep-alive timer on that byte and never re-arms it,
# and then the connection waits on the client.
HELD_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
HELD_AFTER = b"x"
# The status of an attempt the server reset before its status line was read: a refused
# connection is closed at once, and the request it had already sent makes the close a
# reset, which may overtake the 503 written before it.
RESET = 0


@dataclass
class Attempt:
    """One connection: the status it was answered (None: no answer, or no connection;
    RESET: reset by the server)."""

    status: int | None
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def closed_within(self, seconds: float) -> bool:
        """Whether the server closes this connection within `seconds` (no connection: yes)."""
        if self.reader is None:
            return True
        try:
            async with asyncio.timeout(seconds):
                while await self.reader.read(65536):
                    pass  # whatever else the server says before closing
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def attempt(
    port: int,
    source: str,
    request: bytes = HELD_REQUEST,
    *,
    after: bytes = HELD_AFTER,
    within: float = 10.0,
) -> Attempt:
    """Connect to 127.0.0.1:`port` from `source`, send `request`, read the status line,
    then send `after`."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), within
        )
    except (OSError, TimeoutError):
        return Attempt(None)
    try:
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), within)
    except ConnectionResetError:
        return Attempt(RESET, reader, writer)
    except (OSError, TimeoutError):
        return Attempt(None, reader, writer)
    writer.write(after)
    with contextlib.suppress(IndexError, ValueError):
        return Attempt(int(line.split()[1]), reader, writer)
    return Attempt(None, reader, writer)


async def held_attempts(
    port: int, source: str, count: int, *, after: bytes = HELD_AFTER, within: float = 10.0
) -> list[Attempt]:
    """`count` attempts from `source`, all at once."""
    started = (attempt(port, source, after=after, within=within) for _ in range(count))
    return list(await asyncio.gather(*started))


def open_files(pid: int) -> int:
    """How many files the process `pid` holds open (its sockets among them)."""
    return len(os.listdir(f"/proc/{pid}/fd"))
