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
next one goes to the new primary. What is ours is how the sentinels' answers are read
(`choose_primary`) and when they are asked again (`follow_primary`); the hooks that make
redis-py use them live in wa_version_client._redis_compat.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.sentinel import MasterNotFoundError
from redis.exceptions import ConnectionError as RedisConnectionError

from wa_version_client import _redis_compat as compat
from wa_version_client._connection import client_options, subscriber_options
from wa_version_client._deployment import (
    FOLLOW_INTERVAL,
    ClientLists,
    HostsDeployment,
    RedisClient,
)
from wa_version_client._listing import list_servers
from wa_version_client._logs import hide
from wa_version_client._sentinel_url import SentinelTarget, parse_sentinel_url
from wa_version_client._server import ServerDeployment
from wa_version_client._url_parts import tls_options

# How long the sentinels are given to answer where the primary is: the ones that answered
# decide, so one that hangs costs this, not the socket timeout.
SENTINEL_WAIT = 1.0


class SentinelDeployment(HostsDeployment[SentinelTarget], ServerDeployment):
    """The primary (or, with `replica`, a replica) the sentinels of `target` name."""

    description = "a Sentinel deployment"

    @classmethod
    def from_url(cls, url: str) -> SentinelDeployment:
        return cls(parse_sentinel_url(url))

    def env_options(self, env: Mapping[str, str]) -> dict[str, str]:
        return {"sentinel_password": env.get("REDIS_SENTINEL_PASSWORD", "")}

    def server_client(self, *, max_connections: int = 64, subscriber: bool = False) -> Redis:
        hide(*self.secrets)
        target = self._target
        connection = subscriber_options() if subscriber else client_options()
        tls = tls_options(target.tls, target.ssl_cert_reqs, target.ssl_ca_certs)
        sentinel_options = {
            "username": target.sentinel_username,
            "password": target.sentinel_password,
            "socket_connect_timeout": connection.get("socket_connect_timeout"),
            "socket_timeout": connection.get("socket_timeout"),
            **tls,
        }
        return compat.sentinel_client(
            target.sentinels,
            target.service,
            choose_primary=choose_primary,
            sentinel_options=sentinel_options,
            options={**self._data_options(), **connection},
            replica=self._replica,
            max_connections=max_connections,
        )

    def _data_options(self) -> dict[str, Any]:
        """How to connect to a data node: credentials, database, TLS."""
        target = self._target
        tls = tls_options(target.tls, target.ssl_cert_reqs, target.ssl_ca_certs)
        return {"username": target.username, "password": target.password, "db": target.db,
                **tls}  # fmt: skip

    async def client_lists(self, client: RedisClient) -> ClientLists:
        """The primary the sentinels name and every replica they report up (SENTINEL
        REPLICAS), each listed on a connection of its own: subscribers reading from a
        replica are connected there. `client`, one of this deployment's, gives the
        sentinels to ask."""
        asked = compat.sentinels_of(client, replica_too=True)
        if asked is None:
            raise TypeError(f"not a client of {self.description}: {type(client).__name__}")
        sentinels, service = asked
        primary, _ = await primary_view(sentinels, service)
        replicas = await replicas_up(sentinels, service)
        servers = [primary, *(replica for replica in replicas if replica != primary)]
        return await list_servers(servers, self._data_options())

    async def follow_primary(self, client: RedisClient, interval: float = FOLLOW_INTERVAL) -> None:
        """Keep `client`'s connections on the primary the sentinels name.

        redis-py asks the sentinels only when it opens a connection, and closes the idle
        ones only when that answer changed: connections opened while a failover went
        astray (a replica promoted, then the failover given up and another promoted) keep
        writing to a server the sentinels no longer name, until it is demoted some ten
        seconds later. Asking every `interval` seconds bounds that to about a second.
        Returns at once for a replica's client.
        """
        if compat.sentinels_of(client) is None:
            return
        while True:
            await asyncio.sleep(interval)  # a polling timer, not a race
            with contextlib.suppress(MasterNotFoundError, RedisConnectionError, TimeoutError):
                await compat.recheck_primary(client)

    async def settled_primary(self, client: RedisClient, within: float) -> tuple[str, int] | None:
        """The primary the sentinels name once no failover is under way (a primary being
        replaced may still take writes, then lose them): asked every 0.1 s for up to
        `within` seconds, then MasterNotFoundError. None for a replica's client."""
        asked = compat.sentinels_of(client)
        if asked is None:
            return None
        sentinels, service = asked
        give_up = asyncio.get_running_loop().time() + within
        while True:
            try:
                primary, in_progress = await primary_view(sentinels, service)
            except MasterNotFoundError:
                # Mid-failover the leader's view is set aside and the others see the old
                # primary down: no settled view yet, which is waited out like the flag.
                primary, in_progress = None, True
            if primary is not None and not in_progress:
                return primary
            if asyncio.get_running_loop().time() > give_up:
                raise MasterNotFoundError(f"a failover of {service!r} is still under way")
            await asyncio.sleep(0.1)  # polling the sentinels, with a deadline


async def choose_primary(sentinels: Sequence[Redis], service: str) -> tuple[str, int]:
    """Where the primary is, by what most sentinels say, not by the first one to answer.

    redis-py takes the primary named by the first sentinel that answers. Right after a
    failover, the sentinel that led it still names the old primary while its failover is
    "in progress", one that has not heard of it yet (they tell each other every two
    seconds) does too, and an old primary frozen and thawed answers again: a client would
    go back to it. Every sentinel is asked at once; views of a failover in progress are
    set aside, then the views of the latest configuration (the highest `config-epoch`:
    each failover increments it) are taken, and the primary most of them name wins.
    """
    primary, _ = await primary_view(sentinels, service)
    return primary


async def primary_view(sentinels: Sequence[Redis], service: str) -> tuple[tuple[str, int], bool]:
    """The primary most sentinels of the latest configuration name, and whether any
    sentinel reports a failover in progress."""
    answers = await _answers_within([s.sentinel_master(service) for s in sentinels], SENTINEL_WAIT)
    states = [a for a in answers if isinstance(a, dict)]
    in_progress = any("failover_in_progress" in str(a.get("flags", "")) for a in states)
    views = [
        state
        for state in states
        if _names_a_live_primary(state)
        and "failover_in_progress" not in str(state.get("flags", ""))
    ]
    if not views:
        failures = ", ".join(repr(a) for a in answers if isinstance(a, BaseException))
        raise MasterNotFoundError(f"No settled master found for {service!r} {failures}")
    latest = max(int(v.get("config-epoch", 0)) for v in views)
    named = Counter(
        (str(v["ip"]), int(v["port"])) for v in views if int(v.get("config-epoch", 0)) == latest
    )
    return named.most_common(1)[0][0], in_progress


async def replicas_up(sentinels: Sequence[Redis], service: str) -> list[tuple[str, int]]:
    """The replicas any sentinel that answered reports neither down nor disconnected."""
    answers = await _answers_within([s.sentinel_slaves(service) for s in sentinels], SENTINEL_WAIT)
    up: dict[tuple[str, int], None] = {}  # in the order reported, each once
    for answer in answers:
        if isinstance(answer, BaseException):
            continue  # that sentinel is down: the others tell
        for replica in answer:
            flags = str(replica.get("flags", ""))
            if not any(flag in flags for flag in ("s_down", "o_down", "disconnected")):
                up[(str(replica["ip"]), int(replica["port"]))] = None
    return list(up)


def _names_a_live_primary(state: dict[str, Any]) -> bool:
    """Whether a sentinel's SENTINEL MASTER answer names a primary it takes for up."""
    return bool(state.get("is_master")) and not state.get("is_sdown") and not state.get("is_odown")


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
