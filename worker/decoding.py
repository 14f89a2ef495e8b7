"""Undoing an upstream body's Content-Encoding with every size bounded.

httpx decodes each chunk it receives whole, with no bound on the output, through every
coding a response stacks: 1,827 bytes sent as `Content-Encoding: gzip, gzip` inflate to
1 GB before anything after it can count. So the worker reads the raw bytes
(`Response.aiter_raw`) and decodes them here instead:

- The worker asks for `Accept-Encoding: gzip` only (a browser also offers deflate, br and
  zstd; the brotli and zstandard packages are not installed here, and one coding is
  enough for pages of at most a megabyte). `gzip` (and its old name `x-gzip`), `deflate`
  (zlib or raw, as servers send it) and no coding (`identity`) are accepted.
- At most one coding: a stacked one (`gzip, gzip`) or one not listed above is refused
  before a byte is decoded. No real server stacks codings; only a bomb does.
- Never more than `limit + 1` decoded bytes in all (the one byte past the limit proves the
  body is longer than the scan may read), made at most `STEP` bytes at a time, and never
  more than `limit` raw bytes read: a stream of empty deflate blocks produces nothing from
  however much input.
- A stream that ends before its end marker is refused: its last digits may be cut off.
  Bytes after the end marker (a second gzip member, say) are counted and ignored, as
  httpx ignores them.

Every refusal is a `FetchError` (not retried: the same body comes back; the next source is
asked).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

from shared.errors import FetchError
from worker.revision import not_found_within

ACCEPT_ENCODING = "gzip"
# Decoded bytes made per zlib call: the most the worker holds of a body at once.
STEP = 64 * 1024

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around deflate data
_ZLIB_WBITS = zlib.MAX_WBITS  # deflate as RFC 9110 means it: zlib-wrapped
_RAW_WBITS = -zlib.MAX_WBITS  # deflate as some servers send it: bare
_WBITS = {"gzip": _GZIP_WBITS, "x-gzip": _GZIP_WBITS, "deflate": _ZLIB_WBITS}  # deflate: sniffed


def content_coding(response: httpx.Response) -> str:
    """The response's one content coding, lower-case ("identity" when none); `FetchError`
    for a stacked coding or one the worker does not decode."""
    listed = response.headers.get_list("content-encoding", split_commas=True)
    codings = [c.strip().lower() for c in listed if c.strip().lower() not in ("", "identity")]
    if len(codings) > 1:
        shown = ", ".join(codings)[:80]  # the upstream's words: bounded in the message
        raise FetchError(f"stacked content codings refused: Content-Encoding {shown}")
    if not codings:
        return "identity"
    if codings[0] not in _WBITS:
        raise FetchError(
            f"content coding {codings[0][:40]!r} not supported (the worker asks for gzip)"
        )
    return codings[0]


class BoundedDecoder:
    """Decodes a body given raw chunk by chunk, within `limit` bytes in and out."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self._limit = limit
        self._raw = 0
        self._made = 0
        self._unsniffed = b""  # deflate's first bytes, until they say which kind it is
        self._zlib = (
            None if coding in ("identity", "deflate") else zlib.decompressobj(_WBITS[coding])
        )

    @classmethod
    def for_response(cls, response: httpx.Response, limit: int) -> BoundedDecoder:
        return cls(content_coding(response), limit)

    def decode(self, raw: bytes) -> Iterator[bytes]:
        """The decoded bytes of `raw`, in pieces of at most `STEP` bytes; `FetchError` once
        more than `limit` raw bytes were given. The caller may stop early: nothing more of
        `raw` is then decoded."""
        self._raw += len(raw)
        if self.coding == "identity":
            for start in range(0, len(raw), STEP):
                yield from self._within_limit(raw[start : start + STEP])
        else:
            yield from self._inflate(self._sniffed(raw))
        if self._raw > self._limit:
            raise not_found_within(self._limit)

    def finish(self) -> None:
        """The body ended: `FetchError` if its coding says more was to come."""
        if self.coding != "identity" and (self._zlib is None or not self._zlib.eof):
            raise FetchError(f"the {self.coding} body is truncated")

    def _sniffed(self, raw: bytes) -> bytes:
        """`raw`, once the decompressor exists. "deflate" should be zlib-wrapped (RFC 9110)
        but some servers send it bare: a zlib header is two bytes that zlib itself checks
        this way (CM 8, and a multiple of 31)."""
        if self._zlib is not None:
            return raw
        self._unsniffed += raw
        if len(self._unsniffed) < 2:
            return b""
        first, second = self._unsniffed[0], self._unsniffed[1]
        wrapped = first & 0x0F == 8 and (first << 8 | second) % 31 == 0
        self._zlib = zlib.decompressobj(_ZLIB_WBITS if wrapped else _RAW_WBITS)
        raw, self._unsniffed = self._unsniffed, b""
        return raw

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        # Each call makes at most `room` bytes and keeps the input it did not reach in
        # `unconsumed_tail`; a call that filled `room` may have more output pending even
        # with no input left, so the loop goes on until a call makes less.
        decompressor = self._zlib
        while decompressor is not None and not decompressor.eof:
            room = min(STEP, self._limit + 1 - self._made)
            if room <= 0:
                return
            try:
                piece = decompressor.decompress(data, room)
            except zlib.error as exc:
                raise FetchError(f"the body is not the {self.coding} it claims: {exc}") from None
            data = decompressor.unconsumed_tail
            yield from self._within_limit(piece)
            if len(piece) < room and not data:
                return

    def _within_limit(self, piece: bytes) -> Iterator[bytes]:
        piece = piece[: self._limit + 1 - self._made]
        self._made += len(piece)
        if piece:
            yield piece
