"""The cluster client: commands queue for a connection rather than fail, and a cluster
that cannot be reached is a ConnectionError, as an unreachable single server is."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from devtools.cluster import ClusterDeployment
from devtools.embedded import free_port
from shared.keys import ServiceKeys
from tests.support import publish_version, wait_until
from wa_version_client import VersionSubscriber
from wa_version_client.deployment import connect

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


async def test_a_burst_past_the_pool_waits_for_connections(
    cluster_deployment: ClusterDeployment,
) -> None:
    """600 commands at once on a client of 4 connections all answer: they take turns, as
    on a single server's blocking pool, instead of failing with MaxConnectionsError."""
    redis = connect(cluster_deployment.url(), max_connections=4)
    try:
        await redis.set("{t}:k", "v")
        answers = await asyncio.gather(*(redis.get("{t}:k") for _ in range(600)))
    finally:
        await redis.aclose()
    assert answers == ["v"] * 600


async def test_a_cluster_nobody_answers_for_is_a_connection_error() -> None:
    """No node of the URL answers: the command raises ConnectionError (a 503 for the API,
    a retry for the loops), not redis-py's RedisClusterException (a 500)."""
    redis = connect(f"redis+cluster://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(RedisConnectionError, match="the cluster cannot be used"):
            await redis.get("{t}:k")
    finally:
        await redis.aclose()


async def test_tracking_invalidations_on_a_cluster_subscription_are_counted_and_ignored(
    cluster_deployment: ClusterDeployment, caplog: pytest.LogCaptureFixture
) -> None:
    """The cluster's subscription (redis-py's PubSub) gets the tracking invalidations
    another client redirects onto it: counted, nothing logged above debug, the
    connection kept, and the next change followed."""
    caplog.set_level(logging.DEBUG, logger="wa_version_client")
    keys = ServiceKeys(f"{{test-{uuid.uuid4().hex[:12]}}}")  # one slot for every key
    url = cluster_deployment.url()
    writer = connect(url)
    node = Redis(
        port=cluster_deployment.owner_of(keys.version_changed), single_connection_client=True
    )
    try:
        async with VersionSubscriber(url, prefix=keys.prefix) as versions:
            await wait_until(lambda: versions.subscription.subscriptions == 1, within=30)
            subscribed = [c["id"] for c in await node.client_list() if c["sub"] == "1"]
            assert len(subscribed) == 1
            await node.client_tracking_on(clientid=int(subscribed[0]), bcast=True)
            for number in range(50):
                await node.set(f"{keys.prefix}:tracked:{number}", number)
            await wait_until(lambda: versions.subscription.ignored_pushes >= 50)
            await publish_version(writer, keys, 100)
            await wait_until(lambda: versions.current is not None, within=30)
            assert versions.subscription.losses == 0
    finally:
        await node.aclose()
        await writer.aclose()
    louder = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert louder == []
