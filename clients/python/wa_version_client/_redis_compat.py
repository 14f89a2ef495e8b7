"""Every place the client relies on more than redis-py's documented, stable surface.

Nothing else in the client reaches into redis-py: no private attribute, no subclass of
one of its classes, no override of a method it calls on itself (tests/test_layout.py
checks). Each item here names what it relies on; tests/clients/python/test_redis_compat.py
checks each against the installed redis-py, pinned to CHECKED_WITH, and fails loudly,
saying what to re-check, when an upgrade moves one. `missing()` is the part of that
check that needs no server: the client-alone test runs it on the declared floor too.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection, Connection
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.driver_info import DriverInfo  # redis-py 7.2+ (the client's floor)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, ResponseError

# The releases every item below was read against and tested on: the declared floor and
# the release the service runs. Another one fails the pinned test until re-checked.
CHECKED_WITH = frozenset({"7.2.0", "8.1.0"})

# What the items below use or override, by owner; `missing()` checks each is there.
_RELIED_ON: tuple[tuple[Any, str], ...] = (
    (Sentinel, "discover_master"),  # asked before each new connection to the primary
    (SentinelManagedConnection, "read_response"),
    (SentinelConnectionPool, "get_master_address"),  # closes idle connections on a change
    (BlockingConnectionPool, "release"),
    (ConnectionPool, "make_connection"),  # a connection made as the pool makes them
    (Redis, "aclose"),
    (RedisCluster, "initialize"),
    (RedisCluster, "execute_command"),  # every command but a pipeline's goes through it
)
# redis._parsers' asyncio RESP3 parsers, pure Python and hiredis.
_PARSERS = ("_AsyncRESP3Parser", "_AsyncHiredisParser")
# Keyword arguments a subscribed connection is driven with.
_PARAMETERS = ((AbstractConnection.read_response, ("timeout", "push_request")),)


def missing() -> list[str]:
    """What this module relies on that the installed redis-py lacks; empty when all is there."""
    connection = Connection(protocol=3)  # not connected: no I/O
    # The parsers a RESP3 connection reads with (7.2 picks its RESP3 one while connecting).
    try:
        parsers: object = importlib.import_module("redis._parsers")
    except ImportError:
        parsers = None
    resp3, hiredis = (getattr(parsers, name, None) for name in _PARSERS)
    relied_on = (
        *((owner.__name__, owner, name) for owner, name in _RELIED_ON),
        ("Connection()", connection, "_writer"),  # set by connect(); no public accessor
        ("Connection()", connection, "_parser"),
        (_PARSERS[0], resp3, "handle_push_response"),
        (_PARSERS[1], hiredis, "handle_push_response"),
        (_PARSERS[0], resp3, "set_invalidation_push_handler"),
        (_PARSERS[1], hiredis, "set_invalidation_push_handler"),
    )
    gaps = [f"{label}.{name}" for label, owner, name in relied_on if not hasattr(owner, name)]
    for function, names in _PARAMETERS:
        accepted = inspect.signature(function).parameters
        gaps += [f"{function.__qualname__}({name}=…)" for name in names if name not in accepted]
    return gaps


def quiet_handshake_options() -> dict[str, Any]:
    """Connection options that leave out the handshake's optional round trips.

    CLIENT SETINFO (every release the client supports sends it unless told otherwise)
    and, from redis-py 8.1 in asyncio, CLIENT MAINT_NOTIFICATIONS on every RESP3
    connection, which servers other than Redis Enterprise refuse. Older releases
    reject the option they do not know, so it is passed only where it exists.
    """
    options: dict[str, Any] = {"driver_info": DriverInfo(name=None, lib_version=None)}
    if "maint_notifications_config" in inspect.signature(AbstractConnection.__init__).parameters:
        from redis.maint_notifications import MaintNotificationsConfig

        options["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
    return options


# --- one connection that is subscribed and runs commands (wa_version_client._subscribed)


def take_every_push(connection: AbstractConnection, on_push: Callable[[list[Any]], None]) -> object:
    """Hand every RESP3 push frame `connection` reads to `on_push`; returns the marker
    `read_response(push_request=True)` then returns for a push, in place of a reply.

    Every frame, whatever its type (pub/sub, but also a tracking invalidation any client
    can redirect here, or a maintenance notice), must be consumed, or it would be taken
    for a command's reply and shift every reply after it. Both parsers (Python, hiredis)
    give each push to their `handle_push_response` and return what it returns. Called
    once connected: redis-py 7.2 puts its RESP3 parser in place while connecting. The
    public hooks (`set_pubsub_push_handler` and its siblings) cover one type each, on a
    parser with no public accessor, and a maintenance notice that does not parse comes
    back as None, a reply: so the whole dispatcher is replaced.
    """
    pushed = object()

    async def handle(push: list[Any], **_: Any) -> object:
        on_push(push)
        return pushed

    connection._parser.handle_push_response = handle  # type: ignore[attr-defined]
    return pushed


def hear_invalidations(pubsub: PubSub, on_push: Callable[[list[Any]], None]) -> None:
    """Hand each tracking invalidation `pubsub`'s connection reads to `on_push`.

    In RESP3 redis-py drops them without a trace unless its parser has a handler for
    them (in RESP2 they come as messages on `__redis__:invalidate`, which the caller
    sees). The parser has no public accessor, and a new connection may bring a new
    parser: call this after each subscription is confirmed. A no-op on a RESP2 parser.
    """
    parser = getattr(pubsub.connection, "_parser", None)
    set_handler = getattr(parser, "set_invalidation_push_handler", None)
    if set_handler is None:
        return

    async def handle(push: list[Any]) -> None:
        on_push(push)  # and nothing for the reader: get_message() then returns None

    set_handler(handle)


def socket_writer(connection: AbstractConnection) -> asyncio.StreamWriter | None:
    """The stream `connection` writes to while connected (no public accessor)."""
    return connection._writer


# --- Sentinel (wa_version_client._sentinel)

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


def sentinels_of(client: object) -> tuple[Sequence[Redis], str] | None:
    """The sentinels a primary's client asks, and the service; None for another client."""
    pool = getattr(client, "connection_pool", None)
    if not isinstance(pool, SentinelConnectionPool) or not pool.is_master:
        return None
    return pool.sentinel_manager.sentinels, pool.service_name


async def recheck_primary(client: object) -> None:
    """Ask the sentinels where the primary is now, for a client of a Sentinel pool:
    redis-py closes its pool's idle connections when the answer changed (so the next
    ones go to the new primary). redis-py leaves it unannotated."""
    pool = getattr(client, "connection_pool", None)
    if isinstance(pool, SentinelConnectionPool):
        await pool.get_master_address()  # type: ignore[no-untyped-call]


# --- Cluster (wa_version_client._cluster)


class _QueueingCluster(RedisCluster):
    """A RedisCluster whose commands wait for one of `turns` rather than fail when its
    pools are full, and whose "cannot reach the cluster" is a ConnectionError like any
    unreachable Redis's."""

    def __init__(self, *args: Any, turns: int, queue_wait: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turns = asyncio.Semaphore(turns)
        self._queue_wait = queue_wait

    async def initialize(self, *args: Any, **kwargs: Any) -> RedisCluster:
        try:
            return await super().initialize(*args, **kwargs)
        except RedisClusterException as exc:  # no node answered, or the slots are not covered
            raise RedisConnectionError(f"the cluster cannot be used: {exc}") from exc

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._queue_wait):
                await self._turns.acquire()
        except TimeoutError:
            wait = self._queue_wait
            raise RedisConnectionError(f"no free connection within {wait:g}s") from None
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self._turns.release()


def cluster_client(*, turns: int, queue_wait: float, **options: Any) -> RedisCluster:
    """A RedisCluster made with `options` whose commands queue for one of `turns`."""
    return _QueueingCluster(turns=turns, queue_wait=queue_wait, **options)


async def reread_slot_map(client: RedisCluster) -> None:
    """Make `client` read the cluster's slot map again now. Its initialize() reads it
    only once; its nodes manager's reads it each time. Failures are left to the next try."""
    try:
        await client.initialize()  # a client that never read it reads it here
        await client.nodes_manager.initialize()
    except (RedisError, OSError):
        pass
