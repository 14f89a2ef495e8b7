"""Where a version is read: one `Source` per WA_VERSION_URL entry, its kind chosen once
from the URL. The fetcher (worker/fetch.py) tries them in order and retries.

Two kinds today: `http(s)://`, the WhatsApp upstream (its home page or sw.js), and
`file://`, a page saved on disk. A new kind (another upstream format, say) is a class
with `shown` and `read`, and a line in `source_for`; Settings refuses URLs of no kind it
knows (shared/settings.py lists the schemes).

A body is read as a stream and only up to its first `client_revision`: the home page
keeps growing (~100 KB in 2024, ~580 KB in 2026, 1 MB seen) while the field stays within
its first 82 KB, so its growth never reaches `fetch_max_bytes`, which only stops a body
that has no match. An HTTP body is read raw and decoded here (worker/decoding.py), so the
bound holds for the bytes read and for the bytes decoded; redirects are followed only as
worker/redirects.py allows.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from shared.errors import FetchError, TransientFetchError
from wa_version_client.contract import WAVersion
from worker.decoding import ACCEPT_ENCODING, BoundedDecoder
from worker.redirects import RedirectPolicy, following_redirects
from worker.revision import RevisionScanner

# What a desktop Chrome sends for a page load; without browser-like headers the
# upstream has answered 400.
BROWSER_HEADERS = {
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


class Source(Protocol):
    """A place a version is read from."""

    @property
    def url(self) -> str:
        """As configured, credentials included: never shown."""
        ...

    async def read(self, seconds: float) -> WAVersion:
        """The version, within `seconds`; `FetchError` saying why there is none, a
        `TransientFetchError` when asking again may do better."""
        ...


def source_for(
    url: str, client: httpx.AsyncClient, max_bytes: int, redirects: RedirectPolicy
) -> Source:
    """The kind of source `url` names, reading at most `max_bytes` without a match."""
    if url.startswith("file://"):
        return FileSource(url, max_bytes)
    return HttpSource(url, client, max_bytes, redirects)


@dataclass(frozen=True, slots=True)
class HttpSource:
    """A page over HTTP(S), asked for as a browser would."""

    url: str
    client: httpx.AsyncClient
    max_bytes: int
    redirects: RedirectPolicy

    async def read(self, seconds: float) -> WAVersion:
        """Timeouts, network errors, 429 and 5xx are transient; anything else is not."""
        try:
            async with asyncio.timeout(seconds):
                return await self._scan()
        except TimeoutError:
            raise TransientFetchError(f"timed out after {seconds:g}s") from None
        except httpx.TransportError as exc:
            raise TransientFetchError(f"{type(exc).__name__}: {exc}") from None
        except httpx.RequestError as exc:
            # TooManyRedirects: asking again gets the same answer, the next source may not.
            raise FetchError(f"{type(exc).__name__}: {exc}") from None

    async def _scan(self) -> WAVersion:
        scanner = RevisionScanner(self.max_bytes)
        headers = {**BROWSER_HEADERS, "Accept-Encoding": ACCEPT_ENCODING}
        async with following_redirects(self.client, self.url, headers, self.redirects) as response:
            _check_status(response)
            decoder = BoundedDecoder.for_response(response, self.max_bytes)
            # Leaving the block unread closes the connection: the rest is never downloaded.
            async for raw in response.aiter_raw():
                for chunk in decoder.decode(raw):
                    found = scanner.feed(chunk)
                    if found is not None:
                        return found
            # Before the last match is read: a truncated stream may have cut its digits.
            decoder.finish()
            return scanner.finish()


@dataclass(frozen=True, slots=True)
class FileSource:
    """A page saved on disk (a test, a mirror, an operator's override)."""

    url: str
    max_bytes: int

    async def read(self, seconds: float) -> WAVersion:
        """Read at once: a local file is no network (nor anything to wait for)."""
        return _scan_file(self.url, self.max_bytes)


def _scan_file(url: str, max_bytes: int) -> WAVersion:
    path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    scanner = RevisionScanner(max_bytes)
    try:
        with path.open("rb") as source:
            while chunk := source.read(65536):
                found = scanner.feed(chunk)
                if found is not None:
                    return found
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    return scanner.finish()


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status == 200:
        return
    if status == 429 or status >= 500:
        raise TransientFetchError(
            f"upstream answered HTTP {status}",
            retry_after=_retry_after(response.headers.get("retry-after")),
        )
    raise FetchError(f"upstream answered HTTP {status}")


def _retry_after(value: str | None) -> float | None:
    # Only the delay-seconds form; an HTTP date is rare from this upstream and the
    # exponential backoff covers it.
    if value is not None and value.strip().isdigit():
        return float(value.strip())
    return None
