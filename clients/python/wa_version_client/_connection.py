"""What every connection gets, whatever the deployment, and what an outage looks like."""

from __future__ import annotations

from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wa_version_client._redis_compat import quiet_handshake_options

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


def client_options() -> dict[str, Any]:
    """What every client gets, whatever it connects to (a Retry of its own for each).

    Commands are retried briefly when a connection drops, so a Redis restart (or a
    failover) costs a caller a few hundred milliseconds rather than an error.
    """
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


def subscriber_options() -> dict[str, Any]:
    """`client_options()` for a subscribed connection, which the subscription drives itself.

    It pings by itself (a health check would read a reply the subscription's reader
    waits for). It skips CLIENT SETINFO and CLIENT MAINT_NOTIFICATIONS (redis-py sends
    the latter on every RESP3 connection, and servers other than Redis Enterprise refuse
    it): a round trip each on every one of a fleet's reconnections after a restart. Its
    connect is not retried inside redis-py: the subscription's own jittered backoff
    spaces the attempts. It speaks RESP3, where a subscribed connection still runs
    commands (redis-py 8 does by default, 7.x does when asked)."""
    return client_options() | {
        "protocol": 3,
        "health_check_interval": 0,
        **quiet_handshake_options(),
        "retry": Retry(NoBackoff(), retries=0),
    }
