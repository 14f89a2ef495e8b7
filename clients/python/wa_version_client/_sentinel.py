"""Redis Sentinel: the primary (or a replica) found through the sentinels, followed on failover.

A Sentinel deployment is named by one URL, so every process takes it where it takes any
other Redis URL (`REDIS_URL`):

    redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db][?options]
    rediss+sentinel://…   TLS to the sentinels and to the data nodes

`user:password` are the data nodes' credentials; `service` is the name the sentinels
monitor (`sentinel monitor <service> …`). Options: `sentinel_password` and
`sentinel_username` when the sentinels have credentials of their own (or set
REDIS_SENTINEL_PASSWORD); `ssl_cert_reqs` and `ssl_ca_certs` as for `rediss://`.

redis-py does the failover work: each new connection asks the sentinels where the
primary is, and a connection that meets a demoted primary (READONLY) is dropped, so the
next one goes to the new primary. Nothing of ours decides who the primary is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.sentinel import (
    MasterNotFoundError,
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from wa_version_client._sentinel_url import SentinelTarget
from wa_version_client._url_parts import tls_options


def connect_sentinel(
    target: SentinelTarget, connection: dict[str, Any], *, max_connections: int, replica: bool
) -> Redis:
    """A client of the primary (or, with `replica`, of a replica) `target` names.

    `connection` holds the options every connection gets (timeouts, retries, decoding).
    """
    tls = tls_options(target.tls, target.ssl_cert_reqs, target.ssl_ca_certs)
    sentinel = _Sentinel(  # type: ignore[no-untyped-call]  # redis-py's __init__ is unannotated
        target.sentinels,
        sentinel_kwargs={
            "username": target.sentinel_username,
            "password": target.sentinel_password,
            "socket_connect_timeout": connection.get("socket_connect_timeout"),
            "socket_timeout": connection.get("socket_timeout"),
            **tls,
        },
        username=target.username,
        password=target.password,
        db=target.db,
        **tls,
        **connection,
    )
    if replica:
        client: Redis = sentinel.slave_for(
            target.service,
            redis_class=_SentinelRedis,
            connection_pool_class=_BlockingSentinelPool,
            max_connections=max_connections,
            timeout=5,
        )
        return client
    client = sentinel.master_for(
        target.service,
        redis_class=_SentinelRedis,
        connection_pool_class=_BlockingSentinelPool,
        connection_class=_TlsPrimaryConnection if target.tls else _PrimaryConnection,
        max_connections=max_connections,
        timeout=5,
    )
    return client


# How long the sentinels are given to answer where the primary is: the ones that answered
# decide, so one that hangs costs this, not the socket timeout.
SENTINEL_WAIT = 1.0


class _Sentinel(Sentinel):
    """Sentinel that goes by what most sentinels say, not by the first one to answer.

    redis-py takes the primary named by the first sentinel that answers. Right after a
    failover, the sentinel that led it still names the old primary while its failover is
    "in progress", one that has not heard of it yet (they tell each other every two
    seconds) does too, and an old primary frozen and thawed answers again: a client would
    go back to it. Every sentinel is asked at once; views of a failover in progress are
    set aside, then the views of the latest configuration (the highest `config-epoch`:
    each failover increments it) are taken, and the primary most of them name wins.
    """

    async def discover_master(self, service_name: str) -> tuple[str, int]:
        primary, _ = await self.primary_view(service_name)
        return primary

    async def primary_view(self, service_name: str) -> tuple[tuple[str, int], bool]:
        """The primary most sentinels of the latest configuration name, and whether any
        sentinel reports a failover in progress."""
        answers = await _answers_within(
            [s.sentinel_master(service_name) for s in self.sentinels], SENTINEL_WAIT
        )
        states = [a for a in answers if isinstance(a, dict)]
        in_progress = any("failover_in_progress" in str(a.get("flags", "")) for a in states)
        views = [
            state
            for state in states
            if self.check_master_state(state, service_name)
            and "failover_in_progress" not in str(state.get("flags", ""))
        ]
        if not views:
            failures = ", ".join(repr(a) for a in answers if isinstance(a, BaseException))
            raise MasterNotFoundError(f"No settled master found for {service_name!r} {failures}")
        latest = max(int(v.get("config-epoch", 0)) for v in views)
        named = Counter(
            (str(v["ip"]), int(v["port"])) for v in views if int(v.get("config-epoch", 0)) == latest
        )
        return named.most_common(1)[0][0], in_progress


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
    """A Sentinel pool that makes callers wait for a free connection, as `connect()`'s does.

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


# How often a service process asks the sentinels whether the primary changed.
FOLLOW_INTERVAL = 1.0


async def follow_primary(client: object, interval: float = FOLLOW_INTERVAL) -> None:
    """Keep `client`'s connections on the primary the sentinels name; run it as a task.

    redis-py asks the sentinels only when it opens a connection, and closes the idle ones
    only when that answer changed: connections opened while a failover went astray (a
    replica promoted, then the failover given up and another promoted) keep writing to a
    server the sentinels no longer name, until it is demoted some ten seconds later.
    Asking every `interval` seconds bounds that to about a second. Returns at once for
    a client not on Sentinel, and for a replica's.
    """
    pool = getattr(client, "connection_pool", None)
    if not isinstance(pool, SentinelConnectionPool) or not pool.is_master:
        return
    while True:
        await asyncio.sleep(interval)  # a polling timer, not a race
        with contextlib.suppress(MasterNotFoundError, RedisConnectionError, TimeoutError):
            # Closes the idle connections if the answer changed. redis-py leaves it unannotated.
            await pool.get_master_address()  # type: ignore[no-untyped-call]


async def settled_primary(client: Redis, within: float) -> tuple[str, int] | None:
    """The primary the sentinels of `client` name once no failover is under way (a primary
    being replaced may still take writes, then lose them): asked every 0.1 s for up to
    `within` seconds, then MasterNotFoundError. None for a client not on Sentinel."""
    pool = client.connection_pool
    if not isinstance(pool, SentinelConnectionPool):
        return None
    manager = pool.sentinel_manager
    if not isinstance(manager, _Sentinel):
        return None
    give_up = asyncio.get_running_loop().time() + within
    while True:
        try:
            primary, in_progress = await manager.primary_view(pool.service_name)
        except MasterNotFoundError:
            # Mid-failover the leader's view is set aside and the others see the old
            # primary down: no settled view yet, which is waited out like the flag.
            primary, in_progress = None, True
        if primary is not None and not in_progress:
            return primary
        if asyncio.get_running_loop().time() > give_up:
            raise MasterNotFoundError(f"a failover of {pool.service_name!r} is still under way")
        await asyncio.sleep(0.1)  # polling the sentinels, with a deadline


async def _answers_within(calls: list[Awaitable[Any]], seconds: float) -> list[Any]:
    """Each call's result or exception; a call still running after `seconds` (a sentinel
    that accepts connections but does not answer) is cancelled and counts as a timeout."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [
        task.exception() or task.result() if task in done else TimeoutError("no answer")
        for task in tasks
    ]
