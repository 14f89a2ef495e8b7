"""Concurrent refreshes share upstream fetches, across API processes and workers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from devtools.stub_upstream import StubUpstream
from shared.job_results import BatchResult
from shared.keys import ServiceKeys
from shared.refresh_client import refresh_client
from shared.settings import Settings
from tests.support import (
    AUTH,
    REFRESH,
    app_client,
    next_message,
    publish_version,
    running_worker,
    wait_until,
)
from wa_version_client.contract import RefreshJob, epoch_ms
from worker import gathering
from worker.main import run_worker

pytestmark = pytest.mark.server_sensitive


async def _queued(redis: Redis, keys: ServiceKeys, count: int) -> bool:
    return await redis.xlen(keys.refresh_jobs) >= count


async def _burst(
    clients: list[httpx.AsyncClient],
    count: int,
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
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
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: ServiceKeys
) -> None:
    """100 forced refreshes: all answered 200 and refreshed, with at most 2 upstream fetches."""
    async with running_worker(settings), app_client(settings) as api:
        responses = await _burst([api], 100, upstream, redis, keys)
    assert [r.status_code for r in responses] == [200] * 100
    assert all(r.json()["data"]["refreshed"] for r in responses)
    assert upstream.fetches <= 2


async def test_coalescing_holds_across_api_processes_and_workers(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: ServiceKeys
) -> None:
    """Two APIs and two workers on one Redis: still at most 2 fetches for 100 calls."""
    async with (
        running_worker(settings),
        running_worker(settings),
        app_client(settings) as first,
        app_client(settings) as second,
    ):
        responses = await _burst([first, second], 100, upstream, redis, keys)
    assert [r.status_code for r in responses] == [200] * 100
    assert upstream.fetches <= 2


async def test_a_call_arriving_while_a_fetch_is_under_way_joins_it(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: ServiceKeys
) -> None:
    """A job enqueued while a fetch is in flight is answered by that fetch, which ends
    after the job arrived: one fetch for both, and both see what it found."""
    async with running_worker(settings), app_client(settings) as api:
        upstream.hold()
        early = asyncio.create_task(api.post(REFRESH, headers=AUTH))
        await wait_until(lambda: upstream.fetches == 1)
        upstream.configure(revision=1026131999)  # what the fetch under way will answer
        late = asyncio.create_task(api.post(REFRESH, headers=AUTH))
        await wait_until(lambda: _delivered(redis, keys, 2))
        upstream.release()
        answers = [(await call).json()["data"] for call in (early, late)]
    assert [a["wa_web_version"]["string"] for a in answers] == ["2.3000.1026131876"] * 2
    assert upstream.fetches == 1


async def test_a_forced_call_never_gets_a_fetch_that_had_already_ended(
    settings: Settings, upstream: StubUpstream
) -> None:
    """A forced refresh right after another one finished makes a fetch of its own: the
    caller sees what upstream serves now, not the answer of a moment ago."""
    async with running_worker(settings), app_client(settings) as api:
        first = (await api.post(REFRESH, headers=AUTH)).json()["data"]
        upstream.configure(revision=1026131999)
        second = (await api.post(REFRESH, headers=AUTH)).json()["data"]
    assert first["wa_web_version"]["string"] == "2.3000.1026131876"
    assert second["wa_web_version"]["string"] == "2.3000.1026131999"
    assert upstream.fetches == 2


async def test_joined_jobs_are_counted_as_coalesced(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: ServiceKeys
) -> None:
    """100 forced calls delivered to the worker while one fetch is held: one fetch answers
    them all, and the metrics count 1 job fetched and 99 coalesced."""
    async with running_worker(settings), app_client(settings) as api:
        upstream.hold()
        calls = [asyncio.create_task(api.post(REFRESH, headers=AUTH)) for _ in range(100)]
        await wait_until(lambda: upstream.fetches == 1)
        await wait_until(lambda: _delivered(redis, keys, 100))
        upstream.release()
        responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200] * 100
    assert upstream.fetches == 1
    counted = await redis.hgetall(keys.metrics)
    assert (counted["jobs_fetched"], counted["jobs_coalesced"]) == ("1", "99")


async def test_a_write_during_the_fetch_is_kept_by_the_rev_check(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: ServiceKeys
) -> None:
    """Another writer (a pin, another worker) changing the state while a fetch is under
    way is not overwritten: the fetch is applied on top of what is stored then."""
    async with running_worker(settings), app_client(settings) as api:
        upstream.hold()
        call = asyncio.create_task(api.post(REFRESH, headers=AUTH))
        await wait_until(lambda: upstream.fetches == 1)
        await publish_version(redis, keys, 1026131990)  # newer than what the fetch will find
        upstream.release()
        answer = (await call).json()["data"]
    assert answer["wa_web_version"]["string"] == "2.3000.1026131990"
    assert answer["seq"] == 1


async def _delivered(redis: Redis, keys: ServiceKeys, count: int) -> bool:
    """Whether `count` jobs were delivered to a worker (read, not yet acknowledged)."""
    try:
        pending = await redis.xpending(keys.refresh_jobs, keys.workers_group)
    except ResponseError:  # no stream or group yet
        return False
    return int(pending["pending"]) >= count


async def test_jobs_that_keep_arriving_are_gathered_before_one_fetch(
    settings: Settings,
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With more than one job in hand the worker reads on until arrivals pause, then
    makes one fetch for all of them; each was enqueued before that fetch began."""
    monkeypatch.setattr(gathering, "BURST_PAUSE_MS", 2000)  # a pause no test step outlasts
    async with refresh_client(redis, keys, settings) as client:
        first = [asyncio.create_task(client.enqueue_and_wait(force=True)) for _ in range(2)]
        await wait_until(lambda: _queued(redis, keys, 2))
        async with running_worker(settings):
            await wait_until(lambda: _delivered(redis, keys, 2))
            assert upstream.fetches == 0  # gathering, not fetching yet
            late = await client.enqueue_and_wait(force=True)
            results = [*(await asyncio.gather(*first)), late]
    assert upstream.fetches == 1
    assert all(r.refreshed and r.error == "" for r in results)
    assert len({r.state.last_refreshed for r in results}) == 1


async def test_a_batch_past_luas_unpack_limit_is_answered_and_acknowledged_in_one_go(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: ServiceKeys
) -> None:
    """8,500 jobs queued, more than Redis's Lua unpacks at once (about 8,000): one fetch
    answers them all in one message, each answer stored, every entry acknowledged."""
    jobs = [RefreshJob.new(force=True, deadline_ms=epoch_ms() + 60_000) for _ in range(8_500)]
    pipe = redis.pipeline(transaction=False)
    for job in jobs:
        pipe.xadd(keys.refresh_jobs, job.to_fields())  # type: ignore[arg-type]  # str fields
    await pipe.execute()
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.refresh_results)
        await run_worker(settings, asyncio.Event(), burst=True)
        batch = BatchResult.decode(await next_message(pubsub))
    assert sorted(batch.job_ids) == sorted(job.job_id for job in jobs)
    assert (batch.result.refreshed, batch.result.error) == (True, "")
    assert upstream.fetches == 1
    assert await redis.exists(*(keys.refresh_result(job.job_id) for job in jobs)) == len(jobs)
    assert not await _delivered(redis, keys, 1)  # nothing left pending
    counted = await redis.hgetall(keys.metrics)
    assert (counted["jobs_fetched"], counted["jobs_coalesced"]) == ("1", "8499")
