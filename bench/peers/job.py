"""The job every peer queue runs: fetch the version, HSET it, PUBLISH it.

The same work the worker does per refresh, written with only httpx and redis-py so it
also runs in the arq virtualenv (arq 0.28 needs redis-py < 6). Sync for rq, async for arq.
"""

from __future__ import annotations

import json
import re

import httpx
import redis
import redis.asyncio

REVISION = re.compile(rb'\\?"client_revision\\?":\s*(\d+)')
# worker.sources.BROWSER_HEADERS, copied (this file cannot import the project in the arq
# virtualenv): the stub upstream, as the real one, answers 400 without them.
HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/148.0.0.0 Safari/537.36"
    ),
    "Accept": (
        "text/html,application/xhtml+xml,application/xml;q=0.9,"
        "image/avif,image/webp,image/apng,*/*;q=0.8"
    ),
    "Accept-Language": "en-US,en;q=0.9",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-User": "?1",
}

_http: httpx.Client | None = None
_redis: redis.Redis | None = None


def _parse(body: bytes) -> tuple[str, str]:
    """The version string and the message announcing it."""
    match = REVISION.search(body)
    if match is None:
        raise ValueError("client_revision not found")
    string = f"2.3000.{int(match.group(1))}"
    return string, json.dumps({"string": string})


def refresh(url: str, redis_url: str, prefix: str) -> str:
    """rq's job: sync, with clients kept between jobs as a real deployment would."""
    global _http, _redis
    _http = _http or httpx.Client(headers=HEADERS)
    _redis = _redis or redis.Redis.from_url(redis_url, decode_responses=True)
    string, message = _parse(_http.get(url).content)
    _redis.hset(f"{prefix}:version", "string", string)
    _redis.publish(f"{prefix}:version-changed", message)
    return string


_async_http: httpx.AsyncClient | None = None
_async_redis: redis.asyncio.Redis | None = None


async def refresh_async(ctx: dict[str, object], url: str, redis_url: str, prefix: str) -> str:
    """arq's job: the same, with asyncio clients."""
    global _async_http, _async_redis
    _async_http = _async_http or httpx.AsyncClient(headers=HEADERS)
    _async_redis = _async_redis or redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    string, message = _parse((await _async_http.get(url)).content)
    await _async_redis.hset(f"{prefix}:version", "string", string)
    await _async_redis.publish(f"{prefix}:version-changed", message)
    return string
