"""The job stream on a real Redis: one reader at a time, takeover, claims, stale and bad jobs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from devtools.stub_upstream import StubUpstream
from shared.errors import NotReplicated
from shared.job_results import JobResult
from shared.keys import ServiceKeys
from shared.plan import MAX_DEAD_LETTER_FIELDS, NO_REPLY
from shared.refresh_client import RefreshClient
from shared.refresh_client import refresh_client as running_refresh_client
from shared.settings import Settings
from shared.store import StateStore
from tests.conftest import SettingsFactory
from tests.support import blocked_in_xreadgroup, wait_until
from wa_version_client.contract import RefreshJob, VersionState, WAVersion, epoch_ms
from wa_version_client.deployment import enqueue
from worker.consumer import JobConsumer
from worker.fetch import VersionFetcher
from worker.refresher import Refresher

pytestmark = pytest.mark.server_sensitive


@contextlib.asynccontextmanager
async def consumer(
    redis: Redis, keys: ServiceKeys, settings: Settings, name: str
) -> AsyncIterator[JobConsumer]:
    """A JobConsumer running until the block ends."""
    async with httpx.AsyncClient() as http:
        refresher = Refresher(StateStore(redis, keys), VersionFetcher(settings, http), 600)
        worker = JobConsumer(redis, keys, settings, refresher, name=name)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            yield worker
        finally:
            stop.set()
            await task


async def answer_waiting(redis: Redis, keys: ServiceKeys, settings: Settings, name: str) -> None:
    """Run a JobConsumer in burst mode: until every job in the stream, pending or new, is
    answered."""
    async with httpx.AsyncClient() as http:
        refresher = Refresher(StateStore(redis, keys), VersionFetcher(settings, http), 600)
        worker = JobConsumer(redis, keys, settings, refresher, name=name, burst=True)
        await worker.run(asyncio.Event())


@contextlib.asynccontextmanager
async def refresh_client(
    redis: Redis, keys: ServiceKeys, settings: Settings
) -> AsyncIterator[RefreshClient]:
    """A RefreshClient whose result subscription is confirmed before the block runs."""
    async with running_refresh_client(redis, keys, settings) as client:
        await wait_until(lambda: client.waiter.subscription.subscriptions > 0)
        yield client


async def test_only_one_worker_reads_at_a_time(
    redis: Redis, keys: ServiceKeys, settings: Settings
) -> None:
    """Of two running workers exactly one holds the lease."""
    async with consumer(redis, keys, settings, "a") as a, consumer(redis, keys, settings, "b") as b:
        await wait_until(lambda: a.leading or b.leading)
        assert a.leading != b.leading
        assert await redis.get(keys.worker_lease) in {"a", "b"}


async def test_standby_takes_over_when_the_reader_stops(
    redis: Redis, keys: ServiceKeys, settings: Settings
) -> None:
    """A stopping reader lets go of the lease, and the standby starts reading."""
    async with contextlib.AsyncExitStack() as standby_stack:
        async with consumer(redis, keys, settings, "a") as a:
            await wait_until(lambda: a.leading)
            b = await standby_stack.enter_async_context(consumer(redis, keys, settings, "b"))
            await wait_until(lambda: _heard_from(redis, keys, "b"))
            assert not b.leading
        await wait_until(lambda: b.leading)


async def test_jobs_of_a_dead_reader_are_claimed_and_answered(
    redis: Redis, keys: ServiceKeys, settings: Settings, upstream: StubUpstream
) -> None:
    """A job delivered to a reader that died unacknowledged is answered by the next reader."""
    await redis.xgroup_create(keys.refresh_jobs, keys.workers_group, id="0", mkstream=True)
    async with refresh_client(redis, keys, settings) as client:
        job = RefreshJob.new(force=True, deadline_ms=epoch_ms() + 10_000)
        with client.waiter.expect(job.job_id) as answer:
            await enqueue(redis, keys, job, maxlen=100)
            # "dead" takes the job and holds the lease, then vanishes without acking.
            await redis.xreadgroup(keys.workers_group, "dead", {keys.refresh_jobs: ">"})
            await redis.set(keys.worker_lease, "dead", px=300)
            await answer_waiting(redis, keys, settings, "heir")
            result = await client.waiter.wait(job.job_id, answer, 10)
    assert result.refreshed is True
    assert result.error == ""
    pending = await redis.xpending(keys.refresh_jobs, keys.workers_group)
    assert pending["pending"] == 0
    consumers = await redis.xinfo_consumers(keys.refresh_jobs, keys.workers_group)
    assert [c["name"] for c in consumers] == ["heir"]  # the dead reader is forgotten


async def test_jobs_past_their_deadline_are_dropped_without_a_fetch(
    redis: Redis, keys: ServiceKeys, settings: Settings, upstream: StubUpstream
) -> None:
    """Nobody waits for an expired job: it is acknowledged, and the upstream is not asked."""
    await redis.xgroup_create(keys.refresh_jobs, keys.workers_group, id="0", mkstream=True)
    await enqueue(redis, keys, RefreshJob.new(force=True, deadline_ms=epoch_ms() - 1), maxlen=100)
    await answer_waiting(redis, keys, settings, "w")
    assert await _nothing_pending(redis, keys)
    assert upstream.fetches == 0


async def test_a_job_that_does_not_decode_is_acknowledged(
    redis: Redis, keys: ServiceKeys, settings: Settings, upstream: StubUpstream
) -> None:
    """Garbage on the stream is logged and acknowledged; the jobs around it are answered."""
    jobs = [RefreshJob.new(force=True, deadline_ms=epoch_ms() + 10_000) for _ in range(2)]
    await enqueue(redis, keys, jobs[0], maxlen=100)
    await redis.xadd(keys.refresh_jobs, {"junk": "1"})
    await enqueue(redis, keys, jobs[1], maxlen=100)
    await answer_waiting(redis, keys, settings, "w")
    assert await _nothing_pending(redis, keys)
    for job in jobs:
        assert JobResult.decode(await redis.get(keys.refresh_result(job.job_id)) or "").refreshed


async def test_a_lost_stream_and_group_are_recreated(
    redis: Redis, keys: ServiceKeys, settings: Settings, upstream: StubUpstream
) -> None:
    """The stream deleted while the worker blocks on it (FLUSHALL, a failover to an empty
    replica, a DEL by hand): Redis 7+ and Valkey answer UNBLOCKED, 6.2 NOGROUP on the next
    read; either way the stream and group are made again and work goes on."""
    async with (
        refresh_client(redis, keys, settings) as client,
        consumer(redis, keys, settings, "w"),
    ):
        assert (await client.refresh(force=True)).refreshed
        await wait_until(lambda: blocked_in_xreadgroup(redis))
        await redis.delete(keys.refresh_jobs)
        result = await client.refresh(force=True)
    assert result.refreshed is True
    assert upstream.fetches == 2


async def test_answers_are_stored_for_callers_that_missed_the_message(
    redis: Redis, keys: ServiceKeys, settings: Settings
) -> None:
    """Each job's answer is kept under its own key for result_ttl, besides the broadcast."""
    job = RefreshJob.new(force=True, deadline_ms=epoch_ms() + 10_000)
    await enqueue(redis, keys, job, maxlen=100)
    await answer_waiting(redis, keys, settings, "w")
    stored = JobResult.decode(await redis.get(keys.refresh_result(job.job_id)) or "")
    ttl = await redis.pttl(keys.refresh_result(job.job_id))
    assert stored.refreshed is True
    assert 0 < ttl <= settings.result_ttl * 1000


async def test_waiter_recovers_a_missed_message_after_resubscribing(
    redis: Redis, keys: ServiceKeys, settings: Settings
) -> None:
    """When the pub/sub connection drops, answers stored meanwhile are read on resubscribe."""
    async with refresh_client(redis, keys, settings) as client:
        waiter = client.waiter
        result = _a_result()
        with waiter.expect("job-1") as answer:
            await redis.set(keys.refresh_result("job-1"), result.encode())  # stored, not published
            before = waiter.subscription.subscriptions
            await redis.client_kill_filter(_type="pubsub")
            await wait_until(lambda: waiter.subscription.subscriptions > before)
            got = await asyncio.wait_for(answer, 5)
    assert got == result


async def test_waiter_reads_the_stored_answer_at_its_deadline(
    redis: Redis, keys: ServiceKeys, settings: Settings
) -> None:
    """A missed message with a stored answer still answers, at the deadline, not a 504."""
    async with refresh_client(redis, keys, settings) as client:
        result = _a_result()
        with client.waiter.expect("job-2") as answer:
            await redis.set(keys.refresh_result("job-2"), result.encode())
            assert await client.waiter.wait("job-2", answer, 0.05) == result


def _logged(caplog: pytest.LogCaptureFixture, *parts: str) -> bool:
    """Whether one log line holds every one of `parts`."""
    return any(all(part in r.getMessage() for part in parts) for r in caplog.records)


async def _heartbeat(redis: Redis, keys: ServiceKeys, name: str) -> float | None:
    """When the worker called `name` last asked for the lease (it notes itself alive)."""
    return await redis.zscore(keys.worker_heartbeats, name)


async def _heard_from(redis: Redis, keys: ServiceKeys, name: str, since: float = 0) -> bool:
    return (await _heartbeat(redis, keys, name) or 0) > since


def _a_result() -> JobResult:
    return JobResult(True, "", VersionState(version=WAVersion(2, 3000, 5), seq=1))


async def _nothing_pending(redis: Redis, keys: ServiceKeys) -> bool:
    pending = await redis.xpending(keys.refresh_jobs, keys.workers_group)
    return int(pending["pending"]) == 0 and await redis.xlen(keys.refresh_jobs) > 0


async def answer_after_two_dead_readers(
    redis: Redis, keys: ServiceKeys, settings: Settings
) -> tuple[RefreshJob, JobResult]:
    """Two readers take a job and die without acknowledging it; a third runs for real."""
    await redis.xgroup_create(keys.refresh_jobs, keys.workers_group, id="0", mkstream=True)
    async with refresh_client(redis, keys, settings) as client:
        job = RefreshJob.new(force=True, deadline_ms=epoch_ms() + 10_000)
        with client.waiter.expect(job.job_id) as answer:
            entry_id = await enqueue(redis, keys, job, maxlen=100)
            await redis.xreadgroup(keys.workers_group, "dead-1", {keys.refresh_jobs: ">"})
            await redis.xclaim(keys.refresh_jobs, keys.workers_group, "dead-2", 0, [entry_id])
            await answer_waiting(redis, keys, settings, "third")
            return job, await client.waiter.wait(job.job_id, answer, 10)


async def test_a_job_delivered_too_often_is_set_aside_and_answered(
    redis: Redis, keys: ServiceKeys, make_settings: SettingsFactory, upstream: StubUpstream
) -> None:
    """A job whose readers kept dying goes to the dead-letter stream after
    job_max_deliveries; its caller gets an error answer instead of waiting in vain."""
    settings = make_settings(job_max_deliveries=2)
    job, result = await answer_after_two_dead_readers(redis, keys, settings)
    assert result.error.endswith("was set aside as a dead letter")
    dead: Any = await redis.xrange(keys.dead_letter)
    assert len(dead) == 1
    assert dead[0][1]["job_id"] == job.job_id
    assert dead[0][1]["deliveries"] == "3"
    assert (await redis.xpending(keys.refresh_jobs, keys.workers_group))["pending"] == 0
    assert upstream.fetches == 0


async def test_a_job_of_thousands_of_fields_is_set_aside_with_the_first_hundred(
    redis: Redis, keys: ServiceKeys, make_settings: SettingsFactory, upstream: StubUpstream
) -> None:
    """A job carrying 5,000 extra fields (more than Lua unpacks at once) that kept killing
    its readers: its dead letter keeps its first MAX_DEAD_LETTER_FIELDS fields, and it is
    answered and acknowledged instead of failing the write for ever."""
    settings = make_settings(job_max_deliveries=1)
    job = RefreshJob.new(force=True, deadline_ms=epoch_ms() + 10_000)
    fields = {**job.to_fields(), **{f"extra-{i}": "x" for i in range(5_000)}}
    await redis.xgroup_create(keys.refresh_jobs, keys.workers_group, id="0", mkstream=True)
    entry_id = await redis.xadd(keys.refresh_jobs, fields)  # type: ignore[arg-type]
    await redis.xreadgroup(keys.workers_group, "dead-1", {keys.refresh_jobs: ">"})
    await redis.xclaim(keys.refresh_jobs, keys.workers_group, "dead-2", 0, [entry_id])
    await answer_waiting(redis, keys, settings, "third")
    dead: Any = await redis.xrange(keys.dead_letter)
    assert len(dead) == 1
    assert len(dead[0][1]) == MAX_DEAD_LETTER_FIELDS + 2  # with job_entry and deliveries
    assert dead[0][1]["job_id"] == job.job_id
    result = JobResult.decode(await redis.get(keys.refresh_result(job.job_id)) or "")
    assert result.error.endswith("was set aside as a dead letter")
    assert await _nothing_pending(redis, keys)


async def test_a_job_within_the_delivery_limit_is_answered_normally(
    redis: Redis, keys: ServiceKeys, make_settings: SettingsFactory, upstream: StubUpstream
) -> None:
    settings = make_settings(job_max_deliveries=3)
    _, result = await answer_after_two_dead_readers(redis, keys, settings)
    assert result.error == ""
    assert result.refreshed is True
    assert await redis.xlen(keys.dead_letter) == 0


async def test_a_lease_key_of_the_wrong_type_is_logged_and_outlived(
    redis: Redis, keys: ServiceKeys, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The lease's name taken by a hash: Redis's WRONGTYPE is logged, the worker keeps
    asking, and takes the lease once the key is gone."""
    await redis.hset(keys.worker_lease, "not", "a lease")
    async with consumer(redis, keys, settings, "w") as worker:
        # 6.2 wraps it ("Error running script … WRONGTYPE …"); 7+ and Valkey say it plainly.
        await wait_until(lambda: _logged(caplog, "the worker lease: ResponseError: ", "WRONGTYPE"))
        # Still asking: the heartbeat, noted before the lease is looked at, moves on.
        last = await _heartbeat(redis, keys, "w") or 0
        await wait_until(lambda: _heard_from(redis, keys, "w", last))
        assert not worker.leading
        await redis.delete(keys.worker_lease)
        await wait_until(lambda: worker.leading)


class StoreThatFailsFirst(StateStore):
    """A StateStore whose first `failures` commits fail as Redis would during a failover."""

    def __init__(self, redis: Redis, keys: ServiceKeys, failures: int) -> None:
        super().__init__(redis, keys)
        self.failures = failures

    async def commit(self, decide: Any, reply: Any = NO_REPLY) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise NotReplicated("0 of 1 replicas acknowledged the write within 10 ms")
        return await super().commit(decide, reply)


async def test_redis_failing_while_a_job_is_in_hand_does_not_make_it_a_dead_letter(
    redis: Redis, keys: ServiceKeys, make_settings: SettingsFactory, upstream: StubUpstream
) -> None:
    """Four writes in a row fail (a failover under way) while a job is in hand: each time
    the job is claimed again, and those deliveries were Redis's fault, so with
    job_max_deliveries 2 the job is still answered, not set aside."""
    settings = make_settings(job_max_deliveries=2)
    store = StoreThatFailsFirst(redis, keys, failures=4)
    job = RefreshJob.new(force=True, deadline_ms=epoch_ms() + 10_000)
    await enqueue(redis, keys, job, maxlen=100)
    async with httpx.AsyncClient() as http:
        refresher = Refresher(store, VersionFetcher(settings, http), 600)
        worker = JobConsumer(redis, keys, settings, refresher, name="w", burst=True)
        await worker.run(asyncio.Event())  # the job loop's backoff after each failure: ~0.75 s
    assert store.failures == 0
    result = JobResult.decode(await redis.get(keys.refresh_result(job.job_id)) or "")
    assert (result.refreshed, result.error) == (True, "")
    assert await redis.xlen(keys.dead_letter) == 0
    assert await _nothing_pending(redis, keys)
