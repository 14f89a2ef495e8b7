"""What answering a batch of refresh jobs means: at most one fetch for all of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.clock import Clock, utc_now
from shared.errors import FetchError
from shared.messages import JobResult, RefreshJob
from worker.apply import Applied, apply_failure, apply_fetched
from worker.fetch import VersionFetcher
from worker.store import Command, Decide, StateStore

# The commands that go with an answer (storing and publishing it, acknowledging the jobs),
# written in the same atomic step as the state the answer reports.
AnswerWrites = Callable[[JobResult], Sequence[Command]]


@dataclass(frozen=True, slots=True)
class Refresher:
    """Fetches, records and publishes; answers batches of jobs."""

    store: StateStore
    fetcher: VersionFetcher
    min_interval: float
    clock: Clock = utc_now

    async def refresh(self, then: AnswerWrites | None = None) -> JobResult:
        """Fetch once and record the outcome, success or failure."""
        decide: Decide
        try:
            fetched = await self.fetcher.fetch()
        except FetchError as exc:
            error, now = str(exc), self.clock()
            decide = lambda state: apply_failure(state, error, now)  # noqa: E731 (a closure, named for the type)
        else:
            now = self.clock()
            decide = lambda state: apply_fetched(state, fetched, now)  # noqa: E731 (a closure, named for the type)

        def follow_up(applied: Applied) -> Sequence[Command]:
            return then(_result(applied)) if then else ()

        return _result(await self.store.commit(decide, follow_up))

    async def answer(self, jobs: Sequence[RefreshJob], then: AnswerWrites) -> JobResult:
        """One result for every job in the batch, written with `then(result)`.

        The batch holds every job enqueued before this call, so one fetch answers them
        all. Only when none is forced and the last attempt is within the min interval
        (another API process may have enqueued before seeing it) is there no fetch.
        """
        if not any(job.force for job in jobs):
            state = await self.store.read()
            if state.refreshed_within(self.min_interval, self.clock()):
                result = JobResult(refreshed=False, error="", state=state)
                await self.store.run(then(result))
                return result
        return await self.refresh(then)


def _result(applied: Applied) -> JobResult:
    return JobResult(refreshed=True, error=applied.error, state=applied.state)
