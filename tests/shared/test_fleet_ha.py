"""The fleet on a real Sentinel deployment and a real Cluster: managers are counted on
whichever server they are connected to (the primary, a replica, any node), each shown
with that server; a server that cannot be listed leaves the others counted."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from devtools.cluster import ClusterDeployment
from devtools.embedded import RedisServer, free_port
from devtools.sentinels import SERVICE, SentinelDeployment
from shared.fleet import Fleet, FleetReader
from shared.keys import ServiceKeys
from tests.conftest import hash_tagged_prefix
from tests.support import publish_version, wait_until
from wa_version_client import VersionSubscriber
from wa_version_client._listing import list_servers
from wa_version_client.deployment import RedisClient, deployment_for

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


prefix = pytest.fixture(hash_tagged_prefix, name="prefix")


@pytest.fixture
async def service_client(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, RedisClient]]:
    """(url, the service's client of it) for the deployment fixture the test names."""
    url: str = request.getfixturevalue(request.param).url()
    redis = deployment_for(url).connect()
    try:
        yield url, redis
    finally:
        await redis.aclose()


def servers_of(fleet: Fleet) -> dict[str, set[str]]:
    """Each manager id: the servers it is listed on."""
    found: dict[str, set[str]] = {}
    for manager in fleet.managers:
        found.setdefault(manager.id, set()).add(manager.server)
    return found


async def holding(reader: FleetReader, ids: list[str], version: str) -> bool:
    """Whether each of `ids` is listed once, holding `version`."""
    fleet = await reader.read()
    held = [(m.id, str(m.version)) for m in fleet.managers if m.id in ids]
    return sorted(held) == sorted((manager_id, version) for manager_id in ids)


@pytest.mark.parametrize(
    "service_client", ["sentinel_deployment", "cluster_deployment"], indirect=True
)
async def test_managers_on_the_primary_and_on_a_replica_are_each_counted_where_they_are(
    service_client: tuple[str, RedisClient], keys: ServiceKeys
) -> None:
    """One subscriber reads the primary, one a replica (read_from_replica): both are in
    the fleet, each on its own server, and renamed there when the version changes (on a
    cluster, through the pub/sub connection redis-py holds)."""
    url, redis = service_client
    await publish_version(redis, keys, 300)
    reader = FleetReader(deployment_for(url), redis, ttl=0)
    tag = uuid.uuid4().hex[:8]
    ids = [f"on-primary-{tag}", f"on-replica-{tag}"]
    async with (
        VersionSubscriber(url, prefix=keys.prefix, manager_id=ids[0]) as on_primary,
        VersionSubscriber(
            url, prefix=keys.prefix, manager_id=ids[1], read_from_replica=True
        ) as on_replica,
    ):
        await wait_until(lambda: holding(reader, ids, "2.3000.300"), within=30)
        await publish_version(redis, keys, 301)
        await wait_until(lambda: holding(reader, ids, "2.3000.301"), within=30)
        fleet = await reader.read()
        # Renaming never cost a subscription its connection (a reply misread would).
        assert on_primary.subscription.losses == on_replica.subscription.losses == 0
    servers = servers_of(fleet)
    assert len(servers[ids[0]]) == len(servers[ids[1]]) == 1
    assert servers[ids[0]] != servers[ids[1]]  # a replica is another server
    assert fleet.unlisted == ()


async def test_every_node_of_a_cluster_is_listed_by_its_address(
    cluster_deployment: ClusterDeployment,
) -> None:
    deployment = deployment_for(cluster_deployment.url())
    redis = deployment.connect()
    try:
        lists = await deployment.client_lists(redis)
    finally:
        await redis.aclose()
    assert sorted(server for server, _ in lists.listed) == sorted(
        f"127.0.0.1:{port}" for port in cluster_deployment.servers
    )


async def test_a_replica_the_sentinels_see_down_is_skipped_and_the_rest_listed(
    sentinel_deployment: SentinelDeployment,
) -> None:
    deployment = deployment_for(sentinel_deployment.url())
    redis = deployment.connect()
    stopped = sentinel_deployment.replica_ports()[0]
    try:
        sentinel_deployment.servers[stopped].stop()
        await wait_until(lambda: _seen_down(sentinel_deployment, stopped), within=30)
        lists = await deployment.client_lists(redis)
    finally:
        await redis.aclose()
    listed = {server for server, _ in lists.listed}
    expected = {f"127.0.0.1:{port}" for port in sentinel_deployment.servers if port != stopped}
    assert listed == expected
    assert lists.unlisted == ()


def _seen_down(deployment: SentinelDeployment, port: int) -> bool:
    with deployment.sentinels[0].client() as sentinel:
        replicas = sentinel.sentinel_slaves(SERVICE)
    return any(int(r["port"]) == port and r["is_sdown"] for r in replicas)


async def test_a_server_that_cannot_be_listed_is_named_and_logged_and_the_rest_counted(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A replica the sentinels still report up, a node, that refuses the connection."""
    closed = free_port()
    with caplog.at_level(logging.WARNING):
        lists = await list_servers([("127.0.0.1", redis_server.port), ("127.0.0.1", closed)], {})
    assert [server for server, _ in lists.listed] == [f"127.0.0.1:{redis_server.port}"]
    assert lists.unlisted == (f"127.0.0.1:{closed}",)
    assert f"listing the clients of 127.0.0.1:{closed} failed" in caplog.text


async def test_no_server_listed_is_an_error() -> None:
    with pytest.raises(RedisConnectionError):
        await list_servers([("127.0.0.1", free_port())], {})


async def test_a_name_a_cluster_node_refuses_is_logged_once_and_the_subscription_goes_on(
    cluster_deployment: ClusterDeployment, keys: ServiceKeys, caplog: pytest.LogCaptureFixture
) -> None:
    """The refusal comes back to the subscription's reader, not to rename(): it is taken
    for the rename's, logged once, and the connection kept (a space: Redis refuses it)."""
    url = cluster_deployment.url()
    redis = deployment_for(url).connect()
    reader = FleetReader(deployment_for(url), redis, ttl=0)
    try:
        async with VersionSubscriber(url, prefix=keys.prefix, manager_id="refused") as subscriber:
            subscription = subscriber.subscription
            await wait_until(lambda: subscription.subscriptions >= 1)
            with caplog.at_level(logging.WARNING):
                await subscription.rename("bad name")
                await subscription.rename("bad name")
                await subscription.rename("wav1:renamed:python:-")  # answered after the two
                await wait_until(lambda: _listed(reader, "renamed"))
            assert subscription.losses == 0
    finally:
        await redis.aclose()
    assert caplog.text.count("naming the subscribed connection failed") == 1


async def _listed(reader: FleetReader, manager_id: str) -> bool:
    return any(manager.id == manager_id for manager in (await reader.read()).managers)
