"""Whether this deployment can answer refreshes: Redis reachable, a worker reading jobs."""

from __future__ import annotations

import logging

from shared.keys import ServiceKeys
from wa_version_client.contract import epoch_ms
from wa_version_client.deployment import REDIS_DOWN, RedisClient, describe

log = logging.getLogger(__name__)


async def readiness_problems(
    redis: RedisClient, keys: ServiceKeys, heartbeat_within: float
) -> list[str]:
    """What stands in the way of answering a refresh now; empty when ready."""
    try:
        # Workers note themselves alive every few seconds (see worker/lease.py).
        since = epoch_ms() - int(heartbeat_within * 1000)
        alive = await redis.zcount(keys.worker_heartbeats, since, "+inf")
    except REDIS_DOWN as exc:
        # The cause goes to the log, not to whoever asks: /readyz needs no secret.
        log.warning("not ready: Redis is unreachable: %s", describe(exc))
        return ["Redis is unreachable"]
    return [] if alive else [f"no worker heartbeat in the last {heartbeat_within:g}s"]
