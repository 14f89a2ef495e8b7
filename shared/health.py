"""Whether this deployment can answer refreshes: Redis reachable, a worker reading jobs."""

from __future__ import annotations

from redis.asyncio import Redis

from shared.keys import Keys
from shared.redis import REDIS_DOWN


async def readiness_problems(redis: Redis, keys: Keys) -> list[str]:
    """What stands in the way of answering a refresh now; empty when ready."""
    try:
        # The lease is renewed every few seconds by the worker that reads jobs: its
        # presence is the heartbeat of a working worker.
        worker = await redis.exists(keys.worker_lease)
    except REDIS_DOWN:
        return ["Redis is unreachable"]
    return [] if worker else ["no worker is reading refresh jobs"]
