"""The cluster client: commands queue for a connection rather than fail, and a cluster
that cannot be reached is a ConnectionError, as an unreachable single server is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from devtools.cluster import ClusterDeployment
from devtools.embedded import free_port
from wa_version_client.deployment import connect

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


@pytest.fixture
def cluster_deployment() -> Iterator[ClusterDeployment]:
    with ClusterDeployment() as deployment:
        yield deployment


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
