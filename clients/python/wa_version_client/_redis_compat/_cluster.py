"""Cluster: commands that queue for a connection, the slot map read again, and a pub/sub
whose connection also takes commands."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError


class _QueueingCluster(RedisCluster):
    """A RedisCluster whose commands wait for one of `turns` rather than fail when its
    pools are full, and whose "cannot reach the cluster" is a ConnectionError like any
    unreachable Redis's."""

    def __init__(self, *args: Any, turns: int, queue_wait: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turns = asyncio.Semaphore(turns)
        self._queue_wait = queue_wait

    async def initialize(self, *args: Any, **kwargs: Any) -> RedisCluster:
        try:
            return await super().initialize(*args, **kwargs)
        except RedisClusterException as exc:  # no node answered, or the slots are not covered
            raise RedisConnectionError(f"the cluster cannot be used: {exc}") from exc

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._queue_wait):
                await self._turns.acquire()
        except TimeoutError:
            wait = self._queue_wait
            raise RedisConnectionError(f"no free connection within {wait:g}s") from None
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self._turns.release()


def cluster_client(*, turns: int, queue_wait: float, **options: Any) -> RedisCluster:
    """A RedisCluster made with `options` whose commands queue for one of `turns`."""
    return _QueueingCluster(turns=turns, queue_wait=queue_wait, **options)


async def reread_slot_map(client: RedisCluster) -> None:
    """Make `client` read the cluster's slot map again now. Its initialize() reads it
    only once; its nodes manager's reads it each time. Failures are left to the next try."""
    try:
        await client.initialize()  # a client that never read it reads it here
        await client.nodes_manager.initialize()
    except (RedisError, OSError):
        pass


def replying_pubsub(client: RedisCluster) -> PubSub:
    """`client`'s pub/sub, on which a command sent while subscribed (CLIENT SETNAME, a
    RESP3 PING) comes back to the reader as a message of type "reply", its data the reply.

    redis-py's PubSub takes any reply that is not bytes for a push frame: a decoded
    "OK" is indexed as a list and raises IndexError out of get_message(), and "PONG"
    turns into a message of type "P". Its handle_message is replaced on this instance
    only (RedisCluster.pubsub() makes it; redis-py 7.2's asyncio cluster has none).
    """
    pubsub: PubSub = client.pubsub()
    handle = pubsub.handle_message

    async def handle_reply(response: Any, ignore_subscribe_messages: bool = False) -> Any:
        if isinstance(response, str):  # a reply: a push frame is a list
            return {"type": "reply", "pattern": None, "channel": None, "data": response}
        return await handle(response, ignore_subscribe_messages)  # type: ignore[no-untyped-call]

    pubsub.handle_message = handle_reply  # type: ignore[method-assign]
    return pubsub
