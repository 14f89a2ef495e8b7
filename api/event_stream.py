"""GET /admin/whatsapp/version/events: the version as Server-Sent Events.

The stream itself is sse-starlette's (pings, the client's disconnect, uvicorn's
shutdown); the fan-out behind it is shared/events.py. Each event is

    event: version
    id: <epoch>-<seq>
    data: <the version-changed message, as on the Redis channel>

The connection's deadlines (api/protocol.py) stop at the end of the request, so a
stream lasts as long as the client reads it; a client that stops reading for
SEND_TIMEOUT seconds is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from api.envelope import ApiError
from shared.events import TooManyStreams, VersionEvents, event_id

# A send blocked this long (the client reads nothing, its buffers are full) ends the stream.
SEND_TIMEOUT = 30.0
# Longer than any id this service makes; a longer header is ignored.
MAX_EVENT_ID = 64


class VersionEventStream(EventSourceResponse):
    """The stream, counted against the process's bound while it is open."""

    def __init__(self, events: VersionEvents, last_event_id: str | None, ping: float) -> None:
        stream = _version_events(events, last_event_id)
        super().__init__(stream, ping=ping, send_timeout=SEND_TIMEOUT)
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Counted here, not in the handler: this runs for as long as the stream is open.
        try:
            self._events.reserve_stream()
        except TooManyStreams as exc:
            raise ApiError(503, str(exc), headers={"retry-after": "5"}) from None
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._events.release_stream()


async def _version_events(
    events: VersionEvents, last_event_id: str | None
) -> AsyncIterator[ServerSentEvent]:
    async for version in events.follow(last_event_id):
        yield ServerSentEvent(version.encode(), event="version", id=event_id(version))


def last_event_id(request: Request) -> str | None:
    raw = request.headers.get("last-event-id")
    return raw.strip() if raw and len(raw) <= MAX_EVENT_ID else None
