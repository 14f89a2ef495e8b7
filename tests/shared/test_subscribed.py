"""SubscribedConnection on a real Redis: one connection that is subscribed and still reads."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from devtools.embedded import RedisServer
from shared.keys import ServiceKeys
from tests.support import publish_version, wait_until
from wa_version_client import NotConnected, VersionSubscriber
from wa_version_client._subscribed import SubscribedConnection
from wa_version_client.deployment import connect_server
from wa_version_client.runtime import cancel_and_wait

pytestmark = pytest.mark.server_sensitive

CHANNEL = "test-channel"


class Listener:
    """A running SubscribedConnection and what it heard."""

    def __init__(self, url: str, *, ping_interval: float = 5.0) -> None:
        self.client = connect_server(url, max_connections=1, subscriber=True)
        self.messages: list[str] = []
        self.subscription = SubscribedConnection(
            self.client,
            [CHANNEL],
            on_message=lambda channel, data: self.messages.append(data),
            on_subscribed=self._nothing,
            ping_interval=ping_interval,
        )
        self._task: asyncio.Task[None] | None = None

    async def _nothing(self) -> None:
        pass

    async def __aenter__(self) -> Listener:
        self._task = asyncio.create_task(self.subscription.run())
        await wait_until(lambda: self.subscription.subscriptions == 1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await cancel_and_wait(self._task)
        await self.client.aclose()


@pytest.fixture
async def listener(redis_server: RedisServer) -> AsyncIterator[Listener]:
    async with Listener(redis_server.url) as running:
        yield running


async def new_client_ids(redis: Redis, before: set[str]) -> list[dict[str, str]]:
    return [c for c in await redis.client_list() if c["id"] not in before]


async def test_an_idle_subscriber_holds_one_connection(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """A started subscriber holds a single connection, subscribed, that it also reads on
    and sends its reports of an outdated version on."""
    before = {c["id"] for c in await redis.client_list()}
    async with VersionSubscriber(redis_server.url, prefix=keys.prefix) as versions:
        await wait_until(lambda: versions.subscription.subscriptions == 1)
        await versions.resync()
        added = await new_client_ids(redis, before)
        assert len(added) == 1
        assert added[0]["sub"] == "1"
        assert added[0]["cmd"] == "hgetall"  # the read ran on the subscribed connection
        assert await versions.report_outdated()
        added = await new_client_ids(redis, before)
        assert [client["cmd"] for client in added] == ["eval"]  # SET NX and XADD, atomic
        assert await redis.xlen(keys.refresh_jobs) == 1


async def test_a_report_without_a_subscription_goes_on_a_connection_of_its_own(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """A subscriber whose subscription is not up (not started, or reconnecting) still
    reports: through a client that connects for it."""
    versions = VersionSubscriber(redis_server.url, prefix=keys.prefix)
    try:
        assert await versions.report_outdated()
        assert await redis.xlen(keys.refresh_jobs) == 1
        assert await redis.exists(keys.outdated_report)
    finally:
        await versions.aclose()


async def test_replies_and_messages_interleave_without_mixing(
    listener: Listener, redis: Redis
) -> None:
    """Commands sent while messages stream in each get their own reply, and every
    message arrives, in order, on the same connection."""

    async def publish() -> None:
        for number in range(300):
            await redis.publish(CHANNEL, str(number))

    async def echo(number: int) -> str:
        reply: str = await listener.subscription.command("ECHO", f"reply-{number}")
        return reply

    replies, _ = await asyncio.gather(asyncio.gather(*(echo(n) for n in range(100))), publish())
    assert replies == [f"reply-{n}" for n in range(100)]
    await wait_until(lambda: len(listener.messages) == 300)
    assert listener.messages == [str(n) for n in range(300)]
    assert listener.subscription.losses == 0


async def test_an_error_reply_fails_its_command_only(listener: Listener, redis: Redis) -> None:
    """Redis refusing a command (a key of the wrong type) raises in that command's
    caller; the connection stays, and so do the next replies and messages."""
    await redis.set("a-string", "x")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await listener.subscription.command("HGETALL", "a-string")
    assert await listener.subscription.command("ECHO", "next") == "next"
    await redis.publish(CHANNEL, "still here")
    await wait_until(lambda: listener.messages == ["still here"])
    assert listener.subscription.losses == 0


async def test_a_command_given_up_on_leaves_the_replies_paired(
    listener: Listener, redis_server: RedisServer
) -> None:
    """A caller that stops waiting (a timeout) does not shift the replies: its reply,
    when it comes, is dropped, and the next command still gets its own."""
    # Every reply held while the server is frozen. (CLIENT PAUSE held them for its whole
    # length: its CLIENT UNPAUSE waits out the pause like any other command.)
    redis_server.signal(signal.SIGSTOP)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(listener.subscription.command("ECHO", "late"), 0.2)
    finally:
        redis_server.signal(signal.SIGCONT)
    assert await listener.subscription.command("ECHO", "mine") == "mine"
    assert listener.subscription.losses == 0


async def test_a_command_without_a_connection_is_refused(redis_server: RedisServer) -> None:
    """Before it connects (or while it reconnects) the subscription refuses commands
    with a ConnectionError, which every caller already treats as Redis being away."""
    client = connect_server(redis_server.url, max_connections=1, subscriber=True)

    async def nothing() -> None:
        pass

    subscription = SubscribedConnection(
        client, [CHANNEL], on_message=lambda channel, data: None, on_subscribed=nothing
    )
    with pytest.raises(NotConnected):
        await subscription.command("PING")
    await client.aclose()


async def test_a_hash_of_the_wrong_type_leaves_the_subscription_up(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """The version key holding a string (someone's mistake) fails the read after
    subscribing, which is logged; the subscription stays, and a change published once
    the key is fixed is applied."""
    await redis.set(keys.version, "not a hash")
    async with VersionSubscriber(redis_server.url, prefix=keys.prefix) as versions:
        await wait_until(lambda: versions.subscription.subscriptions == 1)
        assert versions.current is None
        await redis.delete(keys.version)
        await publish_version(redis, keys, 100)
        await wait_until(lambda: versions.current is not None)
        assert versions.subscription.losses == 0


async def test_bytes_that_are_not_utf8_leave_the_subscription_up(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys
) -> None:
    """A byte that is not UTF-8 in a field of the hash, or in a forged message, is read
    as U+FFFD and refused by the decoders: the connection stays, and the next real
    change is applied."""
    await publish_version(redis, keys, 100)
    async with VersionSubscriber(redis_server.url, prefix=keys.prefix) as versions:
        await wait_until(lambda: versions.subscription.subscriptions == 1)
        raw = Redis(port=redis_server.port)  # no decoding: the bytes go out as they are
        try:
            await raw.hset(keys.version, "last_error", b"\xff\xfe")
            await raw.publish(keys.version_changed, b"\xff\xfe not a message")
        finally:
            await raw.aclose()
        await versions.resync()
        await publish_version(redis, keys, 101)
        await wait_until(lambda: versions.current is not None and versions.current.seq == 2)
        assert versions.subscription.losses == 0


async def test_a_push_of_another_kind_is_not_taken_for_a_reply(
    listener: Listener, redis: Redis
) -> None:
    """Any client can redirect key-tracking invalidations to the subscriber's connection
    (CLIENT TRACKING … REDIRECT): such a push is ignored, and the replies stay paired."""
    subscribed = [c for c in await redis.client_list() if c["sub"] == "1"]
    assert len(subscribed) == 1
    tracker = Redis(port=redis.connection_pool.connection_kwargs["port"], protocol=2)
    try:
        await tracker.client_tracking_on(clientid=int(subscribed[0]["id"]), bcast=True)
        await tracker.set("tracked-key", "x")  # an invalidation push to the subscriber
    finally:
        await tracker.aclose()
    assert await listener.subscription.command("ECHO", "mine") == "mine"
    assert await listener.subscription.command("ECHO", "next") == "next"
    assert listener.subscription.losses == 0


async def test_tracking_invalidations_are_counted_and_ignored_quietly(
    redis_server: RedisServer, redis: Redis, keys: ServiceKeys, caplog: pytest.LogCaptureFixture
) -> None:
    """Another client redirects its key-tracking invalidations onto the subscriber's
    connection (CLIENT TRACKING ON REDIRECT <id> BCAST) and writes 200 keys, one at a
    time: each `invalidate` push is counted and ignored, nothing is logged above debug,
    and the next change is still followed."""
    caplog.set_level(logging.DEBUG, logger="wa_version_client")
    tracker = Redis(port=redis_server.port, single_connection_client=True)
    async with VersionSubscriber(redis_server.url, prefix=keys.prefix) as versions:
        try:
            await wait_until(lambda: versions.subscription.subscriptions == 1)
            subscriber_id = await versions.subscription.command("CLIENT", "ID")
            await tracker.client_tracking_on(clientid=int(subscriber_id), bcast=True)
            for number in range(200):
                await tracker.set(f"{keys.prefix}:tracked:{number}", number)
            await wait_until(lambda: versions.subscription.ignored_pushes >= 200)
        finally:
            await tracker.aclose()
        await publish_version(redis, keys, 100)
        await wait_until(lambda: versions.current is not None)
        assert versions.subscription.losses == 0
    louder = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert louder == []


async def test_a_command_queued_behind_a_dying_connection_fails_rather_than_hangs() -> None:
    """A command waiting its turn to send while the connection dies gets a
    ConnectionError: it is never left waiting, nor sent on the next connection (whose
    reply nobody would read)."""
    with RedisServer() as server:
        async with Listener(server.url, ping_interval=0.3) as listener:
            server.signal(signal.SIGSTOP)  # the server stops reading: a big send blocks
            try:
                big = asyncio.create_task(listener.subscription.command("ECHO", "x" * 20_000_000))
                await asyncio.sleep(0)  # let it take the turn to send (not a race: one step)
                queued = asyncio.create_task(listener.subscription.command("PING"))
                await wait_until(lambda: listener.subscription.losses >= 1)  # found silent
            finally:
                server.signal(signal.SIGCONT)
            outcomes = await asyncio.gather(big, queued, return_exceptions=True)
            assert all(isinstance(o, RedisConnectionError) for o in outcomes), outcomes
            await wait_until(lambda: listener.subscription.subscriptions == 2)
            assert await listener.subscription.command("ECHO", "after") == "after"
            assert listener.subscription.losses == 1  # no reply to no command after it
