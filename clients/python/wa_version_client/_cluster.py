"""Redis Cluster: every key of the service in one slot, found and followed by redis-py.

A cluster is named by one URL (wa_version_client._cluster_url), so every process takes it
where it takes any other Redis URL (`REDIS_URL`):

    redis+cluster://[[user]:password@]host:port[,host:port…][?options]
    rediss+cluster://…   TLS to every node

The Lua script, the transaction-less pipelines and the stream commands each touch
several keys at once, which a cluster allows only within one hash slot: the prefix must
hold a hash tag (`{whatsapp}`), so every name derived from it hashes alike
(`require_hash_tag`). redis-py does the failover work: a node that fails or answers
MOVED makes the client read the slot map again, so commands go to the promoted replica.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.cluster import LoadBalancingStrategy
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

from wa_version_client._cluster_url import ClusterTarget
from wa_version_client._url_parts import tls_options
from wa_version_client.contract._errors import ConfigError

# A cluster node's pool raises when its connections are all in use, where a single
# server's blocking pool queues the caller. So commands queue for one of
# `max_connections` turns (QUEUE_WAIT at most, as the blocking pool waits), and a node's
# own limit is set this many times higher, for what takes no turn: pub/sub connections
# and pipelines.
POOL_HEADROOM = 4
QUEUE_WAIT = 5.0


class _QueueingCluster(RedisCluster):
    """A RedisCluster whose commands wait for a free turn rather than fail, and whose
    "cannot reach the cluster" is a ConnectionError like any unreachable Redis's."""

    def __init__(self, *args: Any, turns: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turns = asyncio.Semaphore(turns)

    async def initialize(self, *args: Any, **kwargs: Any) -> RedisCluster:
        try:
            return await super().initialize(*args, **kwargs)
        except RedisClusterException as exc:  # no node answered, or the slots are not covered
            raise RedisConnectionError(f"the cluster cannot be used: {exc}") from exc

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(QUEUE_WAIT):
                await self._turns.acquire()
        except TimeoutError:
            raise RedisConnectionError(f"no free connection within {QUEUE_WAIT:g}s") from None
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self._turns.release()


def connect_cluster(
    target: ClusterTarget, connection: dict[str, Any], *, max_connections: int, replica: bool
) -> RedisCluster:
    """A client of the cluster `target` names; with `replica`, reads (and subscriptions)
    go to a replica of the slot when there is one.

    `connection` holds the options every client gets (timeouts, decoding, the retry: on
    a cluster, its own, which reads the slot map again before it tries once more).
    """
    return _QueueingCluster(
        turns=max_connections,
        startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
        # A replica of the slot, the primary when it has none.
        load_balancing_strategy=LoadBalancingStrategy.RANDOM_REPLICA if replica else None,
        max_connections=max_connections * POOL_HEADROOM,
        username=target.username,
        password=target.password,
        **tls_options(target.tls, target.ssl_cert_reqs, target.ssl_ca_certs),
        **connection,
    )


async def slot_map_read(client: object) -> None:
    """Make sure a cluster client has read the slot map: its pub/sub looks a channel's
    node up there without reading it first (KeyError on a new client). Nothing for
    another client."""
    if isinstance(client, RedisCluster):
        await client.initialize()


async def reread_slot_map(client: object) -> None:
    """On a cluster, make `client` read the slot map again now; nothing for another client.

    Commands do this by themselves when a node fails them, but a subscription that lost
    its node (a primary or a replica) would otherwise go back to it, the one the map
    still names for the channel, for as long as no command happened to fail there.
    """
    if isinstance(client, RedisCluster):
        with contextlib.suppress(RedisError, OSError):  # the next attempt tries again
            await client.initialize()  # a client that never read it reads it here
            await client.nodes_manager.initialize()


def require_hash_tag(prefix: str) -> None:
    """Raise ConfigError unless every name under `prefix` lands in one cluster slot."""
    opening = prefix.find("{")
    closing = prefix.find("}", opening + 1) if opening >= 0 else -1
    if opening < 0 or closing <= opening + 1:
        bare = prefix.replace("{", "").replace("}", "")
        example = bare if bare and len(bare) <= 40 else "whatsapp"
        raise ConfigError(
            "on a Redis Cluster, REDIS_PREFIX must hold a hash tag so every key lands in "
            f"one slot: set REDIS_PREFIX={{{example}}} (README: High availability)"
        )
