"""The fleet on a real server: subscribers name their connection, the service lists them."""

from __future__ import annotations

import asyncio
import itertools
import time
import urllib.parse

import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from shared.fleet import Fleet, FleetReader, Manager
from shared.keys import ServiceKeys
from tests.support import publish_version, wait_until
from wa_version_client import VersionSubscriber
from wa_version_client.contract._manager_name import RENAME_DELAY_MIN
from wa_version_client.deployment import deployment_for

pytestmark = pytest.mark.server_sensitive

_ids = itertools.count()


def unique_id() -> str:
    return f"fleet-test-{next(_ids)}"


def entries(fleet: Fleet, manager_id: str) -> list[Manager]:
    return [manager for manager in fleet.managers if manager.id == manager_id]


@pytest.fixture
def reader(redis_server: RedisServer, redis: Redis) -> FleetReader:
    """A reader that lists on every read (ttl 0), so each read shows the server now."""
    return FleetReader(deployment_for(redis_server.url), redis, ttl=0)


async def held_in_fleet(reader: FleetReader, manager_id: str, version: str | None) -> bool:
    found = entries(await reader.read(), manager_id)
    return [(m.client, None if m.version is None else str(m.version)) for m in found] == [
        ("python", version)
    ]


async def test_a_subscriber_is_listed_with_its_version_renamed_on_change_and_gone_on_exit(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys, reader: FleetReader
) -> None:
    await publish_version(redis, keys, 100)
    manager_id = unique_id()
    subscriber = VersionSubscriber(redis_server.url, prefix=keys.prefix, manager_id=manager_id)
    async with subscriber:
        await wait_until(lambda: held_in_fleet(reader, manager_id, "2.3000.100"))
        fleet = await reader.read()
        assert fleet.by_version().get("2.3000.100", 0) >= 1
        where = urllib.parse.urlsplit(redis_server.url)
        assert entries(fleet, manager_id)[0].server == f"{where.hostname}:{where.port}"
        await publish_version(redis, keys, 101)
        await wait_until(lambda: held_in_fleet(reader, manager_id, "2.3000.101"))
        # Renamed, not a second connection: the subscriber still holds one.
        names = [c.get("name") for c in await redis.client_list()]
        assert sum(1 for name in names if name and f":{manager_id}:" in name) == 1
    await wait_until(lambda: _gone(reader, manager_id))


async def _gone(reader: FleetReader, manager_id: str) -> bool:
    return not entries(await reader.read(), manager_id)


async def test_a_subscriber_holding_no_version_yet_is_listed_as_none(
    redis_server: RedisServer, keys: ServiceKeys, reader: FleetReader
) -> None:
    manager_id = unique_id()
    async with VersionSubscriber(redis_server.url, prefix=keys.prefix, manager_id=manager_id):
        await wait_until(lambda: held_in_fleet(reader, manager_id, None))
        assert (await reader.read()).by_version()["none"] >= 1


async def test_names_that_do_not_parse_are_ignored(
    redis_server: RedisServer, reader: FleetReader
) -> None:
    """Any client may set any name: the fleet counts the names of its scheme that do not
    parse, shows none of it; another program's name ("hello") is not counted."""
    garbage = ["wav1:hello", "wav1:g1:ruby:2.3000.1", "wav1:g2:python:2.3000.99999999999"]
    before = (await reader.read()).ignored
    others = [Redis.from_url(redis_server.url, protocol=3) for _ in [*garbage, "hello"]]
    try:
        for other, name in zip(others, [*garbage, "hello"], strict=True):
            await other.client_setname(name)
        fleet = await reader.read()
        assert fleet.ignored - before == len(garbage)
        assert not {"g1", "g2"} & {manager.id for manager in fleet.managers}
    finally:
        for other in others:
            await other.aclose()


def client_lists_run(stats: dict[str, dict[str, int]]) -> int:
    """CLIENT LIST calls so far (Redis 7 counts subcommands apart; 6.2 counts CLIENT)."""
    entry = stats.get("cmdstat_client|list") or stats.get("cmdstat_client") or {}
    return int(entry.get("calls", 0))


async def test_a_listing_is_kept_for_its_ttl_and_shared_by_concurrent_readers(
    redis_server: RedisServer, redis: Redis
) -> None:
    now = [0.0]
    reader = FleetReader(deployment_for(redis_server.url), redis, ttl=1.0, clock=lambda: now[0])
    await asyncio.gather(*(reader.read() for _ in range(5)))  # one listing for all five
    listed = client_lists_run(await redis.info("commandstats"))
    now[0] = 0.9
    await reader.read()
    assert client_lists_run(await redis.info("commandstats")) == listed
    now[0] = 1.0
    await reader.read()
    assert client_lists_run(await redis.info("commandstats")) == listed + 1


async def test_a_subscriber_reading_a_replica_is_named_there_with_no_connection_to_the_primary(
    keys: ServiceKeys,
) -> None:
    """REDIS_REPLICA_URL: the name is set on the replica's subscribed connection (no
    write, so a replica takes it); the primary never hears from the subscriber."""
    manager_id = unique_id()
    with (
        RedisServer() as primary,
        RedisServer(None, "--replicaof", "127.0.0.1", str(primary.port)) as replica,
    ):
        writer, on_replica = Redis.from_url(primary.url), Redis.from_url(replica.url)
        try:
            await publish_version(writer, keys, 200)
            await wait_until(lambda: _exists(on_replica, keys.version))
            replica_fleet = FleetReader(deployment_for(replica.url), on_replica, ttl=0)
            primary_fleet = FleetReader(deployment_for(primary.url), writer, ttl=0)
            async with VersionSubscriber(
                primary.url, prefix=keys.prefix, replica_url=replica.url, manager_id=manager_id
            ):
                await wait_until(lambda: held_in_fleet(replica_fleet, manager_id, "2.3000.200"))
                assert not entries(await primary_fleet.read(), manager_id)
                # Only `writer` itself, besides the replica's link (flag S).
                clients = [c for c in await writer.client_list() if "S" not in c["flags"]]
                assert len(clients) == 1
        finally:
            await writer.aclose()
            await on_replica.aclose()


async def _exists(redis: Redis, key: str) -> bool:
    return bool(await redis.exists(key))


async def test_the_rename_follows_the_managers_own_callbacks(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys, reader: FleetReader
) -> None:
    """The fleet shows a version once the manager's on_change callbacks have applied it,
    and never delays them: while a callback runs, the connection still holds the old name
    (a callback registered after the subscriber was made, as a manager does)."""
    await publish_version(redis, keys, 200)
    manager_id = unique_id()
    seen_during_callback: list[bool] = []
    subscriber = VersionSubscriber(redis_server.url, prefix=keys.prefix, manager_id=manager_id)

    async def applying(old: object, new: object) -> None:
        seen_during_callback.append(await held_in_fleet(reader, manager_id, "2.3000.201"))

    async with subscriber:
        await wait_until(lambda: held_in_fleet(reader, manager_id, "2.3000.200"))
        subscriber.on_change(applying)
        await publish_version(redis, keys, 201)
        await wait_until(lambda: held_in_fleet(reader, manager_id, "2.3000.201"))
    assert seen_during_callback == [False]


async def test_a_change_is_named_no_sooner_than_the_rename_delay(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys, reader: FleetReader
) -> None:
    """Thousands of managers renaming the moment a change reaches them would crowd its
    delivery: each waits at least RENAME_DELAY_MIN after applying it (then up to
    RENAME_DELAY_MAX, at random), and the fleet shows the change after that."""
    await publish_version(redis, keys, 300)
    manager_id = unique_id()
    applied_at: list[float] = []
    subscriber = VersionSubscriber(redis_server.url, prefix=keys.prefix, manager_id=manager_id)
    subscriber.on_change(lambda old, new: applied_at.append(time.monotonic()))
    async with subscriber:
        await wait_until(lambda: held_in_fleet(reader, manager_id, "2.3000.300"))
        await publish_version(redis, keys, 301)
        await wait_until(lambda: held_in_fleet(reader, manager_id, "2.3000.301"))
        named_at = time.monotonic()
    assert len(applied_at) == 2
    assert named_at - applied_at[1] >= RENAME_DELAY_MIN
