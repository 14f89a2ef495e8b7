"""The Redis deployment a URL names (one server, Sentinel or Cluster), behind one interface.

Every program that talks to the service's Redis (the service itself, a connection
manager's own commands) takes the same URL and environment (`REDIS_URL`, …) and
connects through here, so TLS options, timeouts, retries and failover behave the same.
`deployment_for(url)` chooses the kind once; a caller then asks the `Deployment` (a
pooled client, a subscription, following the primary, the settled primary, whether a
write can wait for replicas, the URL's secrets, whether a prefix fits), never which
kind it holds.
"""

from wa_version_client._client_list import NamedClient
from wa_version_client._connection import REDIS_DOWN, describe
from wa_version_client._deployment import (
    ClientLists,
    Deployment,
    OnMessage,
    OnSubscribed,
    RedisClient,
    ServerClients,
    Subscription,
)
from wa_version_client._from_url import (
    DEFAULT_REDIS_URL,
    check_redis_url,
    connect,
    connect_server,
    deployment_for,
    read_from,
    redis_url_from_env,
    replica_url_from_env,
    url_secrets,
)
from wa_version_client._operations import enqueue, enqueue_once_per, read_state
from wa_version_client._redis_compat import lost_under_write

__all__ = [
    "DEFAULT_REDIS_URL",
    "REDIS_DOWN",
    "ClientLists",
    "Deployment",
    "NamedClient",
    "OnMessage",
    "OnSubscribed",
    "RedisClient",
    "ServerClients",
    "Subscription",
    "check_redis_url",
    "connect",
    "connect_server",
    "deployment_for",
    "describe",
    "enqueue",
    "enqueue_once_per",
    "lost_under_write",
    "read_from",
    "read_state",
    "redis_url_from_env",
    "replica_url_from_env",
    "url_secrets",
]
