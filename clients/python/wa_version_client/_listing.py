"""CLIENT LIST of several servers at once: a Sentinel deployment's primary and replicas, a
cluster's nodes (the fleet, shared/fleet.py).

Each server is asked on a connection of its own, made for the listing and closed after
it: a listing runs at most once a second (the fleet's cache), so nothing is kept open
between two, and nothing is left open when the service stops. One server that does not
answer costs LIST_TIMEOUT at most, is logged and shown as unlisted; the others still count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from wa_version_client._client_list import NamedClient, named_clients
from wa_version_client._connection import describe
from wa_version_client._deployment import ClientLists, ServerClients
from wa_version_client._redis_compat import quiet_handshake_options, raw_client_list

log = logging.getLogger(__name__)

# Seconds a server is given to accept the connection, then to answer.
LIST_TIMEOUT = 2.0


async def list_servers(
    addresses: Sequence[tuple[str, int]], options: dict[str, Any]
) -> ClientLists:
    """The clients of each server at `addresses` (host, port), connected with `options`
    (credentials, database, TLS). Raises the first failure when no server answered."""
    answers = await asyncio.gather(
        *(_list_one(host, port, options) for host, port in addresses), return_exceptions=True
    )
    listed: list[ServerClients] = []
    unlisted: list[str] = []
    failures: list[Exception] = []
    for (host, port), answer in zip(addresses, answers, strict=True):
        where = f"{host}:{port}"
        if isinstance(answer, Exception):
            log.warning("listing the clients of %s failed: %s", where, describe(answer))
            unlisted.append(where)
            failures.append(answer)
        elif isinstance(answer, BaseException):
            raise answer  # a cancellation: not the server's failure
        else:
            listed.append((where, answer))
    if failures and not listed:
        raise failures[0]
    return ClientLists(listed, tuple(unlisted))


async def _list_one(host: str, port: int, options: dict[str, Any]) -> list[NamedClient]:
    client = Redis(
        host=host,
        port=port,
        socket_connect_timeout=LIST_TIMEOUT,
        socket_timeout=LIST_TIMEOUT,
        retry=Retry(NoBackoff(), retries=0),  # the next listing is the retry
        **quiet_handshake_options(),
        **options,
    )
    try:
        reply = await raw_client_list(client)
        return await asyncio.to_thread(named_clients, reply)
    finally:
        await client.aclose()
