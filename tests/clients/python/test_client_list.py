"""CLIENT LIST read for the fleet: the reply unparsed (wa_version_client._redis_compat
._replies, pinned to the installed redis-py) and the two fields the fleet reads
(wa_version_client._client_list), which must equal redis-py's own parse of the same
reply on the real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis._parsers import _AsyncHiredisParser, _AsyncRESP2Parser, _AsyncRESP3Parser
from redis._parsers.helpers import parse_client_list
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import ResponseError

from devtools.embedded import RedisServer
from wa_version_client import _redis_compat as compat
from wa_version_client._client_list import NamedClient, named_clients

pytestmark = pytest.mark.server_sensitive  # the reply's fields and the names it allows

RECHECK = "re-check wa_version_client/_redis_compat/_replies.py against this redis-py"
LONGEST = "wav1:" + "x" * 100_000  # the server sets no limit on a name's length
NAMES = [
    "wav1:gw-1:python:2.3000.1012345678",  # a manager
    "wav1:gw-2:go:-",  # a manager holding no version yet
    "wav1:gw-3:ruby:2.3000.1",  # garbled: an unknown client
    "wav1:gw-4:python:2.3000.99999999999",  # garbled: a part beyond a uint32
    "wav",
    "wav2:future",
    "wav1:a=b:age=7:name=wav1",  # the field markers inside a name
    "wav1:~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}",  # every odd byte the server lets in
    "sentinel-1a2b3c4d-cmd",  # another program's
    "xwav1:gw-5:python:2.3000.1",  # not of the scheme: `wav` is not where it starts
    LONGEST,
]


# Both untyped in redis-py.
theirs_parse: Callable[[str], list[dict[str, str]]] = parse_client_list


def command(client: Redis) -> Callable[..., Awaitable[Any]]:
    execute: Callable[..., Awaitable[Any]] = client.execute_command
    return execute


@pytest.fixture
async def clients(redis_server: RedisServer) -> AsyncIterator[Callable[..., Redis]]:
    opened: list[Redis] = []

    def new(*, decode_responses: bool = False) -> Redis:
        client = Redis(
            port=redis_server.port,
            single_connection_client=True,
            decode_responses=decode_responses,
        )
        opened.append(client)
        return client

    yield new
    for client in opened:
        await client.aclose()


async def test_the_callback_for_client_list_is_keyed_by_both_words_only() -> None:
    """Why `execute_command("CLIENT", "LIST")` is read unparsed: redis-py looks a reply's
    callback up by the first argument alone, and has none for "CLIENT"."""
    redis = Redis()
    assert "CLIENT LIST" in redis.response_callbacks, RECHECK
    assert "CLIENT" not in redis.response_callbacks, RECHECK
    await redis.aclose()


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("parser", ["python", "hiredis"])
@pytest.mark.parametrize("decode", [True, False])
async def test_the_reply_comes_back_as_the_server_sent_it(
    redis_server: RedisServer, protocol: int, parser: str, decode: bool
) -> None:
    """Bytes, one line per client, however the client is set up: no dict per client."""
    python = _AsyncRESP3Parser if protocol == 3 else _AsyncRESP2Parser
    pool = ConnectionPool(
        port=redis_server.port,
        protocol=protocol,
        parser_class=python if parser == "python" else _AsyncHiredisParser,
        decode_responses=decode,
    )
    redis = Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
    try:
        reply = await compat.raw_client_list(redis)
        listed = await redis.client_list()
    finally:
        await redis.aclose()
    assert isinstance(reply, bytes), RECHECK
    assert reply.startswith(b"id="), RECHECK  # no `txt:` of a RESP3 verbatim string
    assert len(reply.splitlines()) >= len(listed) - 1  # give or take one come or gone


async def test_names_the_server_refuses_never_reach_the_listing(
    clients: Callable[..., Redis],
) -> None:
    """A space, a newline, a byte outside `!`..`~` (not UTF-8, or UTF-8): refused, so a
    name is the run of bytes up to the next space."""
    client = clients()
    for name in (b"wav1:a b", b"wav1:a\nb", b"wav1:\xff\xfe", "wav1:café".encode()):
        with pytest.raises(ResponseError, match="cannot contain spaces"):
            await command(client)("CLIENT", "SETNAME", name)


async def test_the_named_clients_are_redis_pys_own_parse_of_the_fields_used(
    clients: Callable[..., Redis],
) -> None:
    """Every client named `wav…`, garbled or not, with its age; unnamed ones, other
    programs' and a library name (CLIENT SETINFO, where the server has it) left out."""
    for name in NAMES:
        await clients().client_setname(name)
    await command(clients())("CLIENT", "LIST")  # an unnamed one
    library = b"lib-name=wav1:lib:go:-"
    try:
        await command(clients())("CLIENT", "SETINFO", "LIB-NAME", "wav1:lib:go:-")
    except ResponseError:  # Redis 6.2 has no CLIENT SETINFO
        library = b""
    reply = await compat.raw_client_list(clients(decode_responses=True))
    assert library in reply
    theirs = theirs_parse(reply.decode("utf-8", "replace"))
    expected = [
        NamedClient(c["name"], int(c["age"])) for c in theirs if c["name"].startswith("wav")
    ]
    assert named_clients(reply) == expected
    assert sorted(c.name for c in expected) == sorted(n for n in NAMES if n.startswith("wav"))


def test_a_name_of_bytes_that_are_not_utf_8_is_read_with_replacement() -> None:
    """Were a server to let such a name in, it would still be counted, never raise."""
    reply = b"id=1 addr=x fd=8 name=wav1:\xff\xfe age=3 idle=0\nid=2 addr=y fd=9 name= age=1 \n"
    assert named_clients(reply) == [NamedClient("wav1:\ufffd\ufffd", 3)]
