"""A reply read as the server sent it, without redis-py's parse of it.

`client.client_list()` sends "CLIENT LIST" as one command name, so redis-py's callback
for it splits every line of the reply into a dict of ~25 fields on the event loop: about
100 ms for 10,000 clients (bench/fleet.py), for a fleet that needs two fields. redis-py
looks a reply's callback up by the first argument of `execute_command` only
(`Redis.parse_response`: `command_name in self.response_callbacks`), and keeps
callbacks for "CLIENT LIST", "CLIENT INFO", … but none for "CLIENT" alone; sent as the
two arguments "CLIENT", "LIST" the reply comes back as it was read. NEVER_DECODE makes
that bytes whatever the client's decode_responses, on RESP2 and RESP3 (a verbatim string
there: the parsers drop its `txt:`), with the pure-Python parsers and hiredis alike
(tests/clients/python/test_client_list.py pins each).

Only a plain `Redis` client is asked: a cluster's nodes are each listed on a client of
their own (wa_version_client._listing), so RedisCluster's routing of CLIENT LIST to
every node and its merge of the answers never apply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.client import NEVER_DECODE


async def raw_client_list(client: Redis) -> bytes:
    """CLIENT LIST's reply, unparsed and undecoded: one line per client."""
    execute: Callable[..., Awaitable[Any]] = client.execute_command  # untyped in redis-py
    reply = await execute("CLIENT", "LIST", **{NEVER_DECODE: True})
    if not isinstance(reply, bytes):  # redis-py parsed or decoded it after all: say so
        raise TypeError(f"CLIENT LIST came back as {type(reply).__name__}, not bytes")
    return reply
