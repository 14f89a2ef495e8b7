"""What answering refresh jobs means: whether to fetch, the fetch, and recording it.

The consumer decides which jobs one fetch answers (worker/consumer.py); this module
makes the fetch and writes its outcome, with the jobs' reply, through the one write path
(shared/store.py: decide → plan → write).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from shared import transitions
from shared.errors import FetchError
from shared.job_results import JobResult
from shared.metrics import fetch_counts, jobs_counts
from shared.plan import Reply, fetched_answer
from shared.store import StateStore
from shared.transitions import Transition
from wa_version_client.contract import RefreshJob, utc_now
from worker.fetch import Fetched, VersionFetcher


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one upstream fetch gave: a version, or the error saying why there is none."""

    fetched: Fetched | None
    error: str
    seconds: float
    at: datetime

    @property
    def event(self) -> Transition:
        """The state change this outcome makes, ready to meet whatever state is stored."""
        if self.fetched is not None:
            found = self.fetched
            return partial(
                transitions.fetched, version=found.version, now=self.at, source=found.source
            )
        return partial(transitions.failed, error=self.error, now=self.at)

    def counted(self, reply: Reply) -> Reply:
        """`reply` counting this fetch, and its jobs as answered by it: the first as
        fetched, the others as coalesced."""
        jobs = len(reply.job_ids)
        counts = (
            fetch_counts(ok=self.fetched is not None, seconds=self.seconds)
            + jobs_counts("fetched", min(jobs, 1))
            + jobs_counts("coalesced", max(jobs - 1, 0))
        )
        return replace(reply, counts=reply.counts + counts)


@dataclass(slots=True)
class Refresher:
    """Fetches and records; says when no fetch is needed."""

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

    async def fetch(self) -> Outcome:
        """Ask upstream once (retries included); a failure is an outcome too."""
        started = time.monotonic()
        try:
            fetched = await self.fetcher.fetch()
        except FetchError as exc:
            return Outcome(None, str(exc), time.monotonic() - started, utc_now())
        return Outcome(fetched, "", time.monotonic() - started, utc_now())

    async def record(self, outcome: Outcome, reply: Reply) -> JobResult:
        """Write what `outcome` does to the state, with `reply` for the jobs it answers;
        what they are told."""
        return fetched_answer(await self.store.commit(outcome.event, outcome.counted(reply)))
