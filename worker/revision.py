"""Finding `client_revision` in a page or sw.js as it streams in, and reading it strictly."""

from __future__ import annotations

import re

from shared.errors import FetchError, InvalidVersion
from wa_version_client.contract import UINT32_MAX, WAVersion

# Matches both the home page (`"client_revision":1045818043,`) and sw.js, where the
# JSON sits inside a JS string and its quotes are escaped (`\"client_revision\":1026…`).
# The whitespace is bounded so that a match's start always lies within the last
# `_TAIL` bytes of what was read before its digits: a chunk boundary cannot hide it.
CLIENT_REVISION = re.compile(rb'\\?"client_revision\\?":\s{0,16}(\d+)')
_TAIL = 64  # > len('\\"client_revision\\":') + 16 spaces


def parse_revision(body: bytes) -> WAVersion:
    """The version in a whole home page or sw.js body."""
    scanner = RevisionScanner(limit=len(body))
    found = scanner.feed(body)
    return found if found is not None else scanner.finish()


class RevisionScanner:
    """Finds the first `client_revision` in a body given chunk by chunk.

    Only the end of the previous chunk is kept (a match may straddle two chunks), so a
    body costs the same memory whatever its size. A match must lie within the first
    `limit` bytes; past them without one, `feed` raises `FetchError`.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._read = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> WAVersion | None:
        """The version once a complete match is seen; `None` while more is needed."""
        within = chunk[: self._limit - self._read]
        self._read += len(chunk)
        text = self._tail + within
        match = CLIENT_REVISION.search(text)
        if match is not None and match.end() < len(text):
            return _version(match)  # a byte after the digits: they are all there
        if self._read > self._limit:
            raise not_found_within(self._limit)
        # A match touching the end may have more digits to come; else keep what a
        # match straddling into the next chunk could start with.
        self._tail = text[match.start() :] if match is not None else text[-_TAIL:]
        return None

    def finish(self) -> WAVersion:
        """The end of the body: the version, or `FetchError` when it has none."""
        match = CLIENT_REVISION.search(self._tail)
        if match is None:
            raise FetchError("client_revision not found in the response")
        return _version(match)


def not_found_within(limit: int) -> FetchError:
    """The error for a body that had no match within its first `limit` bytes."""
    return FetchError(f"client_revision not found in the first {limit} bytes of the response")


def _version(match: re.Match[bytes]) -> WAVersion:
    digits = match.group(1)
    if len(digits) > len(str(UINT32_MAX)):
        # Also keeps int() from refusing a number of thousands of digits (ValueError).
        raise FetchError(f"client_revision {digits[:20].decode()}… does not fit a uint32")
    try:
        return WAVersion.from_revision(int(digits))
    except InvalidVersion as exc:
        raise FetchError(str(exc)) from None
