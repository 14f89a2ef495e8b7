"""GET /admin/whatsapp/version/events against the real web and worker, the session's
Redis and the stub upstream: the current version first, one event per change, no
replay for a client that has the current id, the bound on streams, the secret, and a
clean end when the web shuts down."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from devtools.stub_upstream import StubUpstream
from devtools.tcp_proxy import TcpProxy
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

EVENTS = "/admin/whatsapp/version/events"
NEXT_REVISION = 1026131999
Event = dict[str, str]


@pytest.fixture
def web(launch: Launcher, start_web: Callable[..., Process]) -> Process:
    launch("worker")
    # Pings often enough that "nothing but pings" is seen quickly.
    return start_web(EVENT_PING_INTERVAL="200ms", MAX_EVENT_STREAMS="2")


async def refresh(web: Process) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        answer = await client.post(REFRESH, params={"force": "true"}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    data: dict[str, object] = answer.json()["data"]
    return data


class EventReader:
    """An open stream, read one event (or comment) at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, within: float = 10) -> Event:
        """The next event's fields, or {"comment": …} for a comment line."""
        fields: Event = {}
        async with asyncio.timeout(within):
            async for line in self._lines:
                if line.startswith(":"):
                    return {"comment": line[1:].strip()}
                if line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif fields:
                    return fields
        raise EOFError("the stream ended")

    async def read_to_end(self) -> None:
        """Read (pings, say) until the stream ends: EOFError at a clean end of the body."""
        while True:
            await self.next(within=20)

    async def next_event(self) -> Event:
        """The next event, pings skipped."""
        while "comment" in (event := await self.next()):
            pass
        return event


@asynccontextmanager
async def stream(web: Process, **headers: str) -> AsyncIterator[EventReader]:
    async with (
        httpx.AsyncClient(base_url=web.base_url, timeout=10) as client,
        client.stream("GET", EVENTS, headers={**AUTH, **_encoded(headers)}) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response)


def _encoded(headers: dict[str, str]) -> dict[bytes, bytes]:
    return {name.encode(): value.encode() for name, value in headers.items()}


def expected_id(state: dict[str, object]) -> str:
    return f"{state['epoch']}-{state['seq']}"


async def test_the_stream_starts_with_the_current_version(web: Process) -> None:
    state = await refresh(web)
    async with stream(web) as events:
        first = await events.next_event()
    assert first["event"] == "version"
    assert first["id"] == expected_id(state)
    version = state["wa_web_version"]
    assert isinstance(version, dict)
    assert json.loads(first["data"])["string"] == version["string"]


async def test_a_stream_opened_before_any_version_gets_the_first(web: Process) -> None:
    async with stream(web) as events:
        assert "comment" in await events.next()  # nothing stored yet: pings only
        state = await refresh(web)
        assert (await events.next_event())["id"] == expected_id(state)


async def test_a_change_missed_while_redis_was_away_arrives_after_it(
    launch: Launcher,
    start_web: Callable[..., Process],
    redis_server: RedisServer,
    upstream: StubUpstream,
) -> None:
    """The web's subscription is cut (its Redis connections go through a proxy); the
    version changes meanwhile (through another web process): the announcement is lost
    to it, and the re-read after it resubscribes delivers the change to its streams."""
    launch("worker")
    proxy = await TcpProxy(redis_server.port).start()
    try:
        cut_off = start_web(REDIS_URL=proxy.url, EVENT_PING_INTERVAL="200ms")
        other = start_web()
        before = await refresh(other)
        async with stream(cut_off) as events:
            assert (await events.next_event())["id"] == expected_id(before)
            await proxy.cut()
            upstream.configure(revision=NEXT_REVISION)
            after = await refresh(other)
            assert "comment" in await events.next()  # the stream outlives Redis's absence
            proxy.restore()
            assert (await events.next_event())["id"] == expected_id(after)
    finally:
        await proxy.stop()


async def test_a_change_is_one_event_with_its_id(web: Process, upstream: StubUpstream) -> None:
    before = await refresh(web)
    async with stream(web) as events:
        assert (await events.next_event())["id"] == expected_id(before)
        upstream.configure(revision=NEXT_REVISION)
        after = await refresh(web)
        change = await events.next_event()
        assert change["id"] == expected_id(after)
        assert json.loads(change["data"])["array"][2] == NEXT_REVISION
        # The same version refreshed again is no change: only pings follow.
        await refresh(web)
        assert "comment" in await events.next()
        assert "comment" in await events.next()


async def test_a_client_holding_the_current_id_gets_no_replay(
    web: Process, upstream: StubUpstream
) -> None:
    state = await refresh(web)
    async with stream(web, **{"Last-Event-ID": expected_id(state)}) as events:
        # Nothing but pings until the version changes.
        assert "comment" in await events.next()
        upstream.configure(revision=NEXT_REVISION)
        after = await refresh(web)
        assert (await events.next_event())["id"] == expected_id(after)


async def test_streams_past_the_bound_get_503(web: Process) -> None:
    await refresh(web)
    async with stream(web) as first, stream(web) as second:
        await first.next_event()
        await second.next_event()
        async with httpx.AsyncClient(base_url=web.base_url, timeout=10) as client:
            third = await client.get(EVENTS, headers=AUTH)
    assert third.status_code == 503
    assert third.json()["code"] == 503
    assert "2 event streams" in third.json()["error"]

    # The two closed: their places are free again.
    async def opens() -> bool:
        try:
            async with stream(web) as again:
                await again.next_event()
        except AssertionError:
            return False
        return True

    await wait_until(opens, within=10)


async def test_streams_share_the_process_subscription(
    web: Process, redis: Redis, keys: ServiceKeys
) -> None:
    await refresh(web)

    async def subscribers() -> int:
        counts = await redis.pubsub_numsub(keys.version_changed)
        return int(counts[0][1])

    before = await subscribers()
    async with stream(web) as first, stream(web) as second:
        await first.next_event()
        await second.next_event()
        assert await subscribers() == before


async def test_metrics_count_the_open_streams(web: Process) -> None:
    async def open_streams() -> str:
        async with httpx.AsyncClient(base_url=web.base_url, timeout=10) as client:
            text = (await client.get("/metrics", headers=AUTH)).text
        return next(line for line in text.splitlines() if line.startswith("wa_web_event_streams "))

    await refresh(web)
    assert await open_streams() == "wa_web_event_streams 0.0"
    async with stream(web) as events:
        await events.next_event()
        assert await open_streams() == "wa_web_event_streams 1.0"


async def test_a_wrong_secret_is_401(web: Process) -> None:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=10) as client:
        answer = await client.get(EVENTS, headers={"X-Admin-Secret": "wrong"})
    assert answer.status_code == 401
    assert answer.json()["code"] == 401


async def test_the_stream_ends_cleanly_when_the_web_stops(web: Process) -> None:
    await refresh(web)
    async with stream(web) as events:
        await events.next_event()
        web.signal()
        with pytest.raises(EOFError):
            await events.read_to_end()
    # uvicorn re-raises the signal once drained, so the exit status says "SIGTERM".
    assert await asyncio.to_thread(web.wait, 20) == -signal.SIGTERM
    assert "Traceback" not in web.output
    assert "Application shutdown complete" in web.output
