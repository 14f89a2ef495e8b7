"""The web's held state (shared/held_state.py) with real web and worker processes, on one
server, on Sentinel and on a Cluster: the word of each write reaches the web on the
subscription it holds for the answers, ahead of the answer, wherever Redis publishes it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.cluster import ClusterDeployment
from devtools.embedded import RedisServer
from devtools.sentinels import SentinelDeployment
from tests.e2e.conftest import Launcher, web_process
from tests.support import AUTH, REFRESH, VERSION, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


@pytest.fixture
def prefix() -> str:
    """Hash-tagged: on a cluster every key of the service shares one slot."""
    return f"{{test-{uuid.uuid4().hex[:12]}}}"


@pytest.fixture
def cluster_deployment() -> Iterator[ClusterDeployment]:
    with ClusterDeployment() as deployment:
        yield deployment


async def writes_show(launch: Launcher, redis_url: str) -> None:
    """Through one web, each refresh (timestamps alone change) shows in the GET that
    follows it, within the copy's second; a pin through another web shows too."""
    launch("worker", REDIS_URL=redis_url)
    web, other = (web_process(launch, REDIS_URL=redis_url) for _ in range(2))
    async with (
        httpx.AsyncClient(base_url=web.base_url, timeout=30, headers=AUTH) as client,
        httpx.AsyncClient(base_url=other.base_url, timeout=30, headers=AUTH) as elsewhere,
    ):
        for _ in range(3):
            await client.get(VERSION)  # the copy, held from here
            refreshed = (await client.post(REFRESH)).json()["data"]
            assert refreshed.pop("refreshed") is True
            assert (await client.get(VERSION)).json()["data"] == refreshed
        pinned = await elsewhere.put(VERSION, json={"version": "2.3000.1026131000"})
        assert pinned.status_code == 200, pinned.text

        async def shown() -> Any:
            return (await client.get(VERSION)).json()["data"] == pinned.json()["data"]

        await wait_until(shown, within=10)


async def test_on_one_server(launch: Launcher, own_redis: RedisServer) -> None:
    await writes_show(launch, own_redis.url)


async def test_on_sentinel(launch: Launcher, sentinel_deployment: SentinelDeployment) -> None:
    await writes_show(launch, sentinel_deployment.url())


async def test_on_a_cluster(launch: Launcher, cluster_deployment: ClusterDeployment) -> None:
    await writes_show(launch, cluster_deployment.url())
