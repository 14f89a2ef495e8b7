"""Redis Cluster: every key of the service in one slot, found and followed by redis-py.

A cluster is named by one URL (wa_version_client.cluster_url), so every process takes it
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

import contextlib
from typing import Any

from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.cluster import LoadBalancingStrategy
from redis.exceptions import RedisError

from wa_version_client.cluster_url import ClusterTarget
from wa_version_client.contract.errors import ConfigError
from wa_version_client.url_parts import tls_options

# A cluster node's pool raises when its connections are all in use, where a single
# server's blocking pool queues the caller: its limit is set this many times higher, as
# a ceiling against a runaway rather than a queue.
POOL_HEADROOM = 4


def connect_cluster(
    target: ClusterTarget, connection: dict[str, Any], *, max_connections: int, replica: bool
) -> RedisCluster:
    """A client of the cluster `target` names; with `replica`, reads (and subscriptions)
    go to a replica of the slot when there is one.

    `connection` holds the options every client gets (timeouts, decoding, the retry: on
    a cluster, its own, which reads the slot map again before it tries once more).
    """
    return RedisCluster(
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


async def reread_slot_map(client: object, key: str) -> None:
    """On a cluster, make `client` read the slot map again if the node serving `key`'s
    slot fails; nothing for another client.

    Commands do this by themselves when a node fails them, but a subscription that lost
    its node would otherwise go back to it, the one the map still names for the channel,
    as long as no command failed on that node: a read of `key` is such a command.
    """
    if isinstance(client, RedisCluster):
        with contextlib.suppress(RedisError, OSError):  # the next attempt tries again
            await client.exists(key)


def require_hash_tag(prefix: str) -> None:
    """Raise ConfigError unless every name under `prefix` lands in one cluster slot."""
    opening = prefix.find("{")
    closing = prefix.find("}", opening + 1) if opening >= 0 else -1
    if opening < 0 or closing <= opening + 1:
        raise ConfigError(
            "on a Redis Cluster, REDIS_PREFIX must hold a hash tag so every key lands in "
            f"one slot: set REDIS_PREFIX={{{prefix[:40]}}} (README: High availability)"
        )
