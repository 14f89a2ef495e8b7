"""A small keep-alive HTTP/1.1 load generator, cheap enough per request to load uvicorn.

    python -m bench.load URL --seconds 5 --connections 32 [--header 'Name: value'] [--method GET]

Each connection sends a request, reads the whole answer (by Content-Length), and sends
the next. Prints JSON: requests, non-2xx answers, seconds, requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.parse

from devtools.raw_http import read_answer


async def connection(host: str, port: int, request: bytes, until: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < until:
            writer.write(request)
            status = await read_answer(reader)
            counts[0] += 1
            if not 200 <= status < 300:
                counts[1] += 1
    finally:
        writer.close()


async def run(
    url: str, seconds: float, connections: int, headers: list[str], method: str = "POST"
) -> dict[str, float]:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *headers]
    request = ("\r\n".join([*lines, "Content-Length: 0", "", ""])).encode()
    counts = [0, 0]
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(connection(host, port, request, until, counts) for _ in range(connections))
    )
    elapsed = time.monotonic() - started
    return {
        "requests": counts[0],
        "failed": counts[1],
        "seconds": elapsed,
        "rps": counts[0] / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--method", default="POST")
    args = parser.parse_args()
    figures = run(args.url, args.seconds, args.connections, args.header, args.method)
    print(json.dumps(asyncio.run(figures)))


if __name__ == "__main__":
    main()
