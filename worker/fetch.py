"""Finding the current WhatsApp Web version upstream.

Each source (`WA_VERSION_URL`, comma-separated; worker/sources.py reads one) is tried
in order until one answers with a `client_revision`.

Any failure of a source is a `FetchError` naming it, and the next source is tried. A
round of all sources is retried only when a failure may pass (timeouts, connection
errors, 429, 5xx), with exponential backoff and jitter, at most `fetch_attempts`
rounds and never past `refresh_deadline`. A redirect loop or a body that is not the
gzip it claims is not retried, nor a redirect off the source's site, nor a coding
refused (worker/decoding.py): the next source is asked instead.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass

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
from worker.redirects import RedirectPolicy
from worker.sources import Source, source_for

# How much of a failure's message is kept per source (last_error, logs, the 500's error).
MAX_ERROR_DETAIL = 300


@dataclass(frozen=True, slots=True)
class Fetched:
    """A version and the source that gave it."""

    version: WAVersion
    source: str


class VersionFetcher:
    """Fetches the version from the configured sources through `client`."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        redirects = RedirectPolicy(settings.fetch_redirect_hosts)
        self._sources = [
            source_for(url, client, settings.fetch_max_bytes, redirects)
            for url in settings.version_urls
        ]

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
        for source in self._sources:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                shown = shown_url(source.url)
                errors.append(TransientFetchError(f"{shown}: refresh deadline reached"))
                break
            try:
                version = await source.read(min(self._settings.fetch_timeout, remaining))
                return Fetched(version, shown_url(source.url))
            except FetchError as exc:
                errors.append(_naming_source(source, exc))
        raise _combine(errors)


def shown_url(url: str) -> str:
    """`url` without its user and password: the form every message, log and state shows."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _naming_source(source: Source, error: FetchError) -> FetchError:
    """The same error, its message prefixed with the source that failed (credentials out)
    and cut to MAX_ERROR_DETAIL characters: a message may quote the upstream's own bytes
    (an illegal status line of 60 KB, say), and it is stored as `last_error` and shown."""
    shown = shown_url(source.url)
    detail = str(error).replace(source.url, shown)
    if len(detail) > MAX_ERROR_DETAIL:
        detail = f"{detail[:MAX_ERROR_DETAIL]}… ({len(detail)} characters)"
    message = f"{shown}: {detail}"
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
