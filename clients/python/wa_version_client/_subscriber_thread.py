"""VersionSubscriber for code that is not asyncio: it runs in a background thread.

versions = ThreadedVersionSubscriber("redis://…")
versions.start()
client.version = versions.current.array     # from any thread, no I/O
versions.report_outdated()                  # blocks briefly
versions.close()

The loop is run by hand (a thread running `loop.run_forever`, calls made with
`run_coroutine_threadsafe`) rather than by anyio's blocking portal, which does the same:
the client's one dependency is redis-py, and anyio would be a second for twenty lines.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from wa_version_client._held import OnChange
from wa_version_client._subscriber import VersionSubscriber
from wa_version_client.contract._latest import Verdict
from wa_version_client.contract._published import PublishedVersion

T = TypeVar("T")


class ThreadedVersionSubscriber:
    """A VersionSubscriber on its own event loop in a daemon thread.

    Callbacks run in that thread; `current` may be read from any thread (it is one
    attribute read, atomic in CPython).
    """

    def __init__(self, redis_url: str, **options: Any) -> None:
        self._url = redis_url
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="version-subscriber", daemon=True
        )
        self._subscriber: VersionSubscriber | None = None
        self._callbacks: list[OnChange] = []

    @property
    def current(self) -> PublishedVersion | None:
        return None if self._subscriber is None else self._subscriber.current

    def latest(self, max_age: float | None = None) -> Verdict:
        """As VersionSubscriber.latest (no I/O, so from any thread); not before start()."""
        if self._subscriber is None:
            return Verdict("unsynced", "the subscriber is not started")
        return self._subscriber.latest(max_age)

    def on_change(self, callback: OnChange) -> OnChange:
        """Register before `start()` to also be told the initial version."""
        self._callbacks.append(callback)
        if self._subscriber is not None:
            self._subscriber.on_change(callback)
        return callback

    def start(self, within: float = 10.0) -> None:
        self._thread.start()
        self._call(self._start(), within)

    def report_outdated(self, version_used: object = None, within: float = 5.0) -> bool:
        """As VersionSubscriber.report_outdated, blocking up to `within` seconds."""
        assert self._subscriber is not None, "start() first"
        return self._call(self._subscriber.report_outdated(version_used), within)

    def close(self, within: float = 10.0) -> None:
        if self._subscriber is not None:
            self._call(self._subscriber.aclose(), within)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(within)
        self._loop.close()

    def __enter__(self) -> ThreadedVersionSubscriber:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def _start(self) -> None:
        # Built inside the loop's thread: asyncio objects belong to the loop that runs them.
        self._subscriber = VersionSubscriber(self._url, **self._options)
        for callback in self._callbacks:
            self._subscriber.on_change(callback)
        await self._subscriber.start()

    def _call(self, coroutine: Coroutine[Any, Any, T], within: float) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(within)
