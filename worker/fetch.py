"""Finding the current WhatsApp Web version upstream.

Each source (`WA_VERSION_URL`, comma-separated) is tried in order until one answers
with a `client_revision`. A body is read as a stream and only up to its first
`client_revision`: the home page keeps growing (~100 KB in 2024, ~580 KB in 2026, 1 MB
seen) while the field stays within its first 82 KB, so its growth never reaches
`fetch_max_bytes`, which only stops a body that has no match.

Any failure of a source is a `FetchError` naming it, and the next source is tried. A
round of all sources is retried only when a failure may pass (timeouts, connection
errors, 429, 5xx), with exponential backoff and jitter, at most `fetch_attempts`
rounds and never past `refresh_deadline`. A redirect loop or a body that is not the
gzip it claims is not retried: the next source is asked instead.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from shared.errors import FetchError, TransientFetchError
from shared.settings import Settings
from wa_version_client.contract import WAVersion
from wa_version_client.runtime import Backoff
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


@dataclass(frozen=True, slots=True)
class Fetched:
    """A version and the source that gave it."""

    version: WAVersion
    source: str


class VersionFetcher:
    """Fetches the version from the configured sources through `client`."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client

    async def fetch(self) -> Fetched:
        """The upstream's version, or `FetchError` saying why there is none."""
        settings = self._settings
        deadline = time.monotonic() + settings.refresh_deadline
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientFetchError),
            stop=stop_after_attempt(settings.fetch_attempts)
            | stop_before_delay(settings.refresh_deadline),
            wait=_Backoff(settings.fetch_backoff),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._fetch_round(deadline)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _fetch_round(self, deadline: float) -> Fetched:
        """Try each source once, in order; the first that answers wins."""
        errors: list[FetchError] = []
        for url in self._settings.version_urls:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                errors.append(TransientFetchError(f"{shown_url(url)}: refresh deadline reached"))
                break
            try:
                version = await self._read(url, min(self._settings.fetch_timeout, remaining))
                return Fetched(version, shown_url(url))
            except FetchError as exc:
                errors.append(_naming_source(url, exc))
        raise _combine(errors)

    async def _read(self, url: str, seconds: float) -> WAVersion:
        """The version `url` gives, or `FetchError`: transient for timeouts and network errors."""
        if url.startswith("file://"):
            return _read_file(url, self._settings.fetch_max_bytes)
        try:
            async with asyncio.timeout(seconds):
                return await self._read_http(url)
        except TimeoutError:
            raise TransientFetchError(f"timed out after {seconds:g}s") from None
        except httpx.TransportError as exc:
            raise TransientFetchError(f"{type(exc).__name__}: {exc}") from None
        except httpx.RequestError as exc:
            # TooManyRedirects, DecodingError (a body that is not the gzip it claims):
            # asking again gets the same answer, the next source may not.
            raise FetchError(f"{type(exc).__name__}: {exc}") from None

    async def _read_http(self, url: str) -> WAVersion:
        scanner = RevisionScanner(self._settings.fetch_max_bytes)
        async with self._client.stream("GET", url, headers=BROWSER_HEADERS) as response:
            _check_status(response)
            # Leaving the block unread closes the connection: the rest is never downloaded.
            async for chunk in response.aiter_bytes():
                found = scanner.feed(chunk)
                if found is not None:
                    return found
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


def _read_file(url: str, limit: int) -> WAVersion:
    path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    scanner = RevisionScanner(limit)
    try:
        with path.open("rb") as source:
            while chunk := source.read(65536):
                found = scanner.feed(chunk)
                if found is not None:
                    return found
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    return scanner.finish()


def shown_url(url: str) -> str:
    """`url` without its user and password: the form every message, log and state shows."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _naming_source(url: str, error: FetchError) -> FetchError:
    """The same error, its message prefixed with the source that failed (credentials out)."""
    shown = shown_url(url)
    message = f"{shown}: {str(error).replace(url, shown)}"
    if isinstance(error, TransientFetchError):
        return TransientFetchError(message, retry_after=error.retry_after)
    return FetchError(message)


def _combine(errors: list[FetchError]) -> FetchError:
    """One error for a round: transient if any source may answer on a retry."""
    if len(errors) == 1:
        return errors[0]
    message = "; ".join(str(e) for e in errors)
    transient = [e for e in errors if isinstance(e, TransientFetchError)]
    if not transient:
        return FetchError(message)
    waits = [e.retry_after for e in transient if e.retry_after is not None]
    return TransientFetchError(message, retry_after=max(waits) if waits else None)


class _Backoff:
    """The house backoff (wa_version_client.backoff), up to ten times the first wait, but
    never sooner than the upstream's Retry-After."""

    def __init__(self, initial: float) -> None:
        self._backoff = Backoff(initial=initial, maximum=initial * 10)

    def __call__(self, state: RetryCallState) -> float:
        delay = self._backoff.delay(state.attempt_number - 1)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientFetchError) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay
