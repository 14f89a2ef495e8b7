"""Concurrent refreshes share upstream fetches, across API processes and workers."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis

from devtools.stub_upstream import StubUpstream
from shared.keys import Keys
from shared.settings import Settings
from tests.api.test_contract import AUTH, REFRESH
from tests.conftest import SettingsFactory
from tests.support import publish_version, running_api, running_worker, wait_until


async def _queued(redis: Redis, keys: Keys, count: int) -> bool:
    return await redis.xlen(keys.refresh_jobs) >= count


async def _burst(
    clients: list[httpx.AsyncClient], count: int, upstream: StubUpstream, redis: Redis, keys: Keys
) -> list[httpx.Response]:
    """Send `count` forced refreshes while the first fetch is held, then let it go.

    Holding the first fetch until every job is on the stream makes the ordering certain:
    the jobs enqueued after that fetch started can only be answered by one more fetch.
    """
    upstream.hold()
    calls = [
        asyncio.create_task(clients[i % len(clients)].post(REFRESH, headers=AUTH))
        for i in range(count)
    ]
    await wait_until(lambda: upstream.fetches == 1)
    await wait_until(lambda: _queued(redis, keys, count))
    upstream.release()
    return list(await asyncio.gather(*calls))


async def test_100_concurrent_refreshes_make_at_most_2_fetches(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: Keys
) -> None:
    """100 forced refreshes: all answered 200 and refreshed, with at most 2 upstream fetches."""
    async with running_worker(settings), running_api(settings) as api:
        responses = await _burst([api], 100, upstream, redis, keys)
    assert [r.status_code for r in responses] == [200] * 100
    assert all(r.json()["data"]["refreshed"] for r in responses)
    assert upstream.fetches <= 2


async def test_coalescing_holds_across_api_processes_and_workers(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: Keys
) -> None:
    """Two APIs and two workers on one Redis: still at most 2 fetches for 100 calls."""
    async with (
        running_worker(settings),
        running_worker(settings),
        running_api(settings) as first,
        running_api(settings) as second,
    ):
        responses = await _burst([first, second], 100, upstream, redis, keys)
    assert [r.status_code for r in responses] == [200] * 100
    assert upstream.fetches <= 2


async def test_every_caller_sees_the_version_fetched_after_its_call(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: Keys
) -> None:
    """A job enqueued while a fetch is under way gets a later fetch, not the stale answer."""
    async with running_worker(settings), running_api(settings) as api:
        upstream.hold()
        early = asyncio.create_task(api.post(REFRESH, headers=AUTH))
        await wait_until(lambda: upstream.fetches == 1)
        upstream.configure(revision=1026131999)  # the upstream moves on mid-fetch
        late = asyncio.create_task(api.post(REFRESH, headers=AUTH))
        await wait_until(lambda: _queued(redis, keys, 2))
        upstream.release()
        late_answer = (await late).json()["data"]
        await early
    assert late_answer["wa_web_version"]["string"] == "2.3000.1026131999"
    assert upstream.fetches == 2


async def test_forced_calls_within_the_window_share_the_last_fetch(
    make_settings: SettingsFactory, upstream: StubUpstream
) -> None:
    """With REFRESH_COALESCE_WINDOW, a forced call soon after a fetch is answered by it."""
    settings = make_settings(refresh_coalesce_window=30.0)
    async with running_worker(settings), running_api(settings) as api:
        first = (await api.post(REFRESH, headers=AUTH)).json()["data"]
        second = (await api.post(REFRESH, headers=AUTH)).json()["data"]
    assert first["refreshed"] is second["refreshed"] is True
    assert second["last_refreshed"] == first["last_refreshed"]
    assert upstream.fetches == 1


async def test_a_burst_of_300_forced_calls_within_the_window_makes_one_fetch(
    make_settings: SettingsFactory, upstream: StubUpstream, redis: Redis, keys: Keys
) -> None:
    settings = make_settings(refresh_coalesce_window=30.0)
    async with running_worker(settings), running_api(settings) as api:
        responses = await asyncio.gather(*(api.post(REFRESH, headers=AUTH) for _ in range(300)))
    assert [r.status_code for r in responses] == [200] * 300
    assert upstream.fetches == 1
    counted = await redis.hgetall(keys.metrics)
    assert (counted["jobs_fetched"], counted["jobs_coalesced"]) == ("1", "299")


async def test_a_write_since_the_last_fetch_means_a_new_fetch(
    make_settings: SettingsFactory, upstream: StubUpstream, redis: Redis, keys: Keys
) -> None:
    """The window reuses a fetch only while the state it reported is still the stored one."""
    settings = make_settings(refresh_coalesce_window=30.0)
    async with running_worker(settings), running_api(settings) as api:
        await api.post(REFRESH, headers=AUTH)
        await publish_version(redis, keys, 1026131990)  # another writer, e.g. a pin
        upstream.configure(revision=1026131999)
        answer = (await api.post(REFRESH, headers=AUTH)).json()["data"]
    assert upstream.fetches == 2
    assert answer["wa_web_version"]["string"] == "2.3000.1026131999"
