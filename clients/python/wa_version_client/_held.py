"""The version a subscriber holds: when a newer one replaces it, and who hears of it.

No I/O: the subscriber (wa_version_client._subscriber) feeds it what Redis says.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from wa_version_client.contract._published import PublishedVersion

log = logging.getLogger(__name__)

# Called with the version held before (None at first) and the one now held.
OnChange = Callable[[PublishedVersion | None, PublishedVersion], Awaitable[None] | None]


class HeldVersion:
    """The current version, replaced only by a greater `(epoch, seq)` or by the store.

    Only a change of version is heard: callbacks run, and wait_newer() wakes, when the
    version held changes. The same version in another order (Redis lost its data, and
    the next refresh stored the version already held in a new epoch) replaces what is
    held silently, so later messages compare against the new order.
    """

    def __init__(self) -> None:
        self._current: PublishedVersion | None = None
        self._held_at = 0.0  # time.monotonic() when the version held was first applied
        self._ordered_at = 0.0  # time.monotonic() when `_current` (its order) was last set
        self._applied = asyncio.Event()
        self._callbacks: list[OnChange] = []
        self._after_callbacks: list[OnChange] = []
        self._changes: asyncio.Queue[tuple[PublishedVersion | None, PublishedVersion]] = (
            asyncio.Queue()
        )

    @property
    def current(self) -> PublishedVersion | None:
        return self._current

    @property
    def held_since(self) -> float:
        """When the version held was applied, by time.monotonic(); 0.0 before any
        version. The same version in a later order leaves it as it was."""
        return self._held_at

    def on_change(self, callback: OnChange) -> OnChange:
        self._callbacks.append(callback)
        return callback

    def once_applied(self, callback: OnChange) -> OnChange:
        """Run `callback` on each change after every on_change() callback has run: for
        what reports the change as applied (the fleet's name), which must neither delay
        the manager's own callbacks nor say more than they have done."""
        self._after_callbacks.append(callback)
        return callback

    def offer(self, published: PublishedVersion) -> None:
        """Hold `published` if it is newer than what is held (a message, say)."""
        if published.newer_than(self._current):
            self._hold(published)

    def follow_store(self, stored: PublishedVersion, asked: float, *, primary: bool) -> None:
        """Follow what the store holds, read by a request sent at `asked` (monotonic).

        The primary's hash is the authority; a message is a hint it confirms. What it
        holds is applied when it is newer than what is held. When it is older, and what
        is held was applied before the read was sent (so the read must see it, or
        something newer), the held version came from a lie or was lost with Redis's
        data: the store's replaces it. So does a store holding another version under the
        same `(epoch, seq)`: a forged message that took the next pair first. A read sent
        earlier than that proves nothing and is ignored. A replica's hash (`primary`
        false) may lag behind by design: it only ever moves the held version forward.
        """
        held = self._current
        if stored.newer_than(held):
            self._hold(stored)
        elif not primary:
            return
        elif held is not None and not _same(stored, held) and self._ordered_at < asked:
            log.warning(
                "the stored version %s (epoch %d, seq %d) contradicts the one held, %s "
                "(epoch %d, seq %d): following the store",
                stored.string, stored.epoch, stored.seq, held.string, held.epoch, held.seq,
            )  # fmt: skip
            self._hold(stored)

    async def wait_newer(
        self, than: PublishedVersion | None, within: float
    ) -> PublishedVersion | None:
        """Wait up to `within` seconds for a version newer than `than`: a later one that
        is another version (the same one in a new epoch is not what a caller refused as
        outdated waits for). The newest held."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while not _changed_since(than, self._current):
                    await self._applied.wait()
        return self._current

    async def call_back(self) -> None:
        """Run the callbacks for each change in turn, forever; a failing one is logged."""
        while True:
            old, new = await self._changes.get()
            for callback in [*self._callbacks, *self._after_callbacks]:
                try:
                    outcome = callback(old, new)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception:
                    log.exception("a version change callback failed")

    def _hold(self, published: PublishedVersion) -> None:
        old, self._current = self._current, published
        self._ordered_at = time.monotonic()
        if old is not None and old.version == published.version:
            return  # the same version in another order: nothing for anyone to act on
        self._held_at = self._ordered_at
        self._changes.put_nowait((old, published))
        # Wake every wait_newer(), then arm a fresh event for the next change.
        self._applied.set()
        self._applied = asyncio.Event()


def _changed_since(than: PublishedVersion | None, held: PublishedVersion | None) -> bool:
    """Whether `held` is a later announcement than `than`, of another version."""
    if held is None or not held.newer_than(than):
        return False
    return than is None or held.version != than.version


def _same(a: PublishedVersion, b: PublishedVersion) -> bool:
    """Whether `a` and `b` announce the same version at the same `(epoch, seq)` (what
    else they carry differs between a message and a read of the hash)."""
    return a.order == b.order and a.version == b.version


def announcement(old: PublishedVersion | None, new: PublishedVersion) -> str:
    """One JSON line describing a change as applied: `new` with `previous` set to `old`."""
    return replace(new, previous=None if old is None else old.version).encode()
