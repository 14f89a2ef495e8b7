"""VersionFetcher against httpx.MockTransport: parsing, headers, retries, fallbacks, caps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.errors import FetchError, TransientFetchError
from shared.settings import Settings
from shared.version import WAVersion
from worker.fetch import VersionFetcher, parse_revision

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


class Answering:
    """A MockTransport handler giving the same answer every time, counting the calls."""

    def __init__(
        self, status: int, content: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        self.calls = 0
        self._answer = (status, content, headers or {})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        status, content, headers = self._answer
        return httpx.Response(status, content=content, headers=headers)


def fetcher(handler: Handler, **changes: Any) -> VersionFetcher:
    base = Settings(version_urls=(SW, HOME), fetch_backoff=0.001, fetch_attempts=3)
    settings = replace(base, **changes)
    return VersionFetcher(settings, httpx.AsyncClient(transport=httpx.MockTransport(handler)))


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
        return httpx.Response(200, content=SW_BODY)

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
    answers = iter([httpx.Response(503), httpx.Response(200, content=SW_BODY)])
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
        return httpx.Response(200, content=HOME_BODY)

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


async def test_oversized_body_is_refused() -> None:
    """A body past fetch_max_bytes is an error, read no further."""
    upstream = Answering(200, b"x" * 5000 + SW_BODY)
    with pytest.raises(FetchError, match="exceeds 4096 bytes"):
        await fetcher(upstream, version_urls=(SW,), fetch_max_bytes=4096).fetch()


async def test_file_source_serves_air_gapped_sites(tmp_path: Path) -> None:
    """A file:// source reads a saved sw.js; its URL is recorded as the source."""
    saved = tmp_path / "sw.js"
    saved.write_bytes(SW_BODY)

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("a file source must not touch the network")

    fetched = await fetcher(handler, version_urls=(saved.as_uri(),)).fetch()
    assert fetched.version.patch == 1026131876
    assert fetched.source == saved.as_uri()


async def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="cannot read"):
        await fetcher(
            lambda r: httpx.Response(500), version_urls=((tmp_path / "no").as_uri(),)
        ).fetch()
