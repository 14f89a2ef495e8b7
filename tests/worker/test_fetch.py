"""VersionFetcher against httpx.MockTransport: parsing, headers, retries, fallbacks, caps."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.upstream_pages import home_page, sw_js
from shared.errors import FetchError, TransientFetchError
from shared.settings import Settings
from wa_version_client.contract import WAVersion
from worker.fetch import VersionFetcher
from worker.redirects import MAX_REDIRECTS
from worker.revision import RevisionScanner, parse_revision

SW = "https://web.whatsapp.com/sw.js"
HOME = "https://web.whatsapp.com/"
SW_BODY = (
    b'self.__swData=JSON.parse(/*BTDS*/"{\\"dynamic_data\\":{\\"SiteData\\":'
    b'{\\"server_revision\\":1026131876,\\"client_revision\\":1026131876}}}");'
)
HOME_BODY = (
    b'["SiteData",[],{"server_revision":1045818043,"client_revision":1045818043,"push_phase":"C3"'
)

Handler = Callable[[httpx.Request], httpx.Response]


def served(
    status: int, content: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.Response:
    """An answer as a network transport gives it: its body still to read, raw.
    (`httpx.Response(content=bytes)` reads and decodes its body at once, so the worker,
    which reads bodies raw, would find it consumed.)"""
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))


class Answering:
    """A MockTransport handler giving the same answer every time, counting the calls.

    With `stream` set, the body is that async iterable instead of `content`.
    """

    def __init__(
        self, status: int, content: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        self.calls = 0
        self.stream: AsyncIterable[bytes] | None = None
        self._answer = (status, content, headers or {})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        status, content, headers = self._answer
        if self.stream is not None:
            return httpx.Response(status, content=self.stream, headers=headers)
        return served(status, content=content, headers=headers)


class CountingBody:
    """An upstream body given in chunks, counting the bytes the reader took."""

    def __init__(self, body: bytes, chunk: int = 16384) -> None:
        self.given = 0
        self._body = body
        self._chunk = chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), self._chunk):
            piece = self._body[start : start + self._chunk]
            self.given += len(piece)
            yield piece


class EndlessBody:
    """A body without client_revision that never ends, counting the bytes taken."""

    def __init__(self, chunk: int = 16384) -> None:
        self.given = 0
        self._chunk = chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.given += self._chunk
            yield b"x" * self._chunk


def fetcher(handler: Handler, **changes: Any) -> VersionFetcher:
    base = Settings(version_urls=(SW, HOME), fetch_backoff=0.001, fetch_attempts=3)
    settings = replace(base, **changes)
    # Redirects followed and bounded as the worker's own client does.
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(handler), follow_redirects=True, max_redirects=MAX_REDIRECTS
    )
    return VersionFetcher(settings, client)


def request_errors(base: type[httpx.RequestError]) -> list[type[httpx.RequestError]]:
    """`base` and every subclass of it httpx defines."""
    return [base, *(c for sub in base.__subclasses__() for c in request_errors(sub))]


def test_parses_the_escaped_sw_js_form() -> None:
    """sw.js holds the JSON inside a JS string, with escaped quotes."""
    assert parse_revision(SW_BODY) == WAVersion(2, 3000, 1026131876)


def test_parses_the_home_page_form() -> None:
    """The home page holds plain JSON."""
    assert parse_revision(HOME_BODY) == WAVersion(2, 3000, 1045818043)


def test_body_without_revision_is_an_error() -> None:
    with pytest.raises(FetchError, match="client_revision not found"):
        parse_revision(b"<html>maintenance</html>")


def test_revision_beyond_uint32_is_an_error() -> None:
    with pytest.raises(FetchError, match="uint32"):
        parse_revision(b'"client_revision":4294967296,')


async def test_sends_browser_like_headers() -> None:
    """Chrome's User-Agent, Accept-Language and Sec-Fetch-* go with every fetch."""
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return served(200, content=SW_BODY)

    fetched = await fetcher(handler).fetch()
    assert fetched.version.patch == 1026131876
    assert fetched.source == SW
    headers = seen[0]
    assert "Chrome/" in headers["user-agent"]
    assert headers["accept-language"] == "en-US,en;q=0.9"
    assert headers["sec-fetch-mode"] == "navigate"
    assert headers["sec-fetch-dest"] == "document"


async def test_transient_failures_are_retried() -> None:
    """A 503 then a 200: the second attempt wins."""
    answers = iter([served(503), served(200, content=SW_BODY)])
    fetched = await fetcher(lambda r: next(answers), version_urls=(SW,)).fetch()
    assert fetched.version.patch == 1026131876


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_other_4xx_is_not_retried(status: int) -> None:
    """A 404 (a moved file) will not pass by retrying: one request, then the error."""
    upstream = Answering(status)
    with pytest.raises(FetchError, match=f"HTTP {status}") as caught:
        await fetcher(upstream, version_urls=(SW,)).fetch()
    assert upstream.calls == 1
    assert not isinstance(caught.value, TransientFetchError)


async def test_body_without_revision_is_not_retried() -> None:
    upstream = Answering(200, b"<html></html>")
    with pytest.raises(FetchError, match="client_revision not found"):
        await fetcher(upstream, version_urls=(SW,)).fetch()
    assert upstream.calls == 1


async def test_attempts_are_limited() -> None:
    """A source that keeps failing is tried fetch_attempts times, then reported."""
    upstream = Answering(502)
    with pytest.raises(TransientFetchError, match="HTTP 502"):
        await fetcher(upstream, version_urls=(SW,), fetch_attempts=3).fetch()
    assert upstream.calls == 3


async def test_connection_errors_are_transient_and_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransientFetchError, match="ConnectError"):
        await fetcher(handler, version_urls=(SW,), fetch_attempts=2).fetch()
    assert calls == 2


async def test_falls_back_to_the_next_source_and_records_it() -> None:
    """sw.js answering 404 makes the home page answer; the source says which one did."""

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == SW:
            return httpx.Response(404)
        return served(200, content=HOME_BODY)

    fetched = await fetcher(handler).fetch()
    assert fetched.source == HOME
    assert fetched.version.patch == 1045818043


async def test_all_sources_failing_names_each() -> None:
    """The error lists every source and what it answered."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if str(request.url) == SW else 403)

    with pytest.raises(FetchError) as caught:
        await fetcher(handler).fetch()
    assert (
        str(caught.value) == f"{SW}: upstream answered HTTP 404; {HOME}: upstream answered HTTP 403"
    )


async def test_retry_after_is_honoured_within_the_deadline() -> None:
    """A 429 whose Retry-After would pass the deadline stops the retries at once."""
    upstream = Answering(429, headers={"Retry-After": "3600"})
    with pytest.raises(TransientFetchError, match="HTTP 429"):
        await fetcher(upstream, version_urls=(SW,), refresh_deadline=2.0, refresh_wait=3.0).fetch()
    assert upstream.calls == 1


async def test_a_match_past_the_cap_is_not_looked_for() -> None:
    """A client_revision beyond fetch_max_bytes is not read: the body is refused at the cap."""
    upstream = Answering(200, b"x" * 5000 + SW_BODY)
    with pytest.raises(FetchError, match="client_revision not found in the first 4096 bytes"):
        await fetcher(upstream, version_urls=(SW,), fetch_max_bytes=4096).fetch()


async def test_a_body_without_a_match_is_read_no_further_than_the_cap() -> None:
    """An endless body without client_revision stops being read soon after fetch_max_bytes."""
    body = EndlessBody(chunk=4096)
    upstream = Answering(200, headers={"Content-Type": "text/html"})
    upstream.stream = body
    with pytest.raises(FetchError, match="not found in the first 65536 bytes") as caught:
        await fetcher(upstream, version_urls=(SW,), fetch_max_bytes=65536).fetch()
    assert not isinstance(caught.value, TransientFetchError)
    assert 65536 < body.given <= 65536 + 4096


async def test_reading_stops_at_the_first_match() -> None:
    """A 580 KB home page is read only up to the chunk holding its first client_revision."""
    page = home_page(1045818043, size=580_000, first_at=41_000)
    body = CountingBody(page, chunk=16384)
    upstream = Answering(200)
    upstream.stream = body
    fetched = await fetcher(upstream, version_urls=(HOME,)).fetch()
    assert fetched.version.patch == 1045818043
    assert body.given <= 41_000 + 2 * 16384 < len(page)


async def test_a_body_far_over_the_cap_succeeds_when_its_match_is_early() -> None:
    """10 MB declared and sent, the match at 20 KB, fetch_max_bytes 1 MB: the version, not
    a refusal of the declared Content-Length, and less than the cap read."""
    page = home_page(1045818043, size=10_000_000, first_at=20_000)
    body = CountingBody(page, chunk=65536)
    upstream = Answering(200, headers={"Content-Length": str(len(page))})
    upstream.stream = body
    fetched = await fetcher(upstream, version_urls=(HOME,), fetch_max_bytes=1 << 20).fetch()
    assert fetched.version.patch == 1045818043
    assert body.given < 1 << 20


@pytest.mark.parametrize(
    "body",
    [SW_BODY, HOME_BODY + b",", home_page(1045818043, size=100_000, first_at=19_000)],
    ids=["sw.js", "home page excerpt", "home page"],
)
async def test_a_match_straddling_a_chunk_boundary_is_found_whole(body: bytes) -> None:
    """Each split point around the match, the digits included: the whole revision is read
    (10458|18043 is 1045818043, never 10458)."""
    expected = parse_revision(body)
    start = body.index(b"client_revision") - 2
    end = start + len(b'\\"client_revision\\":') + len(str(expected.patch)) + 2
    for split in range(start, end):
        scanner = RevisionScanner(limit=len(body))
        found = scanner.feed(body[:split]) or scanner.feed(body[split:]) or scanner.finish()
        assert found == expected, split


async def test_a_body_given_byte_by_byte_is_parsed() -> None:
    """sw.js through the fetcher one byte per chunk: every boundary, the same version."""
    upstream = Answering(200)
    upstream.stream = CountingBody(sw_js(1026131876), chunk=1)
    fetched = await fetcher(upstream, version_urls=(SW,)).fetch()
    assert fetched.version.patch == 1026131876


def test_a_revision_of_thousands_of_digits_is_a_fetch_error() -> None:
    """int() refuses over 4300 digits (ValueError); the fetcher says it is no uint32."""
    with pytest.raises(FetchError, match="does not fit a uint32"):
        parse_revision(b'"client_revision":' + b"9" * 5000 + b",")


def test_a_long_number_split_across_chunks_is_still_seen_whole() -> None:
    """A match longer than the kept tail (200 digits) straddling chunks: still the field, so
    the error says it is no uint32 rather than that there is no client_revision."""
    body = b"<html>" + b'"client_revision":' + b"1" * 200 + b",</html>"
    scanner = RevisionScanner(limit=len(body))
    chunks = [body[start : start + 16] for start in range(0, len(body), 16)]
    for chunk in chunks[:-1]:
        assert scanner.feed(chunk) is None
    with pytest.raises(FetchError, match="does not fit a uint32"):
        scanner.feed(chunks[-1])


async def test_a_redirect_loop_tries_the_next_source_without_retrying() -> None:
    """sw.js redirecting to itself: 1 + 5 requests, TooManyRedirects, then the home page."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if str(request.url) == SW:
            return httpx.Response(302, headers={"Location": SW})
        return served(200, content=HOME_BODY)

    fetched = await fetcher(handler).fetch()
    assert fetched.source == HOME
    assert calls == [SW] * (1 + MAX_REDIRECTS) + [HOME]


async def test_a_body_that_is_not_the_gzip_it_claims_tries_the_next_source() -> None:
    """Content-Encoding: gzip on a plain body: the home page answers."""

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == SW:
            return served(200, content=SW_BODY, headers={"Content-Encoding": "gzip"})
        return served(200, content=HOME_BODY)

    fetched = await fetcher(handler).fetch()
    assert fetched.source == HOME
    assert fetched.version.patch == 1045818043


async def test_redirect_loop_and_bad_gzip_together_name_each_source_once() -> None:
    """Both sources failing that way: one FetchError naming each, not transient, no retry."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if str(request.url) == SW:
            return httpx.Response(302, headers={"Location": SW})
        return served(200, content=HOME_BODY, headers={"Content-Encoding": "gzip"})

    with pytest.raises(FetchError) as caught:
        await fetcher(handler).fetch()
    assert not isinstance(caught.value, TransientFetchError)
    first, second = str(caught.value).split("; ")
    assert first == f"{SW}: TooManyRedirects: Exceeded maximum allowed redirects."
    assert second.startswith(f"{HOME}: the body is not the gzip it claims: ")
    assert calls == [SW] * (1 + MAX_REDIRECTS) + [HOME]


@pytest.mark.parametrize("error", request_errors(httpx.RequestError), ids=lambda e: e.__name__)
@pytest.mark.parametrize("where", ["request", "body"])
async def test_every_request_error_becomes_a_fetch_error_naming_the_source(
    error: type[httpx.RequestError], where: str
) -> None:
    """Any httpx.RequestError, raised for the request or mid-body, leaves fetch() only as a
    FetchError "<url>: <name>: <message>"; transient exactly when it is a TransportError."""

    async def failing_body() -> AsyncIterator[bytes]:
        yield b"<html>"
        raise error("boom")

    def handler(request: httpx.Request) -> httpx.Response:
        if where == "request":
            raise error("boom", request=request)
        return httpx.Response(200, content=failing_body())

    with pytest.raises(FetchError) as caught:
        await fetcher(handler, version_urls=(SW,), fetch_attempts=1).fetch()
    assert str(caught.value) == f"{SW}: {error.__name__}: boom"
    assert isinstance(caught.value, TransientFetchError) == issubclass(error, httpx.TransportError)


async def test_file_source_serves_air_gapped_sites(tmp_path: Path) -> None:
    """A file:// source reads a saved sw.js; its URL is recorded as the source."""
    saved = tmp_path / "sw.js"
    saved.write_bytes(SW_BODY)

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("a file source must not touch the network")

    fetched = await fetcher(handler, version_urls=(saved.as_uri(),)).fetch()
    assert fetched.version.patch == 1026131876
    assert fetched.source == saved.as_uri()


async def test_a_saved_page_larger_than_the_cap_is_read_up_to_its_match(tmp_path: Path) -> None:
    """A file:// source is scanned as a stream too: a 1.05 MB page with a 1 MB cap answers."""
    saved = tmp_path / "index.html"
    saved.write_bytes(home_page(1045818043, size=1_050_827, first_at=82_000))
    fetched = await fetcher(
        Answering(500), version_urls=(saved.as_uri(),), fetch_max_bytes=1 << 20
    ).fetch()
    assert fetched.version.patch == 1045818043


async def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="cannot read"):
        await fetcher(
            lambda r: httpx.Response(500), version_urls=((tmp_path / "no").as_uri(),)
        ).fetch()
