"""VersionSubscriber on a real Redis: delivery, catching up, restarts, ordering, callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from devtools.tcp_proxy import TcpProxy
from shared.keys import ServiceKeys
from tests.support import publish_version, wait_until
from wa_version_client import VersionSubscriber
from wa_version_client.contract import PublishedVersion, WAVersion
from wa_version_client.deployment import RedisClient, connect

pytestmark = pytest.mark.server_sensitive

SOURCE = "https://web.whatsapp.com/sw.js"

Changes = list[tuple[PublishedVersion | None, PublishedVersion]]


def recorder(subscriber: VersionSubscriber) -> Changes:
    changes: Changes = []
    subscriber.on_change(lambda old, new: changes.append((old, new)))
    return changes


def holds(subscriber: VersionSubscriber, revision: int) -> bool:
    current = subscriber.current
    return current is not None and current.version.patch == revision


@pytest.fixture
async def subscriber(redis_server: RedisServer, prefix: str) -> AsyncIterator[VersionSubscriber]:
    async with VersionSubscriber(redis_server.url, prefix=prefix) as running:
        await wait_until(lambda: running.subscription.subscriptions > 0)
        yield running


async def test_reads_the_stored_version_on_start(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """A subscriber started after a change holds it at once and reports it as (None, new)."""
    await publish_version(redis, keys, 100)
    versions = VersionSubscriber(redis_server.url, prefix=keys.prefix)
    changes = recorder(versions)
    async with versions:
        assert holds(versions, 100)
        await wait_until(lambda: len(changes) == 1)
    assert changes[0][0] is None
    assert changes[0][1].string == "2.3000.100"


async def test_a_change_is_delivered_with_old_and_new(
    subscriber: VersionSubscriber, redis: Redis, keys: ServiceKeys
) -> None:
    changes = recorder(subscriber)
    await publish_version(redis, keys, 100)
    await publish_version(redis, keys, 101)
    await wait_until(lambda: len(changes) == 2)
    assert [(old and old.seq, new.seq) for old, new in changes] == [(None, 1), (1, 2)]
    assert holds(subscriber, 101)
    assert subscriber.current is not None
    assert subscriber.current.array == [2, 3000, 101]


async def test_duplicates_and_stragglers_are_ignored(
    subscriber: VersionSubscriber, redis: Redis, keys: ServiceKeys
) -> None:
    """Only a newer (epoch, seq) is applied: a repeat or an older message changes nothing."""
    changes = recorder(subscriber)
    newest = await publish_version(redis, keys, 103)
    await wait_until(lambda: len(changes) == 1)
    older = PublishedVersion(WAVersion(2, 3000, 102), newest.seq - 1, newest.epoch, "", SOURCE)
    await redis.publish(keys.version_changed, newest.encode())
    await redis.publish(keys.version_changed, older.encode())
    await redis.publish(keys.version_changed, "not json")
    marker = await publish_version(redis, keys, 104)  # delivered after the three above
    await wait_until(lambda: holds(subscriber, 104))
    assert [new.seq for _, new in changes] == [newest.seq, marker.seq]


async def test_a_forged_message_taking_the_next_seq_yields_to_the_store(
    subscriber: VersionSubscriber, redis: Redis, keys: ServiceKeys
) -> None:
    """A forged message with the next (epoch, seq) is applied, and the real change that
    follows under the same pair is not newer; the next read of the hash, which holds
    another version at that pair, replaces the forgery."""
    first = await publish_version(redis, keys, 110)
    await wait_until(lambda: holds(subscriber, 110))
    forged = PublishedVersion(WAVersion(2, 3000, 666), first.seq + 1, first.epoch, "", SOURCE)
    await redis.publish(keys.version_changed, forged.encode())
    await wait_until(lambda: holds(subscriber, 666))
    real = await publish_version(redis, keys, 111)
    assert real.order == forged.order
    await subscriber.resync()  # what the 30 s backstop, or the next reconnection, does
    assert holds(subscriber, 111)


async def test_a_failing_callback_does_not_stop_the_others(
    subscriber: VersionSubscriber, redis: Redis, keys: ServiceKeys
) -> None:
    def explode(old: PublishedVersion | None, new: PublishedVersion) -> None:
        raise RuntimeError("a manager's bug")

    async def also_async(old: PublishedVersion | None, new: PublishedVersion) -> None:
        seen_async.append(new.seq)

    seen_async: list[int] = []
    subscriber.on_change(explode)
    subscriber.on_change(also_async)
    changes = recorder(subscriber)
    await publish_version(redis, keys, 100)
    await publish_version(redis, keys, 101)
    await wait_until(lambda: len(changes) == 2)
    assert seen_async == [1, 2]


async def test_a_change_missed_while_disconnected_is_caught_up(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """The connection is cut during a change; on reconnect the hash is re-read."""
    proxy = await TcpProxy(redis_server.port).start()
    try:
        async with VersionSubscriber(proxy.url, prefix=keys.prefix) as versions:
            await wait_until(lambda: versions.subscription.subscriptions == 1)
            await publish_version(redis, keys, 100)
            await wait_until(lambda: holds(versions, 100))
            await proxy.cut()
            await publish_version(redis, keys, 101)  # published while nobody listens
            proxy.restore()
            await wait_until(lambda: holds(versions, 101))
            assert versions.subscription.subscriptions >= 2
    finally:
        await proxy.stop()


async def test_a_silent_connection_is_noticed_and_replaced(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """A connection that stops carrying bytes (no FIN, no RST) is dropped after three
    unanswered ping intervals; the new one catches up on what the old one swallowed."""
    proxy = await TcpProxy(redis_server.port).start()
    versions = VersionSubscriber(
        proxy.url, prefix=keys.prefix, ping_interval=0.1, resync_interval=3600
    )
    try:
        async with versions:
            await wait_until(lambda: versions.subscription.subscriptions == 1)
            proxy.freeze()
            await publish_version(redis, keys, 100)  # swallowed by the frozen connection
            await wait_until(lambda: versions.subscription.losses >= 1)
            proxy.restore()
            await wait_until(lambda: holds(versions, 100))
    finally:
        await proxy.stop()


async def test_every_subscriber_ends_on_the_latest_after_a_redis_restart(
    own_redis: RedisServer, keys: ServiceKeys
) -> None:
    """Redis restarts (losing its data) between two changes: all five subscribers converge.

    The second change starts again at seq 1, in a new epoch, and must still be applied.
    """
    subscribers = [VersionSubscriber(own_redis.url, prefix=keys.prefix) for _ in range(5)]
    for versions in subscribers:
        await versions.start()
    writer = connect(own_redis.url)
    try:
        await publish_version(writer, keys, 100)
        await publish_version(writer, keys, 101)
        await wait_until(lambda: all(holds(v, 101) for v in subscribers))
        own_redis.stop()
        own_redis.start()
        latest = await publish_version(writer, keys, 102)
        assert latest.seq == 1
        await wait_until(lambda: all(holds(v, 102) for v in subscribers))
    finally:
        await writer.aclose()
        for versions in subscribers:
            await versions.aclose()


async def test_the_same_version_in_a_new_epoch_is_held_without_a_callback(
    own_redis: RedisServer, keys: ServiceKeys
) -> None:
    """Redis restarts empty and the next refresh stores the version already held, in a
    new epoch: the subscriber takes the new order (so later messages compare right)
    with no callback, and wait_newer() keeps waiting; the next real change is heard,
    with the version held before as `old`."""
    versions = VersionSubscriber(own_redis.url, prefix=keys.prefix)
    changes = recorder(versions)
    writer = connect(own_redis.url)
    try:
        await versions.start()
        await publish_version(writer, keys, 100)
        before = await publish_version(writer, keys, 101)
        await wait_until(lambda: len(changes) == 2)
        since = versions.current_since
        waiting = asyncio.create_task(versions.wait_newer(versions.current, within=30))
        own_redis.stop()
        own_redis.start()
        await wait_until(lambda: versions.subscription.subscriptions == 2)
        again = await publish_version(writer, keys, 101)  # seq 1 of a new epoch
        assert again.epoch > before.epoch
        await wait_until(
            lambda: versions.current is not None and versions.current.order == again.order
        )
        assert versions.current_since == since
        await publish_version(writer, keys, 102)
        await wait_until(lambda: len(changes) == 3)
        assert [(old and old.string, new.string) for old, new in changes] == [
            (None, "2.3000.100"), ("2.3000.100", "2.3000.101"), ("2.3000.101", "2.3000.102"),
        ]  # fmt: skip
        assert changes[2][0] is not None
        assert changes[2][0].order == again.order
        newer = await waiting
        assert newer is not None
        assert newer.string == "2.3000.102"
    finally:
        await writer.aclose()
        await versions.aclose()


async def test_wait_newer_returns_once_a_newer_version_arrives(
    subscriber: VersionSubscriber, redis: Redis, keys: ServiceKeys
) -> None:
    first = await publish_version(redis, keys, 100)
    await wait_until(lambda: holds(subscriber, 100))
    waiting = asyncio.create_task(subscriber.wait_newer(first, within=10))
    await publish_version(redis, keys, 101)
    newer = await waiting
    assert newer is not None
    assert newer.string == "2.3000.101"


async def test_wait_newer_gives_up_after_its_time(
    subscriber: VersionSubscriber, redis: Redis, keys: ServiceKeys
) -> None:
    """With nothing newer, wait_newer waits its whole time, then returns what is held."""
    await publish_version(redis, keys, 150)
    await wait_until(lambda: subscriber.current is not None)
    held = subscriber.current
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await subscriber.wait_newer(held, within=0.2) is held
    assert loop.time() - started >= 0.2


async def test_a_replica_url_is_read_and_heard_there_and_reports_go_to_the_primary(
    redis_server: RedisServer, keys: ServiceKeys
) -> None:
    """With `replica_url` (REDIS_REPLICA_URL) the subscriber reads the hash and hears
    changes on that replica, subscribed to nothing on the primary, and a report of an
    outdated version is written on the primary."""
    with (
        RedisServer() as primary,
        RedisServer(None, "--replicaof", "127.0.0.1", str(primary.port)) as replica,
    ):
        writer, on_replica = connect(primary.url), connect(replica.url)
        try:
            await publish_version(writer, keys, 100)
            await wait_until(lambda: _holds_the_hash(on_replica, keys))
            async with VersionSubscriber(
                primary.url, prefix=keys.prefix, replica_url=replica.url
            ) as versions:
                await wait_until(lambda: holds(versions, 100))
                assert await _subscribed_clients(on_replica) == 1
                assert await _subscribed_clients(writer) == 0
                await publish_version(writer, keys, 101)  # replicated, PUBLISH included
                await wait_until(lambda: holds(versions, 101))
                assert await versions.report_outdated()
                assert await writer.xlen(keys.refresh_jobs) == 1
        finally:
            await writer.aclose()
            await on_replica.aclose()


async def _subscribed_clients(redis: RedisClient) -> int:
    return sum(1 for client in await redis.client_list() if int(client.get("sub", 0)))


async def _holds_the_hash(redis: RedisClient, keys: ServiceKeys) -> bool:
    return bool(await redis.exists(keys.version))
