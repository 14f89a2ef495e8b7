"""Connecting to Redis the same way in every process."""

from __future__ import annotations

import urllib.parse

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.logs import hide

# What "Redis is unreachable right now" looks like; every loop that talks to Redis
# catches these, backs off and tries again.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def describe(error: BaseException) -> str:
    """The error's class and message, for a log line: `ConnectionError: Error 111 … refused`.

    redis-py's messages name the host and port, never the password; a line that somehow
    held a password is still masked by the log formatter (shared/logs.py).
    """
    message = str(error).strip()
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def url_password(url: str) -> str:
    """The password in a Redis URL, `""` when there is none."""
    return urllib.parse.unquote(urllib.parse.urlsplit(url).password or "")


def connect(url: str, *, max_connections: int = 64) -> Redis:
    """A client for `url` whose pool makes callers wait for a free connection.

    The default pool raises once its connections are all in use; a blocking pool queues
    the caller instead, so a burst of requests never fails for want of a connection.
    Commands are retried briefly when a connection drops, so a Redis restart costs a
    caller a few hundred milliseconds rather than an error.
    """
    hide(url_password(url))
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=5,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=10,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3),
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections
