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

from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.cluster import LoadBalancingStrategy

from wa_version_client import _redis_compat as compat
from wa_version_client._cluster_url import ClusterTarget, parse_cluster_url
from wa_version_client._connection import client_options
from wa_version_client._deployment import (
    ClientLists,
    HostsDeployment,
    OnMessage,
    OnSubscribed,
    RedisClient,
    Subscription,
)
from wa_version_client._listing import list_servers
from wa_version_client._logs import hide
from wa_version_client._pubsub import PubSubSubscription
from wa_version_client._url_parts import tls_options
from wa_version_client.contract._errors import ConfigError

# A cluster node's pool raises when its connections are all in use, where a single
# server's blocking pool queues the caller. So commands queue for one of
# `max_connections` turns (QUEUE_WAIT at most, as the blocking pool waits), and a node's
# own limit is set this many times higher, for what takes no turn: pub/sub connections
# and pipelines.
POOL_HEADROOM = 4
QUEUE_WAIT = 5.0


class ClusterDeployment(HostsDeployment[ClusterTarget]):
    """The cluster `target` names; with `replica`, reads (and subscriptions) go to a
    replica of the slot when there is one."""

    description = "a Redis Cluster"
    # Not yet: WAIT would need the connection to the slot's primary that made the write.
    replicated_writes = False

    @classmethod
    def from_url(cls, url: str) -> ClusterDeployment:
        return cls(parse_cluster_url(url))

    def check_prefix(self, prefix: str) -> None:
        require_hash_tag(prefix)

    def connect(self, *, max_connections: int = 64) -> RedisCluster:
        """A client of the cluster. Its connection options are every client's (timeouts,
        decoding, the retry: on a cluster, its own, which reads the slot map again
        before it tries once more)."""
        hide(*self.secrets)
        target = self._target
        return compat.cluster_client(
            turns=max_connections,
            queue_wait=QUEUE_WAIT,
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            # A replica of the slot, the primary when it has none.
            load_balancing_strategy=LoadBalancingStrategy.RANDOM_REPLICA if self._replica else None,
            max_connections=max_connections * POOL_HEADROOM,
            username=target.username,
            password=target.password,
            **tls_options(target.tls, target.ssl_cert_reqs, target.ssl_ca_certs),
            **client_options(),
        )

    async def ask_holder(self, client: RedisClient, key: str, *command: str) -> Any:
        assert isinstance(client, RedisCluster), "a cluster's clients are RedisCluster"
        await client.initialize()  # the slot map, read on first use: at once if known
        holder = client.get_node_from_key(key)  # the slot's primary, even reading replicas
        return await client.execute_command(*command, target_nodes=holder)

    async def client_lists(self, client: RedisClient) -> ClientLists:
        """Every node `client` knows of, primaries and replicas: a subscriber is connected
        to its channel's node, a replica of it when reading from replicas."""
        assert isinstance(client, RedisCluster), "a cluster's clients are RedisCluster"
        await client.initialize()  # the slot map, read on first use: at once if known
        nodes = sorted((node.host, int(node.port)) for node in client.get_nodes())
        target = self._target
        tls = tls_options(target.tls, target.ssl_cert_reqs, target.ssl_ca_certs)
        return await list_servers(
            nodes, {"username": target.username, "password": target.password, **tls}
        )

    def subscribe(
        self,
        channels: Sequence[str],
        *,
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        ping_interval: float = 5.0,
        max_backoff: float = 1.0,
    ) -> Subscription:
        """redis-py's pub/sub, which follows the channel's slot to its node, on a client
        of its own: a pub/sub connection and pooled ones for `command()`."""
        return PubSubSubscription(
            self.connect(max_connections=4),
            channels,
            on_message=on_message,
            on_subscribed=on_subscribed,
            ping_interval=ping_interval,
            max_backoff=max_backoff,
        )


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
