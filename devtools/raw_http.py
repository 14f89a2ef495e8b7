"""Reading HTTP/1.1 answers off a raw connection: for clients that must cost the server's
side nothing extra (the bench's load generator, a test sending 10,000 requests)."""

from __future__ import annotations

import asyncio


async def read_answer(reader: asyncio.StreamReader) -> int:
    """Read one whole answer (its body by Content-Length); its status code."""
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])
