"""Cluster: commands that queue for a connection, and the slot map read again."""

from __future__ import annotations

import asyncio
from typing import Any

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
