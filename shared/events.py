"""The version's changes, fanned out from one subscription to every open event stream.

The web process follows the version as any subscriber does: one VersionSubscriber (one
Redis subscription, the hash re-read on every resubscription and every resync) per
process, whatever the number of HTTP clients following it. Each open stream waits on an
in-memory signal that the subscriber's change callback raises; nothing per stream
touches Redis.

Every event is a snapshot (the version held, with its `(epoch, seq)`), not a delta: a
stream that falls behind skips straight to the newest version, and a client resuming
with `Last-Event-ID` gets the current version unless it already has it. Nothing is
replayed: the current version is all a connection manager needs (the history is at
GET /admin/whatsapp/version/history).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from shared.errors import ServiceError
from wa_version_client import VersionSubscriber
from wa_version_client.contract import PublishedVersion
from wa_version_client.runtime import cancel_and_wait


class TooManyStreams(ServiceError):
    """The process serves as many event streams as it may."""


def event_id(version: PublishedVersion) -> str:
    """The SSE id of the event announcing `version`: `<epoch>-<seq>`."""
    return f"{version.epoch}-{version.seq}"


class VersionEvents:
    """The version a process holds, and a bounded number of streams following it.

    `start()` once; per stream, reserve_stream(), `follow()`, release_stream();
    `aclose()` at the end: it ends every stream.
    """

    def __init__(self, subscriber: VersionSubscriber, *, max_streams: int) -> None:
        self.subscriber = subscriber
        self.max_streams = max_streams
        self.open_streams = 0
        self._changed = asyncio.Event()
        self._closed = False
        self._starting: asyncio.Task[None] | None = None
        subscriber.on_change(self._wake_streams)

    async def start(self) -> None:
        """Follow the version from now on. Returns at once: a web process whose Redis is
        away starts anyway (its streams send the version once it is read)."""
        self._starting = asyncio.create_task(self.subscriber.start(), name="version-events")

    async def aclose(self) -> None:
        self._closed = True
        self._wake_streams()
        if self._starting is not None:
            await cancel_and_wait(self._starting)
        await self.subscriber.aclose()

    @property
    def current(self) -> PublishedVersion | None:
        return self.subscriber.current

    def reserve_stream(self) -> None:
        """Count a stream opening; TooManyStreams (nothing counted) past `max_streams`.
        Each reserve_stream() is followed by one release_stream() when the stream ends."""
        if self.open_streams >= self.max_streams:
            raise TooManyStreams(f"this process serves {self.max_streams} event streams, its limit")
        self.open_streams += 1

    def release_stream(self) -> None:
        self.open_streams -= 1

    async def follow(self, last_event_id: str | None = None) -> AsyncIterator[PublishedVersion]:
        """The current version, then each newer one, until aclose(); before any version
        is known, the first. The version whose id is `last_event_id` is skipped: the
        client has it (a reconnecting EventSource sends the last id it saw)."""
        sent: PublishedVersion | None = None
        while not self._closed:
            held = self.current
            if held is not None and held.newer_than(sent):
                sent = held
                if event_id(held) != last_event_id:
                    yield held
                continue
            changed = self._changed
            await changed.wait()

    def _wake_streams(self, *_: object) -> None:
        # Every waiting stream wakes; the next change waits on a fresh event.
        self._changed.set()
        self._changed = asyncio.Event()
