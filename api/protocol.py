"""uvicorn's HTTP protocol, with what the app cannot do from inside ASGI.

- A deadline on reading a request's headers. uvicorn times out an idle keep-alive
  connection, but not one that connects and then sends its headers a byte at a time (or
  nothing at all): such a client would hold the connection forever. Past the deadline
  it gets a 408 envelope and the connection is closed.
- Malformed HTTP is answered with the JSON envelope, like everything else, instead of
  uvicorn's plain-text 400.

The Procfile selects it: `uvicorn … --http api.protocol:GuardedHttpProtocol`.

This module is the only one that reaches into uvicorn (tests/test_layout.py checks): it
subclasses an undocumented protocol class and overrides the methods uvicorn and its
httptools parser call on it. tests/api/test_uvicorn_compat.py checks them against the
installed uvicorn, pinned to CHECKED_WITH, and fails loudly when an upgrade moves one.
"""

from __future__ import annotations

import asyncio
import json
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.envelope import STATUS_MESSAGES
from wa_version_client.runtime import EnvReader

# The uvicorn releases this module was read against and tested on.
CHECKED_WITH = frozenset({"0.55.0"})
# The methods of HttpToolsProtocol it overrides, which uvicorn and the httptools parser
# call; it also uses the `transport` and `loop` they set.
RELIED_ON = (
    "connection_made",
    "on_message_begin",
    "on_headers_complete",
    "connection_lost",
    "send_400_response",  # what data_received calls on a parse error
)

# Long enough for any real client on a slow link, short enough that holding connections
# open costs an attacker a new one every few seconds. uvicorn makes the protocol, not the
# app, so it reads its one setting from the environment itself.
DEFAULT_HEADER_TIMEOUT = 10.0


def header_timeout() -> float:
    """HEADER_TIMEOUT from the environment (a duration), 10 s when unset."""
    return EnvReader(os.environ).duration("HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT)


def raw_failure(code: int, error: str) -> bytes:
    """A whole HTTP/1.1 response carrying the failure envelope, closing the connection."""
    body = json.dumps(
        {"status": False, "code": code, "message": STATUS_MESSAGES[code], "error": error},
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {code} {STATUS_MESSAGES[code]}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a header deadline and envelope answers to malformed requests."""

    header_timeout = header_timeout()
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows the argument the same way
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self.transport.write(raw_failure(400, "the request is not valid HTTP/1.1"))
        self.transport.close()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            error = f"the request headers did not arrive within {self.header_timeout:g}s"
            self.transport.write(raw_failure(408, error))
            self.transport.close()
