"""A pub/sub subscription that survives Redis going away.

Pub/sub delivers at most once: whatever is published while the connection is down is
lost. So every user of `Subscription` passes `on_subscribed`, called after each
(re)subscription, to re-read the state it might have missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis

from shared.backoff import Backoff
from shared.redis import REDIS_DOWN

log = logging.getLogger(__name__)

OnMessage = Callable[[str, str], Awaitable[None]]
OnSubscribed = Callable[[], Awaitable[None]]


class Subscription:
    """Subscribes to `channels` and hands every message to `on_message`, forever.

    Run it as a task; cancel the task to stop. A lost connection is retried with
    backoff; after each subscription is confirmed, `on_subscribed` runs.
    """

    def __init__(
        self,
        redis: Redis,
        channels: Sequence[str],
        *,
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        wakeup_interval: float = 1.0,
        max_backoff: float = 2.0,
    ) -> None:
        self._redis = redis
        self._channels = list(channels)
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        # get_message() wakes this often when idle, which lets redis-py send its
        # health-check PING; a bare blocking read would never notice a dead peer.
        self._wakeup_interval = wakeup_interval
        self._max_backoff = max_backoff
        self.subscriptions = 0  # how many times the subscription was confirmed

    async def run(self) -> None:
        backoff = Backoff(maximum=self._max_backoff)
        while True:
            try:
                await self._listen(backoff)
            except REDIS_DOWN as exc:
                delay = backoff.next_delay()
                log.warning("pub/sub lost Redis (%s); retrying in %.2fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)

    async def _listen(self, backoff: Backoff) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(*self._channels)
            while True:
                message = await pubsub.get_message(timeout=self._wakeup_interval)
                if message is None:
                    continue
                if message["type"] == "subscribe" and message["channel"] == self._channels[-1]:
                    # Confirmations come in the order of the channels: the last one means
                    # all are in place. redis-py also resubscribes by itself after a
                    # dropped connection, which lands here too.
                    self.subscriptions += 1
                    backoff.reset()
                    await self._on_subscribed()
                elif message["type"] == "message":
                    await self._on_message(message["channel"], message["data"])
