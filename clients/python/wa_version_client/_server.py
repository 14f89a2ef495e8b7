"""One server named by its URL (`redis://`, `rediss://`, `unix://`), and what every
deployment whose clients each talk to one server shares (a Sentinel deployment's too)."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence

from redis.asyncio import BlockingConnectionPool, Redis

from wa_version_client._client_list import named_clients
from wa_version_client._connection import client_options, subscriber_options
from wa_version_client._deployment import (
    ClientLists,
    Deployment,
    OnMessage,
    OnSubscribed,
    RedisClient,
    Subscription,
)
from wa_version_client._logs import hide
from wa_version_client._redis_compat import raw_client_list
from wa_version_client._subscribed import SubscribedConnection


class ServerDeployment(Deployment):
    """A deployment whose clients each talk to one server at a time: a subscriber holds
    one connection (wa_version_client._subscribed), and a write can wait for replicas
    on the connection that made it."""

    @abstractmethod
    def server_client(self, *, max_connections: int = 64, subscriber: bool = False) -> Redis:
        """A client whose pool makes callers wait for a free connection.

        The default pool raises once its connections are all in use; a blocking pool
        queues the caller instead, so a burst of requests never fails for want of one.
        """

    def connect(self, *, max_connections: int = 64) -> Redis:
        return self.server_client(max_connections=max_connections)

    def subscribe(
        self,
        channels: Sequence[str],
        *,
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        ping_interval: float = 5.0,
        max_backoff: float = 1.0,
    ) -> Subscription:
        return SubscribedConnection(
            self.server_client(max_connections=1, subscriber=True),
            channels,
            on_message=on_message,
            on_subscribed=on_subscribed,
            ping_interval=ping_interval,
            max_backoff=max_backoff,
        )

    @contextlib.asynccontextmanager
    async def one_connection(self, client: RedisClient) -> AsyncIterator[Redis]:
        if not isinstance(client, Redis):  # a client of another deployment: a mistake
            raise TypeError(f"not a client of {self.description}: {type(client).__name__}")
        async with client.client() as one:
            yield one


class SingleServer(ServerDeployment):
    """A server named by its own URL; redis-py reads every option the URL holds."""

    description = "a single server"

    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def secrets(self) -> tuple[str, ...]:
        password = urllib.parse.unquote(urllib.parse.urlsplit(self._url).password or "")
        return (password,) if password else ()

    @property
    def tls(self) -> bool:
        return self._url.startswith("rediss://")

    def as_replica(self) -> Deployment:
        return ReplicaServer(self._url)

    async def client_lists(self, client: RedisClient) -> ClientLists:
        """The one server's clients, on a connection of `client`'s pool."""
        if not isinstance(client, Redis):
            raise TypeError(f"not a client of {self.description}: {type(client).__name__}")
        reply = await raw_client_list(client)
        return ClientLists([(self._where(), await asyncio.to_thread(named_clients, reply))])

    def _where(self) -> str:
        """The server as the fleet shows it: host:port, or the socket's path."""
        parts = urllib.parse.urlsplit(self._url)
        if parts.scheme == "unix":
            return parts.path
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"

    def server_client(self, *, max_connections: int = 64, subscriber: bool = False) -> Redis:
        hide(*self.secrets)
        options = subscriber_options() if subscriber else client_options()
        pool = BlockingConnectionPool.from_url(
            self._url, max_connections=max_connections, timeout=5, **options
        )
        return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


class ReplicaServer(SingleServer):
    """One replica named by its own URL (REDIS_REPLICA_URL): read and subscribed to;
    writes go to the primary, through the deployment REDIS_URL names."""

    description = "a replica"
    replicated_writes = False

    @property
    def reads_primary(self) -> bool:
        return False
