"""What answering a batch of refresh jobs means: at most one fetch for all of them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.clock import Clock, utc_now
from shared.errors import FetchError
from shared.messages import JobResult, RefreshJob
from shared.metrics import fetch_writes, jobs_writes
from shared.store import Applied, Command, Decide, StateStore
from worker.apply import apply_failure, apply_fetched
from worker.fetch import VersionFetcher

# The commands that go with an answer (storing and publishing it, acknowledging the jobs),
# written in the same atomic step as the state the answer reports.
AnswerWrites = Callable[[JobResult], Sequence[Command]]


@dataclass(slots=True)
class Refresher:
    """Fetches, records and publishes; answers batches of jobs."""

    store: StateStore
    fetcher: VersionFetcher
    min_interval: float
    coalesce_window: float = 0.0
    clock: Clock = utc_now
    # The last fetch's answer, and when the newest job it answered was enqueued (ms).
    _last: tuple[int, JobResult] | None = field(default=None, init=False)

    async def refresh(self, then: AnswerWrites | None = None, jobs: int = 0) -> JobResult:
        """Fetch once and record the outcome, success or failure, for `jobs` jobs."""
        decide: Decide
        started = time.monotonic()
        try:
            fetched = await self.fetcher.fetch()
        except FetchError as exc:
            ok, error, now = False, str(exc), self.clock()
            decide = lambda state: apply_failure(state, error, now)  # noqa: E731 (a closure, named for the type)
        else:
            ok, now = True, self.clock()
            decide = lambda state: apply_fetched(state, fetched, now)  # noqa: E731 (a closure, named for the type)
        keys = self.store.keys
        counted = fetch_writes(keys, ok=ok, seconds=time.monotonic() - started)
        counted += jobs_writes(keys, "fetched", min(jobs, 1)) + jobs_writes(
            keys, "coalesced", max(jobs - 1, 0)
        )

        def follow_up(applied: Applied) -> Sequence[Command]:
            return [*counted, *(then(_result(applied)) if then else ())]

        return _result(await self.store.commit(decide, follow_up))

    async def answer(
        self, jobs: Sequence[RefreshJob], then: AnswerWrites, *, newest_ms: int
    ) -> JobResult:
        """One result for every job in the batch, written with `then(result)`.

        The batch holds every job enqueued before this call, so one fetch answers them
        all; `newest_ms` is when the newest was enqueued. There is no fetch when none is
        forced and the last attempt is within the min interval (another API process may
        have enqueued before seeing it), or when every job came within the coalescing
        window after the last fetch's jobs and nothing was written since.
        """
        keys = self.store.keys
        if not any(job.force for job in jobs):
            state = await self.store.read()
            if state.refreshed_within(self.min_interval, self.clock()):
                result = JobResult(refreshed=False, error="", state=state)
                await self.store.run([*jobs_writes(keys, "not_needed", len(jobs)), *then(result)])
                return result
        if self._last is not None:
            last_ms, last = self._last
            within = newest_ms <= last_ms + self.coalesce_window * 1000
            if within and (await self.store.read()).rev == last.state.rev:
                await self.store.run([*jobs_writes(keys, "coalesced", len(jobs)), *then(last)])
                return last
        result = await self.refresh(then, jobs=len(jobs))
        self._last = (newest_ms, result)
        return result


def _result(applied: Applied) -> JobResult:
    return JobResult(refreshed=True, error=applied.error, state=applied.state)
