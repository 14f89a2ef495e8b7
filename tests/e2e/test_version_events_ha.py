"""The event stream on Sentinel and on a Cluster: the web follows the version wherever
the deployment keeps it, and its streams get the current version and each change."""

from __future__ import annotations

import pytest

from devtools.cluster import ClusterDeployment
from devtools.sentinels import SentinelDeployment
from devtools.stub_upstream import StubUpstream
from tests.conftest import hash_tagged_prefix
from tests.e2e.conftest import Launcher, web_process
from tests.e2e.test_version_events import NEXT_REVISION, expected_id, refresh, stream

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


prefix = pytest.fixture(hash_tagged_prefix, name="prefix")


async def follow_a_change(launch: Launcher, upstream: StubUpstream, redis_url: str) -> None:
    launch("worker", REDIS_URL=redis_url)
    web = web_process(launch, REDIS_URL=redis_url)
    before = await refresh(web)
    async with stream(web) as events:
        assert (await events.next_event())["id"] == expected_id(before)
        upstream.configure(revision=NEXT_REVISION)
        after = await refresh(web)
        assert (await events.next_event())["id"] == expected_id(after)


async def test_on_sentinel(
    launch: Launcher, upstream: StubUpstream, sentinel_deployment: SentinelDeployment
) -> None:
    await follow_a_change(launch, upstream, sentinel_deployment.url())


async def test_on_a_cluster(
    launch: Launcher, upstream: StubUpstream, cluster_deployment: ClusterDeployment
) -> None:
    await follow_a_change(launch, upstream, cluster_deployment.url())
