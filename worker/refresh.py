"""What answering a batch of refresh jobs means: at most one fetch for all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.clock import Clock, utc_now
from shared.errors import FetchError
from shared.keys import Keys
from shared.messages import JobResult, RefreshJob
from shared.state import VersionState
from worker.apply import Applied, record_failure, record_fetched
from worker.fetch import VersionFetcher


@dataclass(frozen=True, slots=True)
class Refresher:
    """Fetches, records and publishes; answers batches of jobs."""

    redis: Redis
    keys: Keys
    fetcher: VersionFetcher
    min_interval: float
    clock: Clock = utc_now

    async def refresh(self) -> Applied:
        """Fetch once and record the outcome, success or failure."""
        try:
            fetched = await self.fetcher.fetch()
        except FetchError as exc:
            return await record_failure(self.redis, self.keys, str(exc), self.clock())
        return await record_fetched(self.redis, self.keys, fetched, self.clock())

    async def answer(self, jobs: Sequence[RefreshJob]) -> JobResult:
        """One result for every job in the batch.

        The batch holds every job enqueued before this call, so one fetch answers them
        all. Only when none is forced and the last attempt is within the min interval
        (another API process may have enqueued before seeing it) is there no fetch.
        """
        if not any(job.force for job in jobs):
            state = VersionState.from_hash(await self.redis.hgetall(self.keys.version))
            if state.refreshed_within(self.min_interval, self.clock()):
                return JobResult(refreshed=False, error="", state=state)
        applied = await self.refresh()
        return JobResult(refreshed=True, error=applied.error, state=applied.state)
