"""Redis Cluster against the real processes: refreshes, pins, subscribers, and the primary
of the service's slot killed under traffic.

Three primaries with one replica each (devtools/cluster.py); web, worker and subscribers
on the `redis+cluster://` URL with a hash-tagged prefix, so every key lives in one slot.
After the slot's primary dies its replica is promoted and every process follows it with
no restart, every call is answered, every subscriber ends on the latest version, and no
job is left pending. The figures measured are printed (`pytest -s`) and quoted in the
README's "High availability".
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from devtools.cluster import ClusterDeployment
from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.conftest import hash_tagged_prefix
from tests.e2e.conftest import Launcher
from tests.e2e.failover import (
    DURING,
    FIRST,
    LAST,
    TIMING,
    FailoverSystem,
    all_on,
    back_and_on_to_last,
)
from tests.e2e.processes import Process, refresh_command, strings
from tests.e2e.traffic import Traffic
from tests.support import AUTH, REFRESH, VERSION, wait_until
from wa_version_client import VersionSubscriber
from wa_version_client.deployment import connect, connect_server

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

PIN = 1026139999


prefix = pytest.fixture(hash_tagged_prefix, name="prefix")


@dataclass
class System(FailoverSystem):
    """Web and worker on the cluster, subscribers on primaries and on replicas."""

    cluster: ClusterDeployment

    def client(self) -> RedisCluster:
        client = connect(self.cluster.url())
        assert isinstance(client, RedisCluster)
        return client


@pytest.fixture
async def system(
    cluster_deployment: ClusterDeployment,
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    keys: ServiceKeys,
) -> AsyncIterator[System]:
    url = cluster_deployment.url()
    worker = launch("worker", REDIS_URL=url, **TIMING)
    web = start_web(REDIS_URL=url, **TIMING)
    upstream.configure(revision=FIRST)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        answer = await client.post(REFRESH, headers=AUTH)
        assert answer.status_code == 200, answer.text
    async with AsyncExitStack() as stack:
        subscribers = [
            await stack.enter_async_context(
                VersionSubscriber(url, prefix=keys.prefix, read_from_replica=on_replica)
            )
            for on_replica in (False, True) * 5
        ]
        system = System(worker, web, subscribers, keys, cluster_deployment)
        await wait_until(lambda: system.on(FIRST))
        await wait_until(lambda: all(s.subscription.subscriptions for s in subscribers))
        yield system


async def test_refreshes_and_pins_reach_every_subscriber(
    system: System, upstream: StubUpstream
) -> None:
    """On a cluster a refresh stores and announces the new version, a pin overrides it,
    an unpin gives the fetched one back, and every subscriber (on the slot's primary and
    on its replica) follows each."""
    upstream.configure(revision=LAST)
    async with httpx.AsyncClient(base_url=system.web.base_url, timeout=30) as client:
        refreshed = await client.post(REFRESH, headers=AUTH)
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["data"]["wa_web_version"]["string"] == f"2.3000.{LAST}"
        await wait_until(lambda: system.on(LAST))
        pinned = await client.put(VERSION, headers=AUTH, json={"version": f"2.3000.{PIN}"})
        assert pinned.status_code == 200, pinned.text
        await wait_until(lambda: system.on(PIN))
        unpinned = await client.delete(f"{VERSION}/pin", headers=AUTH)
        assert unpinned.status_code == 200, unpinned.text
    await wait_until(lambda: system.on(LAST))


async def test_a_new_cluster_client_subscribes_at_its_first_attempt(system: System) -> None:
    """The web's result subscription, the first thing its new cluster client does, reads
    the slot map before it subscribes: no attempt fails (redis-py's cluster pub/sub looks
    the channel's node up in a map a new client has not read yet), none waits a backoff."""
    async with httpx.AsyncClient(base_url=system.web.base_url, timeout=30) as client:
        metrics = (await client.get("/metrics", headers=AUTH)).text
    assert "wa_subscription_reconnects_total 0.0" in metrics.splitlines()


async def test_killing_the_slot_primary_under_traffic_loses_nothing(
    system: System, upstream: StubUpstream
) -> None:
    """SIGKILL the primary serving the service's slot while refreshes run: every call
    answers 200, 503 or 504 within REFRESH_WAIT; a refresh answers 200 again within
    seconds of the promotion; every subscriber ends on the latest version; no job is left
    pending; web and worker keep their PIDs."""
    pids = system.pids()
    async with Traffic(system.web.base_url) as traffic:
        await wait_until(lambda: 200 in traffic.statuses_since(0), within=30)
        upstream.configure(revision=DURING)
        old = system.cluster.owner_of(system.keys.version)
        killed = time.monotonic()
        system.cluster.servers[old].signal(signal.SIGKILL)
        await asyncio.to_thread(system.cluster.wait_for_promotion, old)
        promoted = time.monotonic()
        await back_and_on_to_last(traffic, upstream, promoted)
    first_200 = traffic.first_since(promoted, 200)
    assert first_200 is not None
    converged = await _time_to(lambda: system.on(LAST), within=15)
    print(
        f"\ncluster failover: promoted {promoted - killed:.2f}s after SIGKILL; "
        f"first 200 {first_200.at - promoted:.2f}s after the promotion; subscribers on "
        f"the latest {converged:.2f}s after its answer; "
        f"answers {sorted(set(traffic.statuses_since(0)))}, "
        f"slowest {max(a.seconds for a in traffic.answers):.2f}s"
    )
    await system.assert_settled(traffic, pids)


async def test_subscribers_on_a_dead_replica_move_to_the_primary(
    system: System, upstream: StubUpstream
) -> None:
    """SIGKILL the replica of the service's slot: the subscribers that read from it read
    the slot map again, subscribe on the primary (the slot has no other replica), and
    hear the next refresh within seconds of the cluster marking the replica failed."""
    primary = system.cluster.owner_of(system.keys.version)
    (replica,) = system.cluster.paired[primary]
    system.cluster.servers[replica].signal(signal.SIGKILL)
    killed = time.monotonic()
    upstream.configure(revision=LAST)
    async with httpx.AsyncClient(base_url=system.web.base_url, timeout=30) as client:
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
    await wait_until(lambda: system.on(LAST), within=10)
    seconds = time.monotonic() - killed
    print(f"\ncluster replica lost: every subscriber on the latest {seconds:.2f}s after SIGKILL")


async def test_subscribers_on_replicas_add_no_subscriber_to_the_primary(
    system: System, upstream: StubUpstream
) -> None:
    """Twenty subscribers reading from replicas hear a refresh made on the primary, and
    add no pub/sub client to the primary serving the slot."""
    primary = connect_server(f"redis://127.0.0.1:{system.cluster.owner_of(system.keys.version)}")
    try:
        before = await _listening(primary)
        url = system.cluster.url()
        async with AsyncExitStack() as stack:
            on_replicas = [
                await stack.enter_async_context(
                    VersionSubscriber(url, prefix=system.keys.prefix, read_from_replica=True)
                )
                for _ in range(20)
            ]
            await wait_until(lambda: all(s.subscription.subscriptions for s in on_replicas))
            upstream.configure(revision=LAST)
            async with httpx.AsyncClient(base_url=system.web.base_url, timeout=30) as client:
                assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
            await wait_until(lambda: all_on(on_replicas, LAST))
            during = await _listening(primary)
    finally:
        await primary.aclose()
    assert during == before, (before, during)


async def test_the_watcher_and_the_refresh_command_work_on_a_cluster(
    system: System, launch: Launcher, base_env: dict[str, str], upstream: StubUpstream
) -> None:
    """The Procfile's watcher (reading from a replica) and `python -m worker refresh` take
    the redis+cluster:// URL like every other process: the command refreshes, the
    watcher prints the version before and after."""
    url = system.cluster.url()
    watcher = launch("watcher", REDIS_URL=url, REDIS_READ_FROM="replica")
    await wait_until(lambda: strings(watcher) == [f"2.3000.{FIRST}"], within=30)
    upstream.configure(revision=LAST)
    done = await asyncio.to_thread(refresh_command, {**base_env, "REDIS_URL": url, **TIMING})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["wa_web_version"]["string"] == f"2.3000.{LAST}"
    await wait_until(lambda: strings(watcher) == [f"2.3000.{FIRST}", f"2.3000.{LAST}"], within=30)


async def _listening(redis: Redis) -> int:
    """How many pub/sub clients `redis` (one node) has."""
    return sum(1 for c in await redis.client_list() if int(c.get("sub", 0)))


async def _time_to(condition: Callable[[], bool], within: float) -> float:
    """Seconds until `condition` holds (polled), failing the test after `within`."""
    start = time.monotonic()
    await wait_until(condition, within=within)
    return time.monotonic() - start
