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

import urllib.parse
from dataclasses import dataclass
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from wa_version_client.contract.errors import ConfigError

SCHEMES = ("redis+sentinel", "rediss+sentinel")
_OPTIONS = {"sentinel_password", "sentinel_username", "ssl_cert_reqs", "ssl_ca_certs"}


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    """What a `redis+sentinel://` URL names."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    ssl_cert_reqs: str | None = None
    ssl_ca_certs: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.sentinel_password) if s)


def is_sentinel_url(url: str) -> bool:
    return url.split("://", 1)[0] in SCHEMES


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The sentinels, service, db and credentials of `url`; ConfigError saying what is wrong."""
    scheme, _, rest = url.partition("://")
    if scheme not in SCHEMES:
        raise ConfigError(f"a Sentinel URL starts with {' or '.join(SCHEMES)}://")
    location, _, query = rest.partition("?")
    netloc, _, path = location.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    username, password = _credentials(userinfo)
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ConfigError("a Sentinel URL names the service after the hosts: …/service[/db]")
    if len(parts) == 2 and not (parts[1].isascii() and parts[1].isdigit()):
        raise ConfigError(f"the db of a Sentinel URL is a number, not {parts[1][:20]!r}")
    options = _options(query)
    return SentinelTarget(
        sentinels=tuple(_address(h) for h in hosts.split(",")),
        service=urllib.parse.unquote(parts[0]),
        db=int(parts[1]) if len(parts) == 2 else 0,
        username=username,
        password=password,
        tls=scheme == "rediss+sentinel",
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
        ssl_cert_reqs=options.get("ssl_cert_reqs"),
        ssl_ca_certs=options.get("ssl_ca_certs"),
    )


def connect_sentinel(
    target: SentinelTarget, connection: dict[str, Any], *, max_connections: int, replica: bool
) -> Redis:
    """A client of the primary (or, with `replica`, of a replica) `target` names.

    `connection` holds the options every connection gets (timeouts, retries, decoding).
    """
    tls = _tls_options(target)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
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
            if not str(exc).startswith("NOREPLICAS"):
                raise
            await self.disconnect()
            raise RedisConnectionError(f"the primary refuses writes: {exc}") from exc


class _TlsPrimaryConnection(_PrimaryConnection, SentinelManagedSSLConnection):
    """The same over TLS."""


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """A Sentinel pool that makes callers wait for a free connection, as `connect()`'s does."""


class _SentinelRedis(Redis):
    """A client that closes its connections to the sentinels with its own."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        pool = self.connection_pool
        await super().aclose(close_connection_pool)
        if isinstance(pool, SentinelConnectionPool):
            for sentinel in pool.sentinel_manager.sentinels:
                await sentinel.aclose()


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (
        urllib.parse.unquote(user) or None,
        urllib.parse.unquote(password) if colon else None,
    )


def _address(host_port: str) -> tuple[str, int]:
    host, colon, port = host_port.strip().rpartition(":")
    if not colon or not host or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ConfigError(f"a sentinel is host:port, not {host_port[:60]!r}")
    return host.strip("[]"), int(port)


def _options(query: str) -> dict[str, str]:
    options = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    unknown = set(options) - _OPTIONS
    if unknown:
        names = ", ".join(sorted(_OPTIONS))
        raise ConfigError(f"unknown Sentinel URL option {sorted(unknown)[0][:40]!r}; know {names}")
    return options


def _tls_options(target: SentinelTarget) -> dict[str, Any]:
    if not target.tls:
        return {}
    options: dict[str, Any] = {"ssl": True}
    if target.ssl_cert_reqs:
        options["ssl_cert_reqs"] = target.ssl_cert_reqs
    if target.ssl_ca_certs:
        options["ssl_ca_certs"] = target.ssl_ca_certs
    return options
