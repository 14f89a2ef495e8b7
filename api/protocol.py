"""uvicorn's HTTP protocol, with what the app cannot do from inside ASGI.

- A deadline on every state in which the connection waits on the client, whatever the
  route does with the request:
  - its headers: HEADER_TIMEOUT from the connection opening, or from the first byte of
    the next request; past it, a 408 envelope and the connection closed;
  - its body: BODY_TIMEOUT from the end of the headers, whether or not the route reads
    the body (uvicorn times nothing here, and a route that answers without reading
    leaves the rest of the body to arrive at the client's pace); past it, a 408
    envelope if nothing was answered yet, and the connection closed;
  - between requests: uvicorn's keep-alive timeout, counted from the last answer.
    uvicorn cancels its own timer on any byte received and re-arms it only when an
    answer completes, so a byte that starts no request (a stray CRLF) or a body the
    route never read held the connection for ever.
- A bound on the connections held, in all and per peer address (api/connection_limits.py):
  a connection over either is answered 503 and closed as it opens (a client that had
  already sent its request may see a reset instead: closing a socket with unread data
  resets it, and waiting to read would hold the very file the limit protects).
- No WebSocket upgrades: the connection stays with this protocol, counted and timed.
- Malformed HTTP is answered with the JSON envelope, like everything else, instead of
  uvicorn's plain-text 400.

The Procfile selects it: `uvicorn … --http api.protocol:GuardedHttpProtocol`. The limits
come from the settings through the lifespan state (api/app.py puts a ConnectionGuard
there); without a lifespan, FALLBACK_GUARD's defaults apply.

This module is the only one that reaches into uvicorn (tests/test_layout.py checks): it
subclasses an undocumented protocol class and overrides the methods uvicorn and its
httptools parser call on it. tests/api/test_uvicorn_compat.py checks them against the
installed uvicorn, pinned to CHECKED_WITH, and fails loudly when an upgrade moves one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from api.connection_limits import GUARD_KEY, ConnectionGuard, ConnectionLimits
from api.envelope import STATUS_MESSAGES

# The uvicorn releases this module was read against and tested on.
CHECKED_WITH = frozenset({"0.55.0"})
# The methods of HttpToolsProtocol it overrides, which uvicorn and the httptools parser
# call; and the attributes it uses, of the protocol and of its RequestResponseCycle.
RELIED_ON = (
    "connection_made",
    "on_message_begin",
    "on_headers_complete",
    "on_message_complete",
    "on_response_complete",
    "connection_lost",
    "send_400_response",  # what data_received calls on a parse error
)
RELIED_ON_STATE = (
    "transport",
    "loop",
    "client",
    "app_state",
    "pipeline",
    "timeout_keep_alive",
    "ws_protocol_class",
    "cycle",
)
RELIED_ON_CYCLE = ("response_started", "response_complete", "disconnected", "message_event")

FALLBACK_GUARD = ConnectionGuard(ConnectionLimits())


def raw_failure(code: int, error: str, headers: tuple[str, ...] = ()) -> bytes:
    """A whole HTTP/1.1 response carrying the failure envelope, closing the connection."""
    body = json.dumps(
        {"status": False, "code": code, "message": STATUS_MESSAGES[code], "error": error},
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {code} {STATUS_MESSAGES[code]}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        + "".join(f"{header}\r\n" for header in headers)
        + "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a deadline on every wait for the client, bounded
    connections, and envelope answers to malformed requests."""

    _guard: ConnectionGuard = FALLBACK_GUARD
    _address: str | None = None  # the guard's key for this connection, once admitted
    _deadline: asyncio.TimerHandle | None = None
    _in_message = False  # between a request's first byte and the end of its body

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows the argument the same way
        super().connection_made(transport)
        # The API serves no WebSocket. uvicorn would hand an upgraded connection to a
        # protocol of its own, which neither the guard's count nor the deadlines follow:
        # an upgrade request is an HTTP request like any other here (a 404).
        self.ws_protocol_class = None
        self._guard = self.app_state.get(GUARD_KEY, FALLBACK_GUARD)
        peer = self.client[0] if self.client else None
        self._address = self._guard.admit(peer)
        if self._address is None:
            reason = self._guard.refusal(peer)
            self.transport.write(raw_failure(503, reason, ("retry-after: 1",)))
            self.transport.close()
            return
        self._arm(self._guard.limits.header_timeout, self._headers_late)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_message = True
        self._arm(self._guard.limits.header_timeout, self._headers_late)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        # The body's deadline; on_message_complete disarms it, at once if there is none.
        self._arm(self._guard.limits.body_timeout, self._body_late)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_message = False
        self._disarm()  # the app has the request; its answer is the app's to time

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle until the next request begins: uvicorn's keep-alive, but on a timer no
        # received byte cancels. Not while a body is still arriving (its deadline runs)
        # nor when a pipelined request is already being answered.
        idle = not self._in_message and not self.pipeline and self._deadline is None
        if idle and not self.transport.is_closing():
            self._arm(self.timeout_keep_alive, self._idle_too_long)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address is not None:
            self._guard.release(self._address)
            self._address = None
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self.transport.write(raw_failure(400, "the request is not valid HTTP/1.1"))
        self.transport.close()

    def _arm(self, seconds: float, late: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        error = f"the request headers did not arrive within {self._guard.limits.header_timeout:g}s"
        self._close_with_408(error, None)  # self.cycle, if any, is an earlier request's

    def _body_late(self) -> None:
        self._deadline = None
        error = f"the request body did not arrive within {self._guard.limits.body_timeout:g}s"
        self._close_with_408(error, self.cycle)

    def _idle_too_long(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _close_with_408(self, error: str, cycle: RequestResponseCycle | None) -> None:
        """Answer 408 unless the late request's answer (`cycle`'s) has begun, and close;
        its handler, if still running, sees the client gone and writes nothing more."""
        if self.transport.is_closing():
            return
        if cycle is None or not cycle.response_started:
            self.transport.write(raw_failure(408, error))
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # as connection_lost marks it, before the app can write
            cycle.message_event.set()
        self.transport.close()
