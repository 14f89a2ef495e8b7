"""What a Redis restart does to the state, as read from the server that holds it."""

from __future__ import annotations

import pytest
from redis import Redis as SyncRedis

from devtools.cluster import ClusterDeployment
from devtools.embedded import RedisServer
from shared.keys import ServiceKeys
from shared.persistence import KEPT, LOST, UNKNOWN, Persistence, read_persistence
from wa_version_client.deployment import deployment_for


@pytest.mark.parametrize(
    ("aof", "save_points", "verdict"),
    [
        (True, "", KEPT),
        (True, None, KEPT),
        (False, "3600 1 300 100", KEPT),
        (False, "", LOST),
        (False, " ", LOST),
        (False, None, UNKNOWN),
    ],
)
def test_the_verdict(aof: bool, save_points: str | None, verdict: str) -> None:
    """AOF or any RDB save point keeps the state; neither loses it; a refused CONFIG
    with AOF off leaves it unknown."""
    assert Persistence(aof, save_points).verdict == verdict


@pytest.mark.server_sensitive
@pytest.mark.parametrize(
    ("args", "save", "expected"),
    [
        (("--save", "", "--appendonly", "no"), "", Persistence(False, "")),
        # Set once running: Redis 6.2 reads a command line's `--save "900 1"` otherwise.
        ((), "900 1 60 1000", Persistence(False, "900 1 60 1000")),
        (("--appendonly", "yes"), "", Persistence(True, "")),
        (("--rename-command", "CONFIG", ""), None, Persistence(False, None)),
    ],
)
async def test_read_from_a_server(
    args: tuple[str, ...], save: str | None, expected: Persistence, keys: ServiceKeys
) -> None:
    with RedisServer(None, *args) as server:
        if save is not None:
            with SyncRedis(port=server.port) as admin:
                admin.config_set("save", save)
        deployment = deployment_for(server.url)
        redis = deployment.connect()
        try:
            assert await read_persistence(deployment, redis, keys) == expected
        finally:
            await redis.aclose()


@pytest.mark.slow
@pytest.mark.server_sensitive
async def test_on_a_cluster_the_primary_of_the_slot_is_asked() -> None:
    """RDB save points on every node but the primary holding the hash: lost; on that one
    too: kept. Asking any other node would say kept the first time."""
    keys = ServiceKeys("{persistence}")
    with ClusterDeployment() as cluster:
        holder = cluster.owner_of(keys.version)
        others = [port for port in cluster.servers if port != holder]
        deployment = deployment_for(cluster.url())
        redis = deployment.connect()
        try:
            for ports, verdict in ((others, LOST), ([holder], KEPT)):
                for port in ports:
                    with SyncRedis(port=port, decode_responses=True) as node:
                        node.config_set("save", "900 1")
                assert (await read_persistence(deployment, redis, keys)).verdict == verdict
        finally:
            await redis.aclose()
