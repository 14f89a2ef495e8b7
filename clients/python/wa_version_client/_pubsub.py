"""A cluster's subscription: redis-py's PubSub, which follows the channel's slot to the
node that serves it, kept up through Redis going away.

Pub/sub delivers at most once: whatever is published while the connection is down is
lost. So every subscription takes `on_subscribed`, called after each (re)subscription,
to re-read the state it might have missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Coroutine, Sequence
from typing import Any

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from wa_version_client import _redis_compat as compat
from wa_version_client._backoff import Backoff, Trouble
from wa_version_client._connection import describe
from wa_version_client._deployment import OnMessage, OnSubscribed
from wa_version_client._subscribed import NotConnected
from wa_version_client._tasks import cancel_and_wait

log = logging.getLogger(__name__)


class PubSubSubscription:
    """Subscribes to `channels` and hands every message to `on_message`, forever; the
    Subscription of a cluster (wa_version_client._deployment), on a client of its own.

    Run it as a task; cancel the task to stop. A lost connection, or any reply Redis
    gives that it should not, is logged and retried with backoff; after each
    subscription is confirmed, `on_subscribed` runs. A callback that fails is logged and
    skipped: the subscription goes on.
    """

    def __init__(
        self,
        redis: RedisCluster,
        channels: Sequence[str],
        *,
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        ping_interval: float = 5.0,
        max_backoff: float = 2.0,
    ) -> None:
        self._redis = redis
        self._channels = list(channels)
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._ping_interval = ping_interval
        self._max_backoff = max_backoff
        self._heard = 0.0
        self.first_attempt = asyncio.Event()  # set once the first attempt read or failed
        self.subscriptions = 0  # how many times the subscription was confirmed
        self.losses = 0  # how many times the connection was lost
        self.ignored_pushes = 0  # a message on a channel not subscribed to, say
        self._pubsub: PubSub | None = None  # while subscribed
        self._renames = 0  # CLIENT SETNAME sent on it and not answered yet
        self._refused = False  # a name refused: said once

    async def run(self) -> None:
        backoff = Backoff(maximum=self._max_backoff)
        trouble = Trouble(log, f"the subscription to {', '.join(self._channels)}")
        while True:
            try:
                # Its pub/sub looks the channel's node up in the slot map without reading
                # it first (KeyError on a new client).
                await self._redis.initialize()
                async with compat.replying_pubsub(self._redis) as pubsub:
                    await pubsub.subscribe(*self._channels)
                    _raise_if_cancelled()
                    self._heard = time.monotonic()
                    self._pubsub, self._renames = pubsub, 0
                    try:
                        await _first_to_end(
                            self._read(pubsub, backoff, trouble), self._watch(pubsub)
                        )
                    finally:
                        self._pubsub = None
            except Exception as exc:  # whatever Redis answers, subscribe again
                self.losses += 1
                self.first_attempt.set()
                delay = backoff.next_delay()
                trouble.failed(exc, delay)
                await asyncio.sleep(delay)
                # Commands re-read the map when a node fails them, but a subscription
                # that lost its node would otherwise go back to it, the one the map
                # still names for the channel, for as long as no command failed there.
                await compat.reread_slot_map(self._redis)

    async def _read(self, pubsub: PubSub, backoff: Backoff, trouble: Trouble) -> None:
        while True:
            message = await self._next(pubsub)
            if message is None:
                continue
            if message["type"] == "subscribe" and message["channel"] == self._channels[-1]:
                # Confirmations come in the order of the channels: the last one means
                # all are in place. redis-py also resubscribes by itself after a
                # dropped connection, which lands here too.
                self.subscriptions += 1
                backoff.reset()
                trouble.recovered()
                compat.hear_invalidations(pubsub, self._ignore)
                await _logging_failure(self._on_subscribed(), "after subscribing")
                self.first_attempt.set()
            elif message["type"] == "message" and message["channel"] in self._channels:
                try:
                    self._on_message(message["channel"], message["data"])
                except Exception:  # a failing handler: never the subscription's end
                    log.exception("handling a message on %.200s failed", message["channel"])
            elif message["type"] not in ("subscribe", "pong"):  # an invalidation (RESP2), say
                self._ignore(message)

    async def _next(self, pubsub: PubSub) -> dict[str, Any] | None:
        """The next message, or None for what is none: a reply to a command sent on the
        connection (CLIENT SETNAME's, a RESP3 PING's), a refused name (logged)."""
        try:
            # A read without a timeout: no timer per message, which matters with
            # thousands of subscribers in one process. _watch notices a dead peer.
            message: dict[str, Any] | None = await pubsub.get_message(timeout=None)
        except ResponseError as exc:
            self._refused_name(exc)  # raised unless a rename was waiting for it
            return None
        self._heard = time.monotonic()
        if message is not None and message["type"] == "reply":
            if message["data"] == "OK" and self._renames > 0:
                self._renames -= 1
            return None
        return message

    def _ignore(self, push: object) -> None:
        """A push that is neither a message on the channel nor a confirmation: a tracking
        invalidation another client redirected here, say. Nothing to act on."""
        self.ignored_pushes += 1
        log.debug("ignoring a push from Redis: %.200r", push)

    async def command(self, *args: str) -> Any:
        """Run a command on the subscription's client (its pooled connections)."""
        return await self._redis.execute_command(*args)

    async def rename(self, name: str) -> None:
        """CLIENT SETNAME on the subscribed connection (RESP3 allows it while subscribed).

        Sent, not waited for: the reader reads the reply, and it may be the one calling
        (`on_subscribed` runs in it). A refusal is logged there, once."""
        if self._pubsub is None:
            raise NotConnected("the subscription holds no connection now")
        self._renames += 1
        await self._pubsub.execute_command("CLIENT", "SETNAME", name)

    def _refused_name(self, exc: ResponseError) -> None:
        """An error reply on the subscribed connection: a rename's refusal, else raised."""
        if self._renames <= 0:
            raise exc
        self._renames -= 1
        if not self._refused:
            log.warning("naming the subscribed connection failed (not in the fleet): %s", exc)
        self._refused = True

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _watch(self, pubsub: PubSub) -> None:
        """PING when idle; a connection that stays silent for three intervals is dead."""
        while True:
            await asyncio.sleep(self._ping_interval)  # a keep-alive timer, not a race
            silent = time.monotonic() - self._heard
            if silent > 3 * self._ping_interval:
                raise RedisConnectionError(f"pub/sub connection silent for {silent:.0f}s")
            if silent >= self._ping_interval:
                await pubsub.ping()


async def _logging_failure(callback: Awaitable[None], what: str) -> None:
    """Await a callback; its failure is logged, so it cannot end the subscription."""
    try:
        await callback
    except RedisError as exc:  # Redis said why: no traceback needed
        log.warning("handling %s failed: %s", what, describe(exc))
    except Exception:
        log.exception("handling %s failed", what)


def _raise_if_cancelled() -> None:
    """Honour a cancellation that redis-py swallowed while connecting.

    A task cancelled during redis-py's connect carries on as if nothing happened (its
    cancel request stays counted); without this it would then wait forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _first_to_end(*coroutines: Coroutine[Any, Any, None]) -> None:
    """Run the coroutines together until one ends; cancel the rest; re-raise its error."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(*tasks)
    for task in done:
        task.result()
