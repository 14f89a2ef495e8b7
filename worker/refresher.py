"""What answering refresh jobs means: whether to fetch, the fetch, and recording it.

The consumer decides which jobs one fetch answers (worker/consumer.py); this module
makes the fetch and writes its outcome, with the answers, in one atomic step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared import transitions
from shared.errors import FetchError
from shared.job_results import JobResult
from shared.metrics import fetch_writes, jobs_writes, older_upstream_writes
from shared.store import Command, StateStore
from shared.transitions import Applied, Transition
from wa_version_client.contract import RefreshJob, utc_now
from worker.fetch import Fetched, VersionFetcher

# The commands that go with an answer (storing and publishing it, acknowledging the jobs),
# written in the same atomic step as the state the answer reports.
AnswerWrites = Callable[[JobResult], Sequence[Command]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one upstream fetch gave: a version, or the error saying why there is none."""

    fetched: Fetched | None
    error: str
    seconds: float
    at: datetime

    def decide(self) -> Transition:
        """The state change this outcome makes, whatever the state it meets."""
        if self.fetched is not None:
            version, source = self.fetched.version, self.fetched.source
            return lambda state: transitions.fetched(state, version, self.at, source=source)
        return lambda state: transitions.failed(state, self.error, self.at)


@dataclass(slots=True)
class Refresher:
    """Fetches, records and publishes; says when no fetch is needed."""

    store: StateStore
    fetcher: VersionFetcher
    min_interval: float

    async def not_needed(self, jobs: Sequence[RefreshJob]) -> JobResult | None:
        """The answer without a fetch, or None when the jobs need one.

        No fetch is needed when no job is forced and the last attempt is within the min
        interval (another API process may have enqueued before seeing it).
        """
        if any(job.force for job in jobs):
            return None
        state = await self.store.read()
        if state.refreshed_within(self.min_interval, utc_now()):
            return JobResult(refreshed=False, error="", state=state)
        return None

    async def answer_not_needed(self, result: JobResult, jobs: int, then: AnswerWrites) -> None:
        """Write the answer of jobs that needed no fetch, and count them."""
        await self.store.send([*jobs_writes(self.store.keys, "not_needed", jobs), *then(result)])

    async def fetch(self) -> Outcome:
        """Ask upstream once (retries included); a failure is an outcome too."""
        started = time.monotonic()
        try:
            fetched = await self.fetcher.fetch()
        except FetchError as exc:
            return Outcome(None, str(exc), time.monotonic() - started, utc_now())
        return Outcome(fetched, "", time.monotonic() - started, utc_now())

    async def record(self, outcome: Outcome, jobs: int, then: AnswerWrites | None) -> JobResult:
        """Write what `outcome` does to the state, the answer to `jobs` jobs with `then`."""
        keys = self.store.keys
        counted = [
            *fetch_writes(keys, ok=outcome.fetched is not None, seconds=outcome.seconds),
            *jobs_writes(keys, "fetched", min(jobs, 1)),
            *jobs_writes(keys, "coalesced", max(jobs - 1, 0)),
        ]

        def follow_up(applied: Applied) -> Sequence[Command]:
            older = older_upstream_writes(keys) if applied.older_upstream else []
            return [*counted, *older, *(then(_result(applied)) if then else ())]

        return _result(await self.store.commit(outcome.decide(), follow_up))

    async def refresh(self, then: AnswerWrites | None = None, jobs: int = 0) -> JobResult:
        """Fetch once and record the outcome, for `jobs` jobs."""
        return await self.record(await self.fetch(), jobs, then)


def _result(applied: Applied) -> JobResult:
    return JobResult(refreshed=True, error=applied.error, state=applied.state)
