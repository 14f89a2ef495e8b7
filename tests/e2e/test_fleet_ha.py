"""The fleet through real processes on Sentinel and on a Cluster: watchers are counted on
whichever server they read (a replica, any node), and the web's own subscriber is none."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from devtools.cluster import ClusterDeployment
from devtools.embedded import RedisServer
from devtools.sentinels import SentinelDeployment
from tests.conftest import hash_tagged_prefix
from tests.e2e.conftest import Launcher, web_process
from tests.e2e.processes import Process
from tests.support import AUTH, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

FLEET = "/admin/whatsapp/fleet"


prefix = pytest.fixture(hash_tagged_prefix, name="prefix")


async def fleet_of(web: Process) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as api:
        response = await api.get(FLEET, headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def servers_of(web: Process, ids: list[str]) -> dict[str, str]:
    """Each of `ids` listed exactly once: its server; {} until all are."""
    managers = (await fleet_of(web))["managers"]
    found = [(m["id"], m["server"]) for m in managers if m["id"] in ids]
    return dict(found) if sorted(i for i, _ in found) == sorted(ids) else {}


async def watchers_listed(launch: Launcher, url: str) -> tuple[Process, dict[str, str]]:
    """A web and two watchers on `url`, one reading the primary, one a replica: the web,
    and each watcher's server once the web's fleet lists both."""
    web = web_process(launch, REDIS_URL=url)
    launch("watcher", REDIS_URL=url, WA_MANAGER_ID="on-primary")
    launch("watcher", REDIS_URL=url, WA_MANAGER_ID="on-replica", REDIS_READ_FROM="replica")
    ids = ["on-primary", "on-replica"]
    await wait_until(lambda: _all_listed(web, ids), within=30)
    return web, await servers_of(web, ids)


async def test_on_sentinel_a_watcher_reading_a_replica_is_counted_on_it(
    launch: Launcher, sentinel_deployment: SentinelDeployment
) -> None:
    web, servers = await watchers_listed(launch, sentinel_deployment.url())
    assert servers["on-primary"] == f"127.0.0.1:{sentinel_deployment.primary_port()}"
    replicas = {f"127.0.0.1:{port}" for port in sentinel_deployment.replica_ports()}
    assert servers["on-replica"] in replicas
    assert (await fleet_of(web))["unlisted"] == []


async def test_on_a_cluster_watchers_on_different_nodes_are_all_counted(
    launch: Launcher, cluster_deployment: ClusterDeployment
) -> None:
    _, servers = await watchers_listed(launch, cluster_deployment.url())
    nodes = {f"127.0.0.1:{port}" for port in cluster_deployment.servers}
    assert set(servers.values()) <= nodes
    assert servers["on-primary"] != servers["on-replica"]


async def test_the_web_process_subscriber_is_no_manager(launch: Launcher) -> None:
    """The web follows the version on a subscription of its own (the event streams); its
    connection stays unnamed, so a fleet of no gateway counts no manager. On a server of
    its own: every subscribed connection there is the web's."""
    with RedisServer() as server:
        web = web_process(launch, REDIS_URL=server.url)
        redis = Redis.from_url(server.url, decode_responses=True)
        try:
            # Subscribed, then read the hash on that connection: what it would have been
            # named right after.
            await wait_until(lambda: _subscribed_and_read(redis), within=30)
            subscribed = [c for c in await redis.client_list() if c.get("sub", "0") != "0"]
        finally:
            await redis.aclose()
        assert subscribed
        assert {c["name"] for c in subscribed} == {""}
        fleet = await fleet_of(web)
        assert fleet["managers"] == []
        assert fleet["ignored"] == 0


async def _all_listed(web: Process, ids: list[str]) -> bool:
    return bool(await servers_of(web, ids))


async def _subscribed_and_read(redis: Redis) -> bool:
    """Whether a subscribed connection ran a command after SUBSCRIBE."""
    clients = await redis.client_list()
    return any(c.get("sub", "0") != "0" and c["cmd"] != "subscribe" for c in clients)
