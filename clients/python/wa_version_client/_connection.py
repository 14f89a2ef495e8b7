"""Connecting to Redis the same way in every process."""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Mapping
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wa_version_client._cluster import connect_cluster, require_hash_tag
from wa_version_client._cluster_url import is_cluster_url, parse_cluster_url
from wa_version_client._logs import hide
from wa_version_client._redis_compat import quiet_handshake_options
from wa_version_client._sentinel import connect_sentinel
from wa_version_client._sentinel_url import is_sentinel_url, parse_sentinel_url
from wa_version_client.contract._errors import ConfigError

# What "Redis is unreachable right now" looks like; every loop that talks to Redis
# catches these, backs off and tries again.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)

# A single server, a Sentinel deployment or a cluster: what `connect` returns.
RedisClient = Redis | RedisCluster

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

_SCHEMES = (
    "redis://", "rediss://", "unix://",
    "redis+sentinel://", "rediss+sentinel://",
    "redis+cluster://", "rediss+cluster://",
)  # fmt: skip


def replica_url_from_env(env: Mapping[str, str]) -> str | None:
    """REDIS_REPLICA_URL with the TLS options REDIS_URL gets; None when unset."""
    url = env.get("REDIS_REPLICA_URL", "").strip()
    if not url:
        return None
    check_redis_url(url)
    return _with_tls_options(
        url,
        cert_reqs=env.get("REDIS_SSL_CERT_REQS", "").strip(),
        ca_certs=env.get("REDIS_SSL_CA_CERTS", "").strip(),
    )


def redis_url_from_env(env: Mapping[str, str]) -> str:
    """The Redis URL the environment names, with its TLS options, for every process.

    `REDIS_URL`, else `REDIS_TLS_URL` (Heroku's older name), else a local Redis; on a
    TLS URL, `REDIS_SSL_CERT_REQS` and `REDIS_SSL_CA_CERTS` as redis-py's `ssl_cert_reqs`
    and `ssl_ca_certs`, unless the URL says already. A Sentinel URL
    (wa_version_client._sentinel) takes REDIS_SENTINEL_PASSWORD as `sentinel_password`.
    """
    url = env.get("REDIS_URL") or env.get("REDIS_TLS_URL") or DEFAULT_REDIS_URL
    check_redis_url(url)
    url = _with_option(url, "sentinel_password", env.get("REDIS_SENTINEL_PASSWORD", ""))
    return _with_tls_options(
        url,
        cert_reqs=env.get("REDIS_SSL_CERT_REQS", "").strip(),
        ca_certs=env.get("REDIS_SSL_CA_CERTS", "").strip(),
    )


def check_redis_url(url: str) -> None:
    """Raise ConfigError unless `url` is a Redis URL this library connects to."""
    if not url.startswith(_SCHEMES):
        raise ConfigError(f"REDIS_URL must start with one of {', '.join(_SCHEMES)}")
    if is_sentinel_url(url):
        parse_sentinel_url(url)  # a malformed one is refused now, not at the first command
    if is_cluster_url(url):
        parse_cluster_url(url)


def check_prefix_fits(url: str, prefix: str) -> None:
    """Raise ConfigError when `url` is a cluster's and the names under `prefix` would
    spread over its slots (wa_version_client._cluster)."""
    if is_cluster_url(url):
        require_hash_tag(prefix)


def describe(error: BaseException) -> str:
    """The error's class and message, for a log line: `ConnectionError: Error 111 … refused`.

    redis-py's messages name the host and port, never the password; a line that somehow
    held a password is still masked by the log formatter (shared/logs.py).
    """
    message = str(error).strip()
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def url_secrets(url: str) -> tuple[str, ...]:
    """The passwords in a Redis URL (a Sentinel URL may hold two); none when there are none."""
    if is_sentinel_url(url) or is_cluster_url(url):
        parse = parse_sentinel_url if is_sentinel_url(url) else parse_cluster_url
        with contextlib.suppress(ConfigError):
            return parse(url).secrets
        return ()
    password = urllib.parse.unquote(urllib.parse.urlsplit(url).password or "")
    return (password,) if password else ()


def connect(url: str, *, max_connections: int = 64, replica: bool = False) -> RedisClient:
    """A client for `url`: a cluster's (wa_version_client._cluster), else `connect_server`'s.

    With a cluster URL, `replica` sends reads and subscriptions to the slot's replicas.
    """
    if not is_cluster_url(url):
        return connect_server(url, max_connections=max_connections, replica=replica)
    hide(*url_secrets(url))
    nodes = parse_cluster_url(url)
    return connect_cluster(nodes, _options(), max_connections=max_connections, replica=replica)


def connect_server(
    url: str, *, max_connections: int = 64, replica: bool = False, subscriber: bool = False
) -> Redis:
    """A client of one server (or of a Sentinel deployment's primary) whose pool makes
    callers wait for a free connection.

    The default pool raises once its connections are all in use; a blocking pool queues
    the caller instead, so a burst of requests never fails for want of a connection.
    Commands are retried briefly when a connection drops, so a Redis restart (or a
    failover) costs a caller a few hundred milliseconds rather than an error. With a
    Sentinel URL, `replica` asks for a replica (the primary when none is up); elsewhere
    it changes nothing: the URL is the server read from. `subscriber`: connections for
    a SubscribedConnection (see `_subscriber_options`).
    """
    if is_cluster_url(url):
        raise ConfigError("a cluster has no one server to connect to")
    hide(*url_secrets(url))
    options = _subscriber_options() if subscriber else _options()
    if is_sentinel_url(url):
        target = parse_sentinel_url(url)
        return connect_sentinel(target, options, max_connections=max_connections, replica=replica)
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=5, **options
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


def read_from(where: str) -> bool:
    """REDIS_READ_FROM: `primary` (the default) or `replica`; whether it says replica."""
    if where not in {"primary", "replica"}:
        raise ConfigError(f"REDIS_READ_FROM={where[:20]!r}: use primary or replica")
    return where == "replica"


def connect_subscriber(
    redis_url: str, read_from_replica: bool, replica_url: str | None
) -> RedisClient:
    """The client a VersionSubscriber subscribes and reads with: the primary's, or with
    `read_from_replica` (a Sentinel or Cluster URL) or `replica_url`, a replica's."""
    if replica_url:
        check_redis_url(replica_url)
        if is_sentinel_url(replica_url) or is_cluster_url(replica_url):
            raise ConfigError(
                "a replica URL names one replica; for Sentinel or Cluster, read from=replica"
            )
        return connect_server(replica_url, max_connections=1, subscriber=True)
    if read_from_replica and not (is_sentinel_url(redis_url) or is_cluster_url(redis_url)):
        raise ConfigError(
            "reading from a replica needs a Sentinel or Cluster URL, or a replica's URL"
        )
    if is_cluster_url(redis_url):  # a pub/sub connection and pooled ones (see pubsub.py)
        return connect(redis_url, max_connections=4, replica=read_from_replica)
    return connect_server(redis_url, max_connections=1, replica=read_from_replica, subscriber=True)


def _options() -> dict[str, Any]:
    """What every client gets, whatever it connects to (a Retry of its own for each)."""
    return {
        "decode_responses": True,
        # A byte that is not UTF-8 (in a hash field, a forged PUBLISH) is read as U+FFFD,
        # which the decoders then refuse or keep as text, logged: strict decoding raised
        # a UnicodeDecodeError out of redis-py's reader, which dropped a subscriber's
        # connection and, for a bad hash, made every subscriber reconnect forever.
        "encoding_errors": "replace",
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "health_check_interval": 10,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3),
    }


def _subscriber_options() -> dict[str, Any]:
    """`_options()` for a subscribed connection, which the subscription drives itself.

    It pings by itself (a health check would read a reply the subscription's reader
    waits for). It skips CLIENT SETINFO and CLIENT MAINT_NOTIFICATIONS (redis-py sends
    the latter on every RESP3 connection, and servers other than Redis Enterprise refuse
    it): a round trip each on every one of a fleet's reconnections after a restart. Its
    connect is not retried inside redis-py: the subscription's own jittered backoff
    spaces the attempts. It speaks RESP3, where a subscribed connection still runs
    commands (redis-py 8 does by default, 7.x does when asked)."""
    return _options() | {
        "protocol": 3,
        "health_check_interval": 0,
        **quiet_handshake_options(),
        "retry": Retry(NoBackoff(), retries=0),
    }


def _with_tls_options(url: str, *, cert_reqs: str, ca_certs: str) -> str:
    """`url` with `ssl_cert_reqs` and `ssl_ca_certs` from the environment, unless it says.

    Heroku's Key-Value Store serves TLS with a self-signed certificate and sets REDIS_URL
    itself: REDIS_SSL_CERT_REQS=none accepts it without editing the URL. Whoever verifies
    names the CA bundle (or the server's own certificate) in REDIS_SSL_CA_CERTS.
    """
    if not url.startswith(("rediss://", "rediss+sentinel://", "rediss+cluster://")):
        return url
    options = []
    if cert_reqs and "ssl_cert_reqs=" not in url:
        if cert_reqs not in {"none", "optional", "required"}:
            raise ConfigError(
                f"REDIS_SSL_CERT_REQS={cert_reqs[:20]!r}: use none, optional or required"
            )
        options.append(f"ssl_cert_reqs={cert_reqs}")
    if ca_certs and "ssl_ca_certs=" not in url:
        if not os.path.isfile(ca_certs):
            raise ConfigError(f"REDIS_SSL_CA_CERTS={ca_certs[:200]!r} is not a readable file")
        options.append(f"ssl_ca_certs={urllib.parse.quote(ca_certs, safe='/')}")
    if not options:
        return url
    return f"{url}{'&' if '?' in url else '?'}{'&'.join(options)}"


def _with_option(url: str, name: str, value: str) -> str:
    """`url` with `name=value` added, unless `value` is blank or the URL names it already."""
    if not value.strip() or not is_sentinel_url(url):
        return url
    _, _, query = url.partition("?")
    if name in dict(urllib.parse.parse_qsl(query, keep_blank_values=True)):
        return url
    return f"{url}{'&' if '?' in url else '?'}{name}={urllib.parse.quote(value, safe='')}"
