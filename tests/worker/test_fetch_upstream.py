"""VersionFetcher with the worker's own HTTP client against the stub upstream over loopback:
the gate, encodings, redirects, the page's size, and the faults that hand over to the next
source or are retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from devtools.stub_upstream import MOBILE_PATH, StubUpstream
from shared.errors import FetchError, TransientFetchError
from shared.settings import Settings
from tests.support import wait_until
from worker.fetch import MAX_ERROR_DETAIL, Fetched, VersionFetcher
from worker.main import upstream_client
from worker.redirects import MAX_REDIRECTS

REVISION = 1045818043
FALLBACK_REVISION = 1045818044


@pytest.fixture
def fallback() -> Iterator[StubUpstream]:
    """A second, healthy upstream: the next source, serving a revision of its own."""
    stub = StubUpstream().start()
    stub.configure(revision=FALLBACK_REVISION)
    yield stub
    stub.stop()


async def fetch(*urls: str, **changes: Any) -> Fetched:
    """One fetch through the client `run_worker` uses (its redirects, its timeout)."""
    base = Settings(version_urls=urls, fetch_backoff=0.01, fetch_attempts=3, fetch_timeout=5.0)
    settings = replace(base, **changes)
    async with upstream_client(settings) as client:
        return await VersionFetcher(settings, client).fetch()


@pytest.fixture(autouse=True)
def serving(upstream: StubUpstream) -> None:
    upstream.configure(revision=REVISION)


@pytest.mark.parametrize("path", ["/sw.js", "/"])
async def test_the_worker_passes_the_gate(upstream: StubUpstream, path: str) -> None:
    """The stub's gate is on (a plain client gets a 400, tests/devtools): the worker's
    headers get sw.js and the 580 KB home page. A regression in BROWSER_HEADERS fails here."""
    assert upstream.behaviour.gate
    fetched = await fetch(upstream.url(path))
    assert fetched.version.patch == REVISION
    assert upstream.headers_seen[0]["Sec-Fetch-Site"] == "none"


@pytest.mark.parametrize(
    "behaviour",
    [{"gzip": True}, {"chunked": True}, {"gzip": True, "chunked": True}],
    ids=["gzip", "chunked", "gzip+chunked"],
)
async def test_encoded_home_pages_are_read(
    upstream: StubUpstream, behaviour: dict[str, Any]
) -> None:
    """Content-Encoding: gzip and Transfer-Encoding: chunked (no Content-Length): the revision."""
    upstream.configure(**behaviour)
    assert (await fetch(upstream.url("/"))).version.patch == REVISION


async def test_a_302_to_the_file_is_followed(upstream: StubUpstream) -> None:
    """sw.js moved: the redirect is followed to the file, which answers."""
    upstream.configure(redirect=True)
    fetched = await fetch(upstream.url("/sw.js"))
    assert fetched.version.patch == REVISION
    assert upstream.paths_seen == ["/sw.js", "/moved/sw.js"]


async def test_a_redirect_loop_hands_over_to_the_next_source(
    upstream: StubUpstream, fallback: StubUpstream
) -> None:
    """A loop is cut after MAX_REDIRECTS (5) redirects, not retried; the next source answers."""
    upstream.configure(redirect_loop=True)
    fetched = await fetch(upstream.url("/sw.js"), fallback.url("/"))
    assert (fetched.source, fetched.version.patch) == (fallback.url("/"), FALLBACK_REVISION)
    assert upstream.fetches == 1 + MAX_REDIRECTS
    assert fallback.fetches == 1


async def test_a_body_that_is_not_its_gzip_hands_over_to_the_next_source(
    upstream: StubUpstream, fallback: StubUpstream
) -> None:
    """Content-Encoding: gzip on a plain body: refused, not retried; the next answers."""
    upstream.configure(bogus_gzip=True)
    fetched = await fetch(upstream.url("/sw.js"), fallback.url("/"))
    assert fetched.source == fallback.url("/")
    assert upstream.fetches == 1


async def test_the_mobile_page_hands_over_to_the_next_source(
    upstream: StubUpstream, fallback: StubUpstream
) -> None:
    """Taken for a mobile browser: the 302 to a page without the field; the next answers."""
    upstream.configure(mobile=True)
    fetched = await fetch(upstream.url("/"), fallback.url("/sw.js"))
    assert fetched.source == fallback.url("/sw.js")
    assert upstream.paths_seen == ["/", MOBILE_PATH]


async def test_every_source_failing_names_each(
    upstream: StubUpstream, fallback: StubUpstream
) -> None:
    """A redirect loop at one source, the mobile page at the next: one FetchError naming
    both, and no retry (neither would answer otherwise on a second try)."""
    upstream.configure(redirect_loop=True)
    fallback.configure(mobile=True)
    with pytest.raises(FetchError) as caught:
        await fetch(upstream.url("/sw.js"), fallback.url("/"))
    assert not isinstance(caught.value, TransientFetchError)
    assert str(caught.value) == (
        f"{upstream.url('/sw.js')}: TooManyRedirects: Exceeded maximum allowed redirects.; "
        f"{fallback.url('/')}: client_revision not found in the response"
    )
    assert (upstream.fetches, fallback.fetches) == (1 + MAX_REDIRECTS, 2)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_the_largest_home_page_passes_a_cap_smaller_than_it(
    upstream: StubUpstream, chunked: bool
) -> None:
    """1,050,827 bytes, the field at 82 KB, FETCH_MAX_BYTES 256 KiB: the revision."""
    upstream.configure(page_size=1_050_827, first_at=82_000, chunked=chunked)
    fetched = await fetch(upstream.url("/"), fetch_max_bytes=256 * 1024)
    assert fetched.version.patch == REVISION


async def test_a_cap_below_the_first_match_refuses_the_page(upstream: StubUpstream) -> None:
    """The field at 82 KB, FETCH_MAX_BYTES 64 KiB: not found within the cap, not retried."""
    upstream.configure(first_at=82_000)
    with pytest.raises(FetchError, match="not found in the first 65536 bytes") as caught:
        await fetch(upstream.url("/"), fetch_max_bytes=65536)
    assert not isinstance(caught.value, TransientFetchError)
    assert upstream.fetches == 1


async def failing_once(upstream: StubUpstream, **failure: Any) -> Fetched:
    """The first fetch gets `failure`, the next ones the page; the fetch's outcome."""
    upstream.configure(**failure)
    upstream.hold()
    task = asyncio.create_task(fetch(upstream.url("/sw.js")))
    try:
        await wait_until(lambda: upstream.fetches == 1)  # it has its behaviour: the failure
        upstream.configure(status=200, retry_after="")
    finally:
        upstream.release()
    return await task


async def test_a_429_is_retried_after_its_retry_after(upstream: StubUpstream) -> None:
    """429 with Retry-After: 1, then the page: the retry comes no sooner than a second later."""
    fetched = await failing_once(upstream, status=429, retry_after="1")
    assert fetched.version.patch == REVISION
    first, second = upstream.fetch_times
    assert second - first >= 1.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_is_retried(upstream: StubUpstream, status: int) -> None:
    """A 5xx, then the page: the retry answers."""
    fetched = await failing_once(upstream, status=status)
    assert fetched.version.patch == REVISION
    assert upstream.fetches == 2


async def test_each_fetch_reports_the_build_its_request_reached(upstream: StubUpstream) -> None:
    """A rollout serving a newer build then an older one: each fetch reports what it got
    (whether to apply it is the store's decision, not the fetcher's)."""
    upstream.configure(rollout=[1045164762, 1045155773])
    first = await fetch(upstream.url("/"))
    second = await fetch(upstream.url("/"))
    assert (first.version.patch, second.version.patch) == (1045164762, 1045155773)


@pytest.fixture
async def illegal_status_line() -> AsyncIterator[str]:
    """A loopback server that answers every request with an illegal status line of 15 KB:
    httpx's error quotes the line, upstream's own bytes, in its message."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 2x0 <script>alert(1)</script>" + b"\xff" * 15_000 + b"\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/sw.js"


async def test_an_upstreams_long_error_is_cut_before_it_is_stored(
    illegal_status_line: str,
) -> None:
    """The failure names the source and keeps at most MAX_ERROR_DETAIL characters of the
    message, saying how long it was: it becomes last_error, shown by the API and the page."""
    with pytest.raises(FetchError) as caught:
        await fetch(illegal_status_line, fetch_attempts=1)
    message = str(caught.value)
    assert message.startswith(f"{illegal_status_line}: RemoteProtocolError: ")
    detail = message.removeprefix(f"{illegal_status_line}: ")
    assert len(detail) <= MAX_ERROR_DETAIL + len("… (99999 characters)")
    assert message.endswith(" characters)")
