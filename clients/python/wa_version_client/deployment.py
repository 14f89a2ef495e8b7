"""The Redis deployment a URL names (one server, Sentinel or Cluster), connected alike.

Every program that talks to the service's Redis (the service itself, a connection
manager's own commands) takes the same URL and environment (`REDIS_URL`, …) and
connects through here, so TLS options, timeouts, retries and failover behave the same.
"""

from wa_version_client._cluster_url import is_cluster_url
from wa_version_client._connection import (
    DEFAULT_REDIS_URL,
    REDIS_DOWN,
    RedisClient,
    check_prefix_fits,
    check_redis_url,
    connect,
    connect_server,
    describe,
    read_from,
    redis_url_from_env,
    replica_url_from_env,
    url_secrets,
)
from wa_version_client._operations import enqueue, read_state
from wa_version_client._pubsub import Subscription
from wa_version_client._sentinel import follow_primary, settled_primary

__all__ = [
    "DEFAULT_REDIS_URL",
    "REDIS_DOWN",
    "RedisClient",
    "Subscription",
    "check_prefix_fits",
    "check_redis_url",
    "connect",
    "connect_server",
    "describe",
    "enqueue",
    "follow_primary",
    "is_cluster_url",
    "read_from",
    "read_state",
    "redis_url_from_env",
    "replica_url_from_env",
    "settled_primary",
    "url_secrets",
]
