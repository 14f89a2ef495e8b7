"""A stream flooded with jobs, against the real worker process: every job answered once
and acknowledged, however many are queued; a hostile job is set aside, not logged whole."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from devtools.stub_upstream import StubUpstream
from shared.job_results import BatchResult, JobResult
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.support import wait_until
from wa_version_client.contract import RefreshJob, epoch_ms

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

FLOOD = 20_000


async def enqueue(redis: Redis, keys: ServiceKeys, jobs: list[dict[str, str]]) -> None:
    """XADD each job straight into the stream, as many writers at once would."""
    pipe = redis.pipeline(transaction=False)
    for fields in jobs:
        pipe.xadd(keys.refresh_jobs, fields)  # type: ignore[arg-type]  # str fields
    await pipe.execute()


async def nothing_pending(redis: Redis, keys: ServiceKeys) -> bool:
    try:
        pending = await redis.xpending(keys.refresh_jobs, keys.workers_group)
    except ResponseError:  # no group yet: the worker has not started reading
        return False
    return int(pending["pending"]) == 0


async def all_read(redis: Redis, keys: ServiceKeys) -> bool:
    """Whether the group has read every entry of the stream (so none is left to answer)."""
    try:
        groups = await redis.xinfo_groups(keys.refresh_jobs)
    except ResponseError:
        return False
    last = (await redis.xinfo_stream(keys.refresh_jobs))["last-generated-id"]
    return bool(groups) and groups[0]["last-delivered-id"] == last


async def answered(redis: Redis, keys: ServiceKeys, job_id: str) -> bool:
    """Whether `job_id` has its answer stored, refreshed."""
    stored = await redis.get(keys.refresh_result(job_id))
    return stored is not None and JobResult.decode(stored).refreshed


@contextlib.asynccontextmanager
async def answers_heard(redis: Redis, keys: ServiceKeys) -> AsyncIterator[Counter[str]]:
    """How many times each job id is answered on the results channel while the block runs."""
    heard: Counter[str] = Counter()
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.refresh_results)

        async def listen() -> None:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    heard.update(BatchResult.decode(message["data"]).job_ids)

        listening = asyncio.create_task(listen())
        try:
            yield heard
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening


async def test_twenty_thousand_queued_jobs_are_each_answered_once_and_acknowledged(
    launch: Launcher, redis: Redis, keys: ServiceKeys, upstream: StubUpstream
) -> None:
    """20,000 forced jobs XADDed before the worker starts (more than a batch, and more
    than Lua unpacks at once): each is answered exactly once, its answer stored; nothing
    is left pending or dead-lettered; and one fetch answers them all, since every one of
    them was queued before it began."""
    deadline = epoch_ms() + 120_000
    jobs = [RefreshJob.new(force=True, deadline_ms=deadline) for _ in range(FLOOD)]
    await enqueue(redis, keys, [job.to_fields() for job in jobs])
    async with answers_heard(redis, keys) as heard:
        worker = launch("worker")
        await wait_until(lambda: all_read(redis, keys), within=60)
        await wait_until(lambda: nothing_pending(redis, keys), within=60)
        await wait_until(lambda: sum(heard.values()) >= FLOOD, within=10)
    assert heard == Counter({job.job_id: 1 for job in jobs})
    stored = await redis.exists(*(keys.refresh_result(job.job_id) for job in jobs))
    assert stored == FLOOD
    assert await redis.xlen(keys.dead_letter) == 0
    assert "too many results to unpack" not in worker.output
    assert upstream.fetches == 1


async def test_a_job_with_huge_ids_is_set_aside_as_malformed_and_not_logged_whole(
    launch: Launcher, redis: Redis, keys: ServiceKeys
) -> None:
    """A job whose job_id is 20 MB and request_id 1 MB breaks the contract's bound on
    ids: acknowledged as malformed and said once; the worker's longest line stays a few
    KB; the job queued after it is answered."""
    deadline = epoch_ms() + 120_000
    hostile = {"job_id": "j" * 20_000_000, "force": "1", "deadline_ms": str(deadline)}
    await enqueue(redis, keys, [{**hostile, "request_id": "r" * 1_000_000}])
    worker = launch("worker")
    await wait_until(lambda: all_read(redis, keys), within=30)
    await wait_until(lambda: nothing_pending(redis, keys), within=30)
    after = RefreshJob.new(force=True, deadline_ms=deadline, request_id="after-the-hostile-one")
    await enqueue(redis, keys, [after.to_fields()])
    await wait_until(lambda: answered(redis, keys, after.job_id), within=30)
    await wait_until(lambda: nothing_pending(redis, keys), within=30)
    await wait_until(lambda: "after-the-hostile-one" in worker.output, within=10)
    worker.stop()
    lines = worker.output.splitlines()
    assert max(len(line) for line in lines) < 4096
    assert len([line for line in lines if "does not decode" in line]) == 1
    assert await redis.xlen(keys.dead_letter) == 0


async def test_a_job_queued_after_the_fetch_ended_never_gets_its_result(
    launch: Launcher, redis: Redis, keys: ServiceKeys, upstream: StubUpstream
) -> None:
    """While a fetch's result answers a backlog queued before it began, a forced job
    enqueued after that fetch ended gets a fetch of its own: what upstream serves then."""
    deadline = epoch_ms() + 120_000
    backlog = [RefreshJob.new(force=True, deadline_ms=deadline) for _ in range(FLOOD)]
    await enqueue(redis, keys, [job.to_fields() for job in backlog])
    upstream.hold()
    launch("worker")
    await wait_until(lambda: upstream.fetches == 1, within=30)
    upstream.release()
    await wait_until(lambda: answered(redis, keys, backlog[0].job_id), within=30)
    upstream.configure(revision=1026131999)  # what any later fetch finds
    late = RefreshJob.new(force=True, deadline_ms=deadline)
    await enqueue(redis, keys, [late.to_fields()])
    await wait_until(lambda: answered(redis, keys, late.job_id), within=30)
    late_answer = JobResult.decode(await redis.get(keys.refresh_result(late.job_id)) or "")
    first_answer = JobResult.decode(await redis.get(keys.refresh_result(backlog[-1].job_id)) or "")
    assert str(late_answer.state.version) == "2.3000.1026131999"
    assert str(first_answer.state.version) == "2.3000.1026131876"
    assert upstream.fetches == 2
