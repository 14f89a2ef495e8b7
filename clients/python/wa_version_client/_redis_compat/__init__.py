"""Every place the client relies on more than redis-py's documented, stable surface.

Nothing outside this package reaches into redis-py: no private attribute, no subclass
of one of its classes, no override of a method it calls on itself (tests/test_layout.py
checks). Its modules hold one concern each: `_connection` (the handshake, the pushes a
subscribed connection reads), `_replies` (a reply read unparsed), `_sentinel`,
`_cluster`. Each item names what it relies on; tests/clients/python/test_redis_compat.py
(test_client_list.py for `_replies`) checks each against the installed redis-py, pinned
to CHECKED_WITH, and fails loudly, saying what to re-check, when an upgrade moves one.
`missing()` is the part of that check that needs no server: the client-alone test runs
it on the declared floor too.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection, Connection
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from wa_version_client._redis_compat._cluster import (
    cluster_client,
    replying_pubsub,
    reread_slot_map,
)
from wa_version_client._redis_compat._connection import (
    hear_invalidations,
    lost_under_write,
    quiet_handshake_options,
    socket_writer,
    take_every_push,
)
from wa_version_client._redis_compat._replies import raw_client_list
from wa_version_client._redis_compat._sentinel import (
    ChoosePrimary,
    recheck_primary,
    sentinel_client,
    sentinels_of,
)

__all__ = [
    "CHECKED_WITH",
    "ChoosePrimary",
    "cluster_client",
    "hear_invalidations",
    "lost_under_write",
    "missing",
    "quiet_handshake_options",
    "raw_client_list",
    "recheck_primary",
    "replying_pubsub",
    "reread_slot_map",
    "sentinel_client",
    "sentinels_of",
    "socket_writer",
    "take_every_push",
]

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
    (PubSub, "handle_message"),  # replaced on a cluster's subscription: its replies
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
