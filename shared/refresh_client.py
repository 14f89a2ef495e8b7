"""Asking for a refresh: the client side of the job stream.

Used by the API and by anything else that wants a refresh and its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.errors import ResultTimeout
from shared.held_state import HeldState
from shared.job_results import JobResult
from shared.keys import ServiceKeys
from shared.logs import request_id
from shared.results import ResultWaiter
from shared.settings import Settings
from wa_version_client.contract import RefreshJob, VersionState, epoch_ms, utc_now
from wa_version_client.deployment import RedisClient, enqueue
from wa_version_client.runtime import cancel_and_wait


@dataclass(frozen=True, slots=True)
class RefreshClient:
    """Reads the state, and enqueues refresh jobs and awaits their answers."""

    redis: RedisClient
    keys: ServiceKeys
    settings: Settings
    waiter: ResultWaiter
    held: HeldState

    async def current(self) -> VersionState:
        """The stored state, as the worker last wrote it: the copy held while it is
        known to be current (shared/held_state.py), else read now."""
        return await self.held.current()

    async def refresh(self, *, force: bool) -> JobResult:
        """Refresh unless `force` is false and the last attempt is recent; return the outcome.

        Raises `ResultTimeout` when no worker answers within `settings.refresh_wait`.
        """
        if not force:
            state = await self.current()
            if state.refreshed_within(self.settings.refresh_min_interval, utc_now()):
                return JobResult(refreshed=False, error="", state=state)
        return await self.enqueue_and_wait(force=force)

    async def enqueue_and_wait(self, *, force: bool) -> JobResult:
        """Put a job on the stream and await its answer, all within `refresh_wait`.

        A Redis that hangs (a frozen primary before a failover) costs the caller the wait,
        not the wait plus the socket timeouts: enqueuing counts against it.
        """
        job = self._new_job(force=force)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settings.refresh_wait
        with self.waiter.expect(job.job_id) as answer:
            try:
                async with asyncio.timeout_at(give_up):
                    await enqueue(
                        self.redis, self.keys, job, maxlen=self.settings.job_stream_maxlen
                    )
            except TimeoutError:
                raise RedisTimeoutError("Redis did not take the refresh job in time") from None
            left = max(0.0, give_up - loop.time())
            try:
                return await self.waiter.wait(job.job_id, answer, left)
            except ResultTimeout:  # said with the wait the caller configured, not what was left
                wait = self.settings.refresh_wait
                raise ResultTimeout(f"no worker answered the refresh within {wait:g}s") from None

    async def request(self, *, force: bool) -> str:
        """Put a job on the stream without waiting for its answer; the job's id."""
        job = self._new_job(force=force)
        await enqueue(self.redis, self.keys, job, maxlen=self.settings.job_stream_maxlen)
        return job.job_id

    def _new_job(self, *, force: bool) -> RefreshJob:
        deadline_ms = epoch_ms() + int(self.settings.refresh_wait * 1000)
        return RefreshJob.new(force=force, deadline_ms=deadline_ms, request_id=request_id.get())


@contextlib.asynccontextmanager
async def refresh_client(
    redis: RedisClient, keys: ServiceKeys, settings: Settings
) -> AsyncIterator[RefreshClient]:
    """A RefreshClient whose result subscription runs for the block's duration.

    Redis may be down on entry: the subscription keeps retrying meanwhile. `redis` is a
    client of `settings.deployment`, whose connections follow the primary (on Sentinel,
    the one the sentinels name).
    """
    deployment = settings.deployment
    held = HeldState(redis, keys)  # hears of writes on the waiter's subscription
    waiter = ResultWaiter(deployment, redis, keys, also=held)
    listening = asyncio.create_task(waiter.run(), name="result-waiter")
    following = asyncio.create_task(deployment.follow_primary(redis), name="follow-primary")
    try:
        yield RefreshClient(redis, keys, settings, waiter, held)
    finally:
        await cancel_and_wait(listening, following)
        await waiter.aclose()
