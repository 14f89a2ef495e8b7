"""What the Python client relies on in redis-py (wa_version_client._redis_compat), pinned.

Each test checks one item against the installed redis-py, on loopback servers that speak
just enough RESP to play their part, so an upgrade that moves it fails here, saying what
to re-check, instead of in production. The first test pins the release itself: a new
one must be read against every item and added to CHECKED_WITH. (The declared floor,
7.2.0, has no pytest: tests/e2e/test_client_alone.py runs `missing()` and the client's
subscriber on it.)
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import redis
from redis._parsers import _AsyncHiredisParser, _AsyncRESP3Parser
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from devtools.embedded import free_port
from devtools.waiting import wait_until
from wa_version_client import _redis_compat as compat

RECHECK = "re-check wa_version_client/_redis_compat/ against this redis-py"

HELLO_3 = b"%1\r\n$5\r\nproto\r\n:3\r\n"
# Push frames of every sort a subscribed connection may be sent: a message, a tracking
# invalidation (any client can redirect them to it), a maintenance notice that does not
# parse, and a kind no release knows yet.
INVALIDATION = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n"
PUSHES = (
    b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\ndata\r\n"
    + INVALIDATION
    + b">2\r\n$6\r\nMOVING\r\n$4\r\njunk\r\n"
    + b">1\r\n$13\r\nsomething-new\r\n"
)


class FakeServer:
    """A loopback server that answers each command as `answers` says (+OK otherwise),
    and notes the commands it was sent and how many connections are open."""

    def __init__(self, answers: dict[str, bytes] | None = None) -> None:
        self.answers = {"HELLO": HELLO_3, "PING": b"+PONG\r\n", **(answers or {})}
        self.commands: list[list[str]] = []
        self.open = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> FakeServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        try:
            while command := await _read_command(reader):
                self.commands.append(command)
                writer.write(self.answers.get(command[0].upper(), b"+OK\r\n"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def _read_command(reader: asyncio.StreamReader) -> list[str]:
    header = await reader.readline()
    if not header:
        return []
    words = []
    for _ in range(int(header[1:])):
        length = int((await reader.readline())[1:])
        words.append((await reader.readexactly(length + 2))[:-2].decode())
    return words


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    fake = await FakeServer({"ECHO": PUSHES + b"$5\r\nreply\r\n"}).start()
    yield fake
    await fake.stop()


def test_the_installed_redis_py_is_one_the_compat_module_was_checked_with() -> None:
    assert redis.__version__ in compat.CHECKED_WITH, (
        f"redis-py {redis.__version__} is not one of {sorted(compat.CHECKED_WITH)}: {RECHECK}"
        " (every item, and this file), then add it to CHECKED_WITH"
    )


def test_everything_the_compat_module_names_is_there() -> None:
    assert compat.missing() == [], f"redis-py moved what the client relies on: {RECHECK}"


async def subscribed_connection(port: int, parser: type[Any]) -> Connection:
    connection = Connection(
        port=port, protocol=3, decode_responses=True, parser_class=parser,
        **compat.quiet_handshake_options(),
    )  # fmt: skip
    await connection.connect()  # type: ignore[no-untyped-call]
    return connection


@pytest.mark.parametrize("parser", [_AsyncRESP3Parser, _AsyncHiredisParser])
async def test_every_push_is_taken_and_never_read_as_a_reply(
    server: FakeServer, parser: type[Any]
) -> None:
    """Both parsers hand each push frame, whatever its kind, to the handler, and the
    reader is given the marker for it: the command's reply is the reply."""
    connection = await subscribed_connection(server.port, parser)
    pushes: list[list[Any]] = []
    try:
        pushed = compat.take_every_push(connection, pushes.append)
        await connection.send_command("ECHO", "reply", check_health=False)
        read = [await connection.read_response(timeout=math.inf, push_request=True)
                for _ in range(5)]  # fmt: skip
    finally:
        await connection.disconnect()
    assert read == [pushed] * 4 + ["reply"], f"a push came back as a reply: {RECHECK}"
    assert [push[0] for push in pushes] == ["message", "invalidate", "MOVING", "something-new"]


async def test_the_public_push_hooks_still_miss_a_push(server: FakeServer) -> None:
    """Why take_every_push replaces the parser's dispatcher: with the public per-kind
    hooks set, a maintenance notice that does not parse still comes back as a reply."""
    connection = await subscribed_connection(server.port, _AsyncRESP3Parser)
    marker = object()

    async def handled(push: list[Any]) -> object:
        return marker

    try:
        parser: Any = connection._parser
        parser.set_pubsub_push_handler(handled)
        parser.set_invalidation_push_handler(handled)
        await connection.send_command("ECHO", "reply", check_health=False)
        read = [await connection.read_response(push_request=True) for _ in range(5)]
    finally:
        await connection.disconnect()
    assert read != [marker] * 4 + ["reply"], (
        "redis-py's public push hooks now consume every push: take_every_push can use "
        "them instead of replacing handle_push_response"
    )


async def test_a_pubsub_hands_invalidations_to_the_handler_set_after_subscribing() -> None:
    """hear_invalidations (the cluster's subscription): redis-py's PubSub, which drops a
    tracking invalidation without a trace, hands it to the handler instead, and
    get_message() still returns None for it."""
    confirmation = b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    fake = await FakeServer({"SUBSCRIBE": confirmation + INVALIDATION}).start()
    client = Redis(port=fake.port, protocol=3, decode_responses=True,
                   **compat.quiet_handshake_options())  # fmt: skip
    heard: list[list[Any]] = []
    try:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe("ch")
            subscribed = await pubsub.get_message(timeout=None)
            compat.hear_invalidations(pubsub, heard.append)
            after = await pubsub.get_message(timeout=5)
    finally:
        await client.aclose()
        await fake.stop()
    assert subscribed is not None
    assert subscribed["type"] == "subscribe"
    assert heard == [["invalidate", ["key"]]], f"the invalidation was not handed over: {RECHECK}"
    assert after is None


async def test_the_handshake_sends_nothing_but_hello(server: FakeServer) -> None:
    """No CLIENT SETINFO, no CLIENT MAINT_NOTIFICATIONS: a round trip each saved."""
    connection = await subscribed_connection(server.port, _AsyncRESP3Parser)
    await connection.disconnect()
    assert [command[0] for command in server.commands] == ["HELLO"], RECHECK


async def test_aborting_the_socket_writer_ends_a_read(server: FakeServer) -> None:
    connection = await subscribed_connection(server.port, _AsyncRESP3Parser)
    reading = asyncio.create_task(connection.read_response(timeout=math.inf))
    writer = compat.socket_writer(connection)
    assert isinstance(writer, asyncio.StreamWriter), RECHECK
    writer.transport.abort()
    with pytest.raises(RedisConnectionError):
        await asyncio.wait_for(reading, 5)
    await connection.disconnect()


def sentinel_client(
    sentinel: FakeServer, choose: compat.ChoosePrimary, replica: bool = False
) -> Redis:
    """A client of the primary (or a replica) `choose` names, through `sentinel`."""
    no_retry = Retry(NoBackoff(), retries=0)
    return compat.sentinel_client(
        [("127.0.0.1", sentinel.port)], "svc", choose_primary=choose, sentinel_options={},
        options={"decode_responses": True, "retry": no_retry}, replica=replica, max_connections=4,
    )  # fmt: skip


def always(port: int, asked: list[str] | None = None) -> compat.ChoosePrimary:
    async def choose(sentinels: Sequence[Redis], service: str) -> tuple[str, int]:
        if asked is not None:
            asked.append(service)
            await sentinels[0].ping()  # a connection to the sentinel, closed with the client
        return "127.0.0.1", port

    return choose


async def test_the_pool_connects_where_choose_primary_says(server: FakeServer) -> None:
    """redis-py asks `discover_master` (ours: choose_primary) before a new connection,
    and the client closes its connections to the sentinels with its own."""
    sentinel = await FakeServer().start()
    asked: list[str] = []
    client = sentinel_client(sentinel, always(server.port, asked))
    try:
        assert await client.ping()
        asked_of = compat.sentinels_of(client)
        assert asked_of is not None
        assert [(s.connection_pool.connection_kwargs["port"]) for s in asked_of[0]] == [
            sentinel.port
        ]
        assert asked_of[1] == "svc"
    finally:
        await client.aclose()
        await sentinel.stop()
    assert asked[0] == "svc", RECHECK
    assert ["PING"] in server.commands
    await wait_until(lambda: sentinel.open == 0 and server.open == 0)


async def test_a_primary_refusing_writes_for_want_of_replicas_is_left() -> None:
    primary = await FakeServer(
        {"SET": b"-NOREPLICAS Not enough good replicas to write.\r\n"}
    ).start()
    client = sentinel_client(primary, always(primary.port))
    try:
        with pytest.raises(RedisConnectionError, match="refuses writes"):
            await client.set("key", "value")
        await wait_until(lambda: primary.open == 0)  # the connection dropped
    finally:
        await client.aclose()
        await primary.stop()


async def test_a_new_primary_closes_idle_connections_and_busy_ones_handed_back() -> None:
    old, new = await FakeServer().start(), await FakeServer().start()
    where = [old.port]

    async def choose(sentinels: Sequence[Redis], service: str) -> tuple[str, int]:
        return "127.0.0.1", where[0]

    client = sentinel_client(old, choose)
    try:
        async with client.client() as busy:
            await asyncio.gather(busy.ping(), client.ping())  # one held, one idle after
            assert old.open == 2
            where[0] = new.port
            await compat.recheck_primary(client)
            await wait_until(lambda: old.open == 1)  # the idle one, at once
        await wait_until(lambda: old.open == 0)  # the busy one, as it was handed back
        assert await client.ping()
        assert ["PING"] in new.commands
    finally:
        await client.aclose()
        await old.stop()
        await new.stop()


def test_a_replicas_client_has_no_primary_to_follow() -> None:
    nowhere = FakeServer()
    assert compat.sentinels_of(sentinel_client(nowhere, always(1), replica=True)) is None
    assert compat.sentinels_of(Redis()) is None


async def test_every_cluster_command_waits_for_a_turn_and_an_unusable_cluster_is_down() -> None:
    client = compat.cluster_client(
        turns=0, queue_wait=0.05, startup_nodes=[ClusterNode("127.0.0.1", free_port())]
    )
    try:
        with pytest.raises(RedisConnectionError, match="no free connection"):
            await client.get("key")  # through execute_command, ours
        with pytest.raises(RedisConnectionError, match="cannot be used"):
            await client.initialize()
        await compat.reread_slot_map(client)  # fails quietly: the next attempt tries again
    finally:
        await client.aclose()


async def test_rereading_the_slot_map_asks_the_cluster_again() -> None:
    node = FakeServer()
    await node.start()
    node.answers["COMMAND"] = b"*0\r\n"  # the command table: none, for this test
    node.answers["CLUSTER"] = (
        f"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:{node.port}\r\n".encode()
    )
    client = compat.cluster_client(
        turns=1, queue_wait=1, startup_nodes=[ClusterNode("127.0.0.1", node.port)]
    )
    try:
        await client.initialize()
        await client.initialize()  # read once: this asks nothing
        asked = sum(1 for c in node.commands if c[0] == "CLUSTER")
        await compat.reread_slot_map(client)
        assert sum(1 for c in node.commands if c[0] == "CLUSTER") > asked, RECHECK
    finally:
        await client.aclose()
        await node.stop()
