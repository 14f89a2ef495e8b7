"""Sentinel: where the primary is, and connections that leave a primary cut off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

# Given the clients of the sentinels and the service's name: the primary's address.
ChoosePrimary = Callable[[Sequence[Redis], str], Awaitable[tuple[str, int]]]


class _Sentinel(Sentinel):
    """Sentinel whose answer to "where is the primary" (what redis-py asks before each
    new connection to it) is `choose_primary`'s, not the first sentinel's to answer."""

    def __init__(self, *args: Any, choose_primary: ChoosePrimary, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]  # unannotated in redis-py
        self._choose_primary = choose_primary

    async def discover_master(self, service_name: str) -> tuple[str, int]:
        return await self._choose_primary(self.sentinels, service_name)


class _PrimaryConnection(SentinelManagedConnection):
    """A connection to the primary that leaves a primary cut off from its replicas.

    redis-py drops a connection that meets a demoted primary (READONLY). A primary that
    answers NOREPLICAS (`min-replicas-to-write`) is as likely a former primary, frozen
    and thawed after a failover, that the sentinels have not demoted yet (they wait about
    ten seconds): the connection is dropped too, and the next one asks the sentinels.
    """

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except ResponseError as exc:
            # Valkey and Redis 7 say it first; Redis 6.2 wraps it in the script's error.
            if "NOREPLICAS" not in str(exc):
                raise
            await self.disconnect()
            raise RedisConnectionError(f"the primary refuses writes: {exc}") from exc


class _TlsPrimaryConnection(_PrimaryConnection, SentinelManagedSSLConnection):
    """The same over TLS."""


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """A Sentinel pool that makes callers wait for a free connection, as a server's does.

    A connection handed back from a server the pool no longer takes for the primary is
    closed first, so its next use asks the sentinels: redis-py's synchronous pool does
    this, its asyncio pool does not, and a connection that was busy (a blocking read)
    when the primary changed would otherwise go on writing to the old one.
    """

    async def release(self, connection: AbstractConnection) -> None:
        # Not redis-py's owns_connection: in asyncio it calls a method its base lacks.
        address = (getattr(connection, "host", None), getattr(connection, "port", None))
        if self.is_master and self.master_address not in {None, address}:
            await connection.disconnect()
        await super().release(connection)


class _SentinelRedis(Redis):
    """A client that closes its connections to the sentinels with its own."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        pool = self.connection_pool
        closes_pool = close_connection_pool or (
            close_connection_pool is None and self.auto_close_connection_pool
        )
        try:
            await super().aclose(close_connection_pool)
        finally:
            if closes_pool and isinstance(pool, SentinelConnectionPool):
                for sentinel in pool.sentinel_manager.sentinels:
                    await sentinel.aclose()


def sentinel_client(
    sentinels: Sequence[tuple[str, int]],
    service: str,
    *,
    choose_primary: ChoosePrimary,
    sentinel_options: dict[str, Any],
    options: dict[str, Any],
    replica: bool,
    max_connections: int,
) -> Redis:
    """A blocking-pool client of `service`'s primary (or, with `replica`, of a replica),
    found through `sentinels` with `choose_primary`; `options` for every data connection."""
    manager = _Sentinel(sentinels, sentinel_kwargs=sentinel_options,
                        choose_primary=choose_primary, **options)  # fmt: skip
    pooled: dict[str, Any] = {
        "redis_class": _SentinelRedis,
        "connection_pool_class": _BlockingSentinelPool,
        "max_connections": max_connections,
        "timeout": 5,
    }
    if replica:
        client: Redis = manager.slave_for(service, **pooled)
        return client
    tls = bool(options.get("ssl"))
    connection_class = _TlsPrimaryConnection if tls else _PrimaryConnection
    client = manager.master_for(service, connection_class=connection_class, **pooled)
    return client


def sentinels_of(
    client: object, *, replica_too: bool = False
) -> tuple[Sequence[Redis], str] | None:
    """The sentinels a primary's client (or, `replica_too`, a replica's) asks, and the
    service; None for another client."""
    pool = getattr(client, "connection_pool", None)
    if not isinstance(pool, SentinelConnectionPool) or not (pool.is_master or replica_too):
        return None
    return pool.sentinel_manager.sentinels, pool.service_name


async def recheck_primary(client: object) -> None:
    """Ask the sentinels where the primary is now, for a client of a Sentinel pool:
    redis-py closes its pool's idle connections when the answer changed (so the next
    ones go to the new primary). redis-py leaves it unannotated."""
    pool = getattr(client, "connection_pool", None)
    if isinstance(pool, SentinelConnectionPool):
        await pool.get_master_address()  # type: ignore[no-untyped-call]
