"""Content codings against httpx.MockTransport: what the worker asks for, what it decodes,
what it refuses, and that no body makes it produce more than FETCH_MAX_BYTES."""

from __future__ import annotations

import gzip
import re
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from devtools.hostile_upstream import gzipped_zeros
from shared.errors import FetchError, TransientFetchError
from tests.worker.test_fetch import (
    HOME,
    HOME_BODY,
    SW,
    SW_BODY,
    CountingBody,
    Handler,
    fetcher,
    served,
)

CAP = 1 << 20  # FETCH_MAX_BYTES in these tests


def answering(sw: httpx.Response) -> tuple[list[str], Handler]:
    """sw.js answered with `sw`, the home page with its plain body; the URLs asked for."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return sw if str(request.url) == SW else served(200, HOME_BODY)

    return calls, handler


async def sw_refusal(sw: httpx.Response, **changes: Any) -> str:
    """The error fetching sw.js alone, answered `sw`, gives: asked for once, not retried."""
    calls, handler = answering(sw)
    with pytest.raises(FetchError) as caught:
        await fetcher(handler, version_urls=(SW,), fetch_max_bytes=CAP, **changes).fetch()
    assert not isinstance(caught.value, TransientFetchError)
    assert calls == [SW]
    return str(caught.value).removeprefix(f"{SW}: ")


async def test_the_worker_asks_for_gzip_only() -> None:
    """Accept-Encoding: gzip, not httpx's "gzip, deflate" (nor br, which needs a package)."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        return served(200, SW_BODY)

    await fetcher(handler, version_urls=(SW,)).fetch()
    assert seen == ["gzip"]


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda body: zlib.compress(body, wbits=-zlib.MAX_WBITS)),
        ("identity", lambda body: body),
        ("GZIP, identity", gzip.compress),
    ],
    ids=["gzip", "x-gzip", "deflate-zlib", "deflate-raw", "identity", "gzip-and-identity"],
)
async def test_the_codings_a_server_may_send_are_read(
    coding: str, encode: Callable[[bytes], bytes]
) -> None:
    """gzip, its old name, deflate zlib-wrapped or bare (servers send both), none: sw.js
    read, given a byte at a time so that every boundary (the deflate sniff too) is crossed."""
    body = CountingBody(encode(SW_BODY), chunk=1)
    upstream = httpx.Response(200, headers={"Content-Encoding": coding}, content=body)
    fetched = await fetcher(lambda request: upstream, version_urls=(SW,)).fetch()
    assert fetched.version.patch == 1026131876


async def test_stacked_codings_are_refused_and_the_next_source_answers() -> None:
    """sw.js gzipped twice and labelled so: refused before any decoding, not retried; the
    home page answers."""
    twice = served(200, gzip.compress(gzip.compress(SW_BODY)), {"Content-Encoding": "gzip, gzip"})
    calls, handler = answering(twice)
    fetched = await fetcher(handler, fetch_max_bytes=CAP).fetch()
    assert (fetched.source, calls) == (HOME, [SW, HOME])
    again = served(200, gzip.compress(gzip.compress(SW_BODY)), {"Content-Encoding": "gzip, gzip"})
    assert await sw_refusal(again) == "stacked content codings refused: Content-Encoding gzip, gzip"


async def test_stacked_codings_in_two_headers_are_refused() -> None:
    """The same list split over two Content-Encoding headers."""
    response = httpx.Response(
        200,
        headers=[("Content-Encoding", "gzip"), ("Content-Encoding", "deflate")],
        stream=httpx.ByteStream(zlib.compress(gzip.compress(SW_BODY))),
    )
    assert await sw_refusal(response) == (
        "stacked content codings refused: Content-Encoding gzip, deflate"
    )


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "bogus"])
async def test_a_coding_the_worker_does_not_decode_is_refused(coding: str) -> None:
    """httpx skips a coding it does not know and reads the body as it is; the worker
    refuses it, even when the body would match as it is."""
    response = served(200, SW_BODY, {"Content-Encoding": coding})
    assert await sw_refusal(response) == (
        f"content coding {coding!r} not supported (the worker asks for gzip)"
    )


async def test_a_truncated_gzip_is_refused_rather_than_read_short() -> None:
    """A gzip body cut in the middle of the revision's digits: httpx hands over what it
    inflated and the last digits are lost (1045818043 read as 10458…); the worker refuses."""
    whole = gzip.compress(b'["SiteData",[],{"client_revision":1045818043')
    cut = next(
        whole[:n]
        for n in range(len(whole) - 1, 0, -1)
        if re.search(rb":\d{1,9}$", zlib.decompressobj(31).decompress(whole[:n]))
    )
    assert await sw_refusal(served(200, cut, {"Content-Encoding": "gzip"})) == (
        "the gzip body is truncated"
    )


async def test_a_gzip_bomb_makes_no_more_than_the_cap() -> None:
    """64 MB of zeros in a 64 KB gzip: refused at FETCH_MAX_BYTES (1 MB) with the usual
    message, and the fetch never holds more than a couple of MB (httpx inflates each
    received chunk whole: tens of MB)."""
    bomb = gzipped_zeros(64 << 20, layers=1)
    tracemalloc.start()
    try:
        message = await sw_refusal(served(200, bomb, {"Content-Encoding": "gzip"}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == f"client_revision not found in the first {CAP} bytes of the response"
    assert peak < 2 * CAP


async def empty_deflate_blocks() -> AsyncIterator[bytes]:
    """A gzip stream that never ends and inflates to nothing: its header, then empty
    stored blocks for ever (five bytes each)."""
    compressor = zlib.compressobj(wbits=31)
    yield compressor.compress(b"") + compressor.flush(zlib.Z_SYNC_FLUSH)
    while True:
        yield b"\x00\x00\x00\xff\xff" * 1000


async def test_a_body_inflating_to_nothing_is_read_no_further_than_the_cap() -> None:
    """Endless input, no output: the raw bytes read are bounded too (counting the decoded
    bytes alone, it would be read until the timeout)."""
    endless = httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, content=empty_deflate_blocks()
    )
    message = await sw_refusal(endless, fetch_timeout=2.0, fetch_attempts=1)
    assert message == f"client_revision not found in the first {CAP} bytes of the response"
