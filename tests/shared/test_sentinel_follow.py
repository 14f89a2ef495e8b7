"""A service process's connections follow the primary the sentinels name, without
waiting for the old one to refuse a command (follow_primary and the pool's release)."""

from __future__ import annotations

import asyncio

import pytest
from redis import Redis as SyncRedis

from devtools.sentinels import SERVICE, SentinelDeployment
from tests.support import wait_until
from wa_version_client.deployment import deployment_for
from wa_version_client.runtime import cancel_and_wait

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


def _ours_on(port: int) -> int:
    """How many ordinary clients (not a sentinel, not a replica, not this probe) the
    server on `port` has."""
    with SyncRedis(port=port, decode_responses=True) as probe:
        clients, itself = probe.client_list(), str(probe.client_id())
    return sum(
        1
        for c in clients
        if not c.get("name", "").startswith("sentinel")
        and not set(c.get("flags", "")) & {"S", "M"}
        and c.get("id") != itself
    )


def _switch_primary(deployment: SentinelDeployment) -> tuple[int, int]:
    """Have the sentinels promote a replica (SENTINEL FAILOVER); (old, new) ports."""
    old = deployment.primary_port()
    with deployment.sentinels[0].client() as sentinel:
        sentinel.execute_command("SENTINEL FAILOVER", SERVICE)
    return old, deployment.wait_for_promotion(old)


async def test_idle_connections_leave_a_primary_the_sentinels_no_longer_name(
    sentinel_deployment: SentinelDeployment,
) -> None:
    """With follow_primary running, the pool's idle connections to the old primary are
    closed within about a second of the sentinels naming a new one, before any command
    could meet the old one."""
    deployment = deployment_for(sentinel_deployment.url())
    redis = deployment.server_client()
    following = asyncio.create_task(deployment.follow_primary(redis, interval=0.2))
    try:
        await asyncio.gather(*(redis.ping() for _ in range(3)))  # a few idle connections
        old = sentinel_deployment.primary_port()
        assert _ours_on(old) >= 1
        await asyncio.to_thread(_switch_primary, sentinel_deployment)
        await wait_until(lambda: _ours_on(old) == 0, within=10)
    finally:
        await cancel_and_wait(following)
        await redis.aclose()


async def test_a_connection_busy_while_the_primary_changed_is_closed_when_handed_back(
    sentinel_deployment: SentinelDeployment,
) -> None:
    """A connection in use (as a blocking read would be) when the primary changed is
    closed as it returns to the pool, so its next use asks the sentinels."""
    deployment = deployment_for(sentinel_deployment.url())
    redis = deployment.server_client()
    following = asyncio.create_task(deployment.follow_primary(redis, interval=0.2))
    pool = redis.connection_pool
    try:
        async with redis.client() as one:
            await one.ping()
            connection = one.connection
            assert connection is not None
            _, new = await asyncio.to_thread(_switch_primary, sentinel_deployment)
            await wait_until(lambda: getattr(pool, "master_address", None) == ("127.0.0.1", new))
            assert connection.is_connected  # in use: left alone until handed back
        assert not connection.is_connected
    finally:
        await cancel_and_wait(following)
        await redis.aclose()
