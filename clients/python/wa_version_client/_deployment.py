"""One seam per Redis deployment: what every kind offers, behind one interface.

The kind is chosen once, from the URL (`deployment_for`, wa_version_client._from_url):
a single server (`redis://`, `rediss://`, `unix://`, wa_version_client._server), a
Sentinel deployment (`redis+sentinel://`, wa_version_client._sentinel) or a cluster
(`redis+cluster://`, wa_version_client._cluster); `replicas()` and `as_replica()` give
the same deployment read from its replicas, or one replica named by its own URL.
Whoever holds a `Deployment` asks it, never which kind it is: a pooled client, a
subscription, following the primary, the settled primary, whether a write can wait for
replicas, the secrets in the URL, whether a key prefix fits.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from wa_version_client._client_list import NamedClient
from wa_version_client.contract._errors import ConfigError

# A client of a single server or of a Sentinel deployment's primary, or of a cluster.
RedisClient = Redis | RedisCluster

# A message heard on a channel: (channel, data). Called as it is read: it must not wait
# for I/O (hand the work to a task if it must).
OnMessage = Callable[[str, str], None]
# Called after each (re)subscription, to read what may have been missed meanwhile.
OnSubscribed = Callable[[], Awaitable[None]]

# The clients one server holds named in the fleet's scheme, as CLIENT LIST tells them
# (wa_version_client._client_list): (the server, as host:port or a socket path; those).
ServerClients = tuple[str, list[NamedClient]]


@dataclass(frozen=True, slots=True)
class ClientLists:
    """The client lists of the servers a deployment knows, and the servers (host:port)
    that could not be listed (unreachable, refusing: each logged)."""

    listed: list[ServerClients]
    unlisted: tuple[str, ...] = ()


# How often a service process asks whether the primary changed (see follow_primary).
FOLLOW_INTERVAL = 1.0


class Subscription(Protocol):
    """A subscription that survives Redis going away; run `run()` as a task, cancel it to
    stop, then `aclose()`. Every message goes to its `OnMessage`, and after each
    subscription is in place its `OnSubscribed` runs; `command()` runs a command on the
    connection the subscription reads from, so a read cannot miss what the subscription
    is about to hear."""

    first_attempt: asyncio.Event  # set once the first attempt read or failed
    subscriptions: int  # how many times the subscription was confirmed
    losses: int  # how many times the connection was lost
    # Pushes that were neither a message on a subscribed channel nor a confirmation (a
    # tracking invalidation another client redirected here, say): counted, not acted on.
    ignored_pushes: int

    async def run(self) -> None: ...

    async def command(self, *args: str) -> Any: ...

    # Name the connection the subscription reads from (CLIENT SETNAME): what the fleet
    # lists (wa_version_client._naming); a kind that cannot does nothing.
    async def rename(self, name: str) -> None: ...

    async def aclose(self) -> None: ...


class Deployment(ABC):
    """A Redis deployment, as one URL names it."""

    # What the deployment is, for messages: "a single server", "a Redis Cluster", …
    description: ClassVar[str]
    # Whether a write can be made to wait for replicas (WAIT on the connection that wrote).
    replicated_writes: ClassVar[bool] = True

    @property
    def reads_primary(self) -> bool:
        """Whether its clients read from the primary (not a replica)."""
        return True

    @property
    @abstractmethod
    def secrets(self) -> tuple[str, ...]:
        """The passwords in the URL, for the log formatter to mask."""

    @property
    @abstractmethod
    def tls(self) -> bool:
        """Whether the URL asks for TLS (`rediss…://`)."""

    @abstractmethod
    def connect(self, *, max_connections: int = 64) -> RedisClient:
        """A pooled client; a caller waits for a free connection rather than fail."""

    @abstractmethod
    def subscribe(
        self,
        channels: Sequence[str],
        *,
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        ping_interval: float = 5.0,
        max_backoff: float = 1.0,
    ) -> Subscription:
        """A subscription to `channels` on connections of its own (see Subscription)."""

    def server_client(self, *, max_connections: int = 64, subscriber: bool = False) -> Redis:
        """A client of one server (this one, or the primary or replica the sentinels
        name); `subscriber`: its connections are made for a one-connection subscription."""
        raise ConfigError(f"{self.description} has no one server to connect to")

    def replicas(self) -> Deployment:
        """The same deployment, read from its replicas (and subscribed to there)."""
        raise ConfigError(
            "reading from a replica needs a Sentinel or Cluster URL, or a replica's URL"
        )

    def as_replica(self) -> Deployment:
        """This URL taken as one replica's own (REDIS_REPLICA_URL)."""
        raise ConfigError(
            "a replica URL names one replica; for Sentinel or Cluster, read from=replica"
        )

    def check_prefix(self, prefix: str) -> None:
        """Raise ConfigError unless every name under `prefix` can be used together here."""
        return  # anywhere but on a cluster

    def env_options(self, env: Mapping[str, str]) -> dict[str, str]:
        """URL options this deployment takes from the environment (a blank one is unset)."""
        return {}

    async def follow_primary(self, client: RedisClient, interval: float = FOLLOW_INTERVAL) -> None:
        """Keep `client`'s connections on the current primary; run it as a task. Returns
        at once where there is nothing to follow."""
        return

    async def settled_primary(self, client: RedisClient, within: float) -> tuple[str, int] | None:
        """The primary once no failover is under way, when something names it (the
        sentinels); None where nothing does."""
        return None

    async def ask_holder(self, client: RedisClient, key: str, *command: str) -> Any:
        """`command` (about the server, not a key: INFO, CONFIG GET) answered by the server
        holding `key`: the one server, or the primary `client` follows; on a cluster, the
        primary of the key's slot. As redis-py parses it for one server."""
        return await client.execute_command(*command)

    @abstractmethod
    async def client_lists(self, client: RedisClient) -> ClientLists:
        """CLIENT LIST of every server the deployment knows, `client` one of its own: the
        one server, a Sentinel deployment's primary and replicas, a cluster's nodes (the
        fleet, shared/fleet.py). A server that fails is logged and left out (`unlisted`);
        raises when none could be listed."""

    def one_connection(self, client: RedisClient) -> AbstractAsyncContextManager[Redis]:
        """A client of `client`'s pool bound to one connection, for a write and the WAIT
        after it; ConfigError where writes cannot wait for replicas."""
        raise ConfigError(f"waiting for replicas is not supported on {self.description} yet")


class _Target(Protocol):
    """What a several-hosts URL names (wa_version_client._url_parts)."""

    @property
    def secrets(self) -> tuple[str, ...]: ...

    @property
    def tls(self) -> bool: ...


TargetT = TypeVar("TargetT", bound=_Target)


class HostsDeployment(Deployment, Generic[TargetT]):
    """A deployment named by a several-hosts URL (Sentinel, Cluster): what the URL names,
    and whether its clients read from replicas (`replicas()`)."""

    def __init__(self, target: TargetT, *, replica: bool = False) -> None:
        self._target = target
        self._replica = replica

    @property
    def reads_primary(self) -> bool:
        return not self._replica

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._target.secrets

    @property
    def tls(self) -> bool:
        return self._target.tls

    def replicas(self) -> Deployment:
        return type(self)(self._target, replica=True)
