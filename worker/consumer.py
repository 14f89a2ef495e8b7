"""Reading refresh jobs from the stream, answering them, acknowledging them.

Jobs are delivered at least once: a job is acknowledged only after its answer is
stored and published. The worker holding the lease reads; when it takes over (or
recovers from an error) it first claims every pending job, its predecessor's
included, so nothing is left behind by a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.backoff import Backoff
from shared.clock import epoch_ms
from shared.keys import Keys
from shared.messages import JobResult, RefreshJob
from shared.redis import REDIS_DOWN
from shared.settings import Settings
from shared.state import VersionState
from shared.store import Command
from shared.tasks import cancel_and_wait
from worker.dead_letter import set_aside_poison
from worker.lease import Lease
from worker.refresh import Refresher
from worker.stream import Entry, JobStream, decode_jobs, enqueued_ms

log = logging.getLogger(__name__)

UNEXPECTED_FAILURE = "the worker failed to handle the refresh; the failure is in its log"
DEAD_LETTERED = JobResult(
    refreshed=False,
    error="the refresh job was delivered too many times and was set aside as a dead letter",
    state=VersionState(),
)


class JobConsumer:
    """Answers refresh jobs while it holds the lease. Run `run(stop)` until `stop` is set."""

    def __init__(
        self, redis: Redis, keys: Keys, settings: Settings, refresher: Refresher, *, name: str
    ) -> None:
        self._redis = redis
        self._store = refresher.store
        self._keys = keys
        self._settings = settings
        self._refresher = refresher
        self.name = name
        self._lease = Lease(redis, keys.worker_lease, name, settings.worker_lease_ttl, keys.workers)
        self._stream = JobStream(redis, keys, name)
        self._leading = asyncio.Event()
        # Set when every pending job must be claimed before reading new ones.
        self._claim_all = True
        self._next_claim = 0.0
        self._stop = asyncio.Event()
        self.lease_checks = 0  # how many times this worker asked for the lease
        self._in_hand = False  # whether jobs are being answered now

    @property
    def leading(self) -> bool:
        """Whether this worker holds the lease and reads jobs."""
        return self._leading.is_set()

    async def run(self, stop: asyncio.Event) -> None:
        """Answer jobs until `stop` is set.

        A stop while waiting for jobs ends at once (whatever an abandoned read took stays
        pending, and the next reader claims it). A stop while jobs are in hand gives them
        `worker_shutdown_grace` seconds; past that they are handed back: left pending,
        unacknowledged, for the worker that takes the released lease.
        """
        self._stop = stop
        keeper = asyncio.create_task(self._keep_lease(stop), name="lease-keeper")
        work = asyncio.create_task(self._work(), name="job-loop")
        stopper = asyncio.create_task(self._stop_work(work), name="job-loop-stopper")
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await work
        finally:
            await cancel_and_wait(stopper, keeper, work)
            if self.leading:
                with contextlib.suppress(*REDIS_DOWN):
                    await self._lease.release()

    async def _work(self) -> None:
        # Capped at 1 s, so the worker is back at work about a second after Redis is.
        backoff = Backoff(maximum=1.0)
        while not self._stop.is_set():
            await self._leading.wait()
            try:
                await self._step()
                backoff.reset()
            except REDIS_DOWN as exc:
                self._claim_all = True
                delay = backoff.next_delay()
                log.warning("worker lost Redis (%s); retrying in %.2fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)

    async def _stop_work(self, work: asyncio.Task[None]) -> None:
        await self._stop.wait()
        if self._in_hand:
            grace = self._settings.worker_shutdown_grace
            await asyncio.wait([work], timeout=grace)
            if work.done():
                return
            log.warning("stopping: handing back the jobs in hand after %gs", grace)
        work.cancel()

    async def _keep_lease(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                held = await self._lease.hold()
            except REDIS_DOWN:
                held = False
            self.lease_checks += 1
            if held and not self.leading:
                log.info("worker %s now reads refresh jobs", self.name)
                self._claim_all = True
                self._leading.set()
            elif not held and self.leading:
                log.info("worker %s stands by", self.name)
                self._leading.clear()
            # The holder renews at a third of the lease; a standby asks more often, so a
            # released lease (or a Redis back from a restart) is taken within half a second.
            renew = self._settings.worker_lease_ttl / 3
            await _wait(stop, renew if held else min(renew, 0.5))

    async def _step(self) -> None:
        try:
            entries = await self._next_entries()
            if entries:
                self._in_hand = True
                try:
                    await self._handle(entries)
                finally:
                    self._in_hand = False
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream or its group is gone (a Redis restarted without persistence, or
            # someone deleted it): make them again; jobs since then are read from the start.
            await self._stream.create_group()

    async def _next_entries(self) -> list[Entry]:
        if self._claim_all:
            entries = await self._claim(min_idle=0)
            await self._stream.forget_other_consumers()
            self._claim_all = False
            return entries
        if time.monotonic() >= self._next_claim:
            # A backstop: jobs that another reader took during a lease handover.
            self._next_claim = time.monotonic() + self._settings.job_claim_idle
            return await self._claim(min_idle=self._settings.job_claim_idle)
        return await self._stream.read()

    async def _claim(self, *, min_idle: float) -> list[Entry]:
        """Claimed pending jobs, less those delivered too often (answered as dead letters)."""
        entries = await self._stream.claim(min_idle=min_idle)
        kept, poison = await set_aside_poison(
            self._redis, self._keys, self.name, entries, self._settings.job_max_deliveries
        )
        if poison:
            await self._store.run(self._answer_writes(poison, decode_jobs(poison), DEAD_LETTERED))
        return kept

    async def _handle(self, entries: Sequence[Entry]) -> None:
        jobs = decode_jobs(entries)
        now_ms = epoch_ms()
        live = [job for job in jobs if job.deadline_ms > now_ms]
        if len(live) < len(jobs):
            log.info("dropping %d refresh jobs nobody waits for any more", len(jobs) - len(live))
        if not live:
            await self._store.run(self._answer_writes(entries, (), None))
            return
        try:
            result = await self._refresher.answer(
                live,
                lambda result: self._answer_writes(entries, live, result),
                newest_ms=max(enqueued_ms(entry_id) for entry_id, _ in entries),
            )
        except REDIS_DOWN:
            raise
        except Exception:
            log.exception("refresh of %d jobs failed unexpectedly", len(live))
            failed = JobResult(refreshed=False, error=UNEXPECTED_FAILURE, state=VersionState())
            await self._store.run(self._answer_writes(entries, live, failed))
            return
        log.info(
            "answered %d refresh jobs: refreshed=%s version=%s error=%r",
            len(live),
            result.refreshed,
            result.state.version,
            result.error,
            extra={
                "job_ids": [job.job_id for job in live],
                "request_ids": [job.request_id for job in live if job.request_id],
            },
        )

    def _answer_writes(
        self, entries: Sequence[Entry], jobs: Sequence[RefreshJob], result: JobResult | None
    ) -> list[Command]:
        return self._stream.answer_writes(
            entries, jobs, result, result_ttl=self._settings.result_ttl
        )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
