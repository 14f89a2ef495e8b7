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
from collections import Counter
from collections.abc import Iterable, Sequence

from redis.exceptions import RedisError, ResponseError

from shared.job_results import JobResult
from shared.keys import ServiceKeys
from shared.metrics import jobs_counts
from shared.settings import Settings
from wa_version_client.contract import VersionState
from wa_version_client.deployment import REDIS_DOWN, RedisClient
from wa_version_client.runtime import Backoff, Trouble, cancel_and_wait
from worker.answers import live, log_answer, log_answered_more, reply_to, said
from worker.dead_letter import log_set_aside, sort_out_poison
from worker.gathering import fetch_joining, rest_of_burst
from worker.lease import Lease, LeaseKeeper
from worker.refresher import Refresher
from worker.stream import BLOCK_MS, MAX_BATCH, Entry, JobStream, decode_jobs, split_at, stream_lost

log = logging.getLogger(__name__)

# How many jobs' excused deliveries are remembered (far more than are ever in hand).
MAX_EXCUSED = 10_000
# In burst mode a read waits this long for new jobs before the stream counts as empty.
BURST_BLOCK_MS = 10

UNEXPECTED_FAILURE = "the worker failed to handle the refresh; the failure is in its log"
DEAD_LETTERED = JobResult(
    refreshed=False,
    error="the refresh job was delivered too many times and was set aside as a dead letter",
    state=VersionState(),
)


class JobConsumer:
    """Answers refresh jobs while it holds the lease. Run `run(stop)` until `stop` is set.

    With `burst=True` (arq's burst mode, for tests) `run` also returns as soon as every
    job in the stream, pending or new, is answered, instead of waiting for more.
    """

    def __init__(
        self,
        redis: RedisClient,
        keys: ServiceKeys,
        settings: Settings,
        refresher: Refresher,
        *,
        name: str,
        burst: bool = False,
    ) -> None:
        self._redis = redis
        self._store = refresher.store
        self._keys = keys
        self._settings = settings
        self._refresher = refresher
        self.name = name
        lease = Lease(
            redis, keys.worker_lease, name, settings.worker_lease_ttl, keys.worker_heartbeats
        )
        self._keeper = LeaseKeeper(
            lease, settings.worker_lease_ttl, name=name, on_gain=self._claim_everything
        )
        self._leading = self._keeper.leading
        self._burst = burst
        self._stream = JobStream(redis, keys, name, block_ms=BURST_BLOCK_MS if burst else BLOCK_MS)
        # Set when every pending job must be claimed before reading new ones.
        self._claim_all = True
        self._next_claim = 0.0
        # Whether this worker has read the job stream (or made it): missing before that
        # is a first start, after it a loss.
        self._stream_known = False
        self._stop = asyncio.Event()
        self._holding: list[Entry] = []  # the jobs being answered now
        # Deliveries that were Redis's fault, not the job's: a job in hand when Redis failed
        # is claimed again, and that claim must not count toward setting it aside.
        self._excused: Counter[str] = Counter()
        # A read of the stream still under way when the last fetch ended: what it holds
        # past the jobs queued before that fetch began is the next batch, `_carried`.
        self._reading: asyncio.Task[list[Entry]] | None = None
        self._carried: list[Entry] = []
        self._min_interval = refresher.min_interval
        self._result_ttl = settings.result_ttl

    @property
    def leading(self) -> bool:
        """Whether this worker holds the lease and reads jobs."""
        return self._leading.is_set()

    async def run(self, stop: asyncio.Event) -> None:
        """Answer jobs until `stop` is set (in burst mode, or until none is left).

        A stop while waiting for jobs ends at once (whatever an abandoned read took stays
        pending, and the next reader claims it). A stop while jobs are in hand gives them
        `worker_shutdown_grace` seconds; past that they are handed back: left pending,
        unacknowledged, for the worker that takes the released lease.
        """
        self._stop = stop
        keeper = asyncio.create_task(self._keeper.run(stop), name="lease-keeper")
        work = asyncio.create_task(self._work(), name="job-loop")
        stopper = asyncio.create_task(self._stop_work(work), name="job-loop-stopper")
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await work
        finally:
            await cancel_and_wait(stopper, keeper, work, *self._take_reading())
            await self._keeper.release()

    def _excuse(self, entry_ids: Iterable[str]) -> None:
        """Note one delivery of each that was Redis's fault. Jobs another worker took over
        never come back to be forgotten: the oldest notes go past MAX_EXCUSED."""
        self._excused.update(entry_ids)
        while len(self._excused) > MAX_EXCUSED:
            del self._excused[next(iter(self._excused))]

    def _claim_everything(self) -> None:
        """Before reading new jobs, claim every pending one (a predecessor's included)."""
        self._claim_all = True

    async def _work(self) -> None:
        # Capped at 1 s, so the worker is back at work about a second after Redis is.
        backoff = Backoff(maximum=1.0)
        trouble = Trouble(log, "the job loop")
        while not self._stop.is_set():
            await self._leading.wait()
            try:
                found_none = await self._step()
            except Exception as exc:  # whatever Redis answers, the loop goes on
                self._claim_all = True  # what was in hand is pending: claim it again
                if isinstance(exc, REDIS_DOWN):
                    self._excuse(entry_id for entry_id, _ in self._holding)
                self._holding = self._carried = []
                await cancel_and_wait(*self._take_reading())
                delay = backoff.next_delay()
                trouble.failed(exc, delay)
                await asyncio.sleep(delay)
            else:
                backoff.reset()
                trouble.recovered()
                if self._burst and found_none:
                    return

    async def _stop_work(self, work: asyncio.Task[None]) -> None:
        await self._stop.wait()
        if self._holding:
            grace = self._settings.worker_shutdown_grace
            await asyncio.wait([work], timeout=grace)
            if work.done():
                return
            log.warning("stopping: handing back the jobs in hand after %gs", grace)
        work.cancel()

    async def _step(self) -> bool:
        """Answer the next jobs; whether a read of new jobs found none (nothing to do)."""
        try:
            entries, new = await self._next_entries()
            self._stream_known = True
            if len(entries) > 1:
                entries = await rest_of_burst(self._stream, entries)
            if entries:
                self._holding = entries
                await self._handle(entries)
                for entry_id, _ in self._holding:
                    self._excused.pop(entry_id, None)
                self._holding = []
            return new and not entries
        except ResponseError as exc:
            if not stream_lost(exc):
                raise
            await self._make_stream(exc)
            return False

    async def _make_stream(self, missing: ResponseError) -> None:
        """Make the job stream and its group, which Redis says are missing; jobs enqueued
        before are read from the start.

        Missing before this worker ever read them is a first start on this Redis (or on
        this prefix): the normal event, one info line. Missing after is a loss (FLUSHALL,
        a failover to an empty replica, a DEL by hand): a warning, in Redis's words.
        """
        if self._stream_known:
            log.warning("the job stream or its group is gone (%s): making them", missing)
        if await self._stream.create_group() and not self._stream_known:
            log.info("set up the job stream and its consumer group (a first start on this Redis)")
        self._stream_known = True

    async def _next_entries(self) -> tuple[list[Entry], bool]:
        """The next jobs to answer, and whether they are new ones (not claimed)."""
        for reading in self._take_reading():
            # A read left under way (a step failed, or stopped on a backlog): its jobs next.
            return await reading, True
        carried, self._carried = self._carried, []
        if carried and not self._claim_all:
            # Jobs read after the last fetch began, too late for it: they are next (after
            # a lease handover the claim below takes them again, with the others pending).
            return carried, True
        if self._claim_all:
            entries = await self._claim(min_idle=0)
            await self._stream.forget_other_consumers()
            self._claim_all = False
            return entries, False
        if time.monotonic() >= self._next_claim:
            # A backstop: jobs that another reader took during a lease handover.
            self._next_claim = time.monotonic() + self._settings.job_claim_idle
            return await self._claim(min_idle=self._settings.job_claim_idle), False
        return await self._stream.read(), True

    def _take_reading(self) -> list[asyncio.Task[list[Entry]]]:
        reading, self._reading = self._reading, None
        return [] if reading is None else [reading]

    async def _claim(self, *, min_idle: float) -> list[Entry]:
        """Claimed pending jobs, less those delivered too often (answered as dead letters)."""
        entries = await self._stream.claim(min_idle=min_idle)
        max_deliveries = self._settings.job_max_deliveries
        sorted_out = await sort_out_poison(
            self._redis, self._keys, self.name, entries, max_deliveries, excused=self._excused
        )
        if sorted_out.poison:
            poison = sorted_out.poison
            reply = reply_to(
                poison, decode_jobs(poison), self._result_ttl, set_aside=sorted_out.copies
            )
            await self._store.answer(reply, DEAD_LETTERED)
            log_set_aside(self._keys, len(poison), max_deliveries)
            for entry_id, _ in poison:
                self._excused.pop(entry_id, None)
        return sorted_out.kept

    async def _handle(self, entries: Sequence[Entry]) -> None:
        """Answer `entries` and the jobs that arrive while their fetch is under way."""
        jobs = live(decode_jobs(entries))
        if not jobs:
            await self._store.answer(reply_to(entries, (), self._result_ttl), None)  # acked only
            return
        try:
            if (answer := await self._refresher.not_needed(jobs)) is not None:
                counts = jobs_counts("not_needed", len(jobs))
                reply = reply_to(entries, jobs, self._result_ttl, counts=counts)
                await self._store.answer(reply, answer)
                log_answer(f"not needed (last attempt within {self._min_interval:g}s)", jobs)
                return
            queued_up_to = await self._stream.last_id()  # before the fetch begins
            room = MAX_BATCH - len(entries)
            gathered = await fetch_joining(self._stream, self._refresher.fetch, room)
            self._reading, outcome = gathered.reading, gathered.outcome
            entries = self._holding = [*entries, *gathered.entries]
            jobs = [*jobs, *live(decode_jobs(gathered.entries))]
            reply = reply_to(entries, jobs, self._result_ttl)
            result = await self._refresher.record(outcome, reply)
        except RedisError:
            raise  # the job loop retries; the jobs stay pending and are claimed again
        except Exception:
            log.exception("refresh of %d jobs failed unexpectedly", len(jobs))
            self._claim_all = True  # jobs read while it failed are pending: claim them next
            failed = JobResult(refreshed=False, error=UNEXPECTED_FAILURE, state=VersionState())
            await self._store.answer(reply_to(entries, jobs, self._result_ttl), failed)
            return
        log_answer(said(outcome, result), jobs)
        # Outside the try above: its jobs are answered, whatever happens from here on.
        await self._answer_queued(queued_up_to, result)

    async def _answer_queued(self, queued_up_to: str, result: JobResult) -> None:
        """Answer with `result` the unread jobs queued before its fetch began (ids up to
        `queued_up_to`): a backlog of any size costs one fetch, in writes of MAX_BATCH
        jobs, each whole; jobs read past them are the next batch. A stop or a lost lease
        ends it between writes: the jobs not read yet are left for the next reader."""
        while self._leading.is_set() and not self._stop.is_set():
            reading = self._take_reading()
            entries = await reading[0] if reading else await self._stream.read(block_ms=0)
            queued, self._carried = split_at(entries, queued_up_to)
            if not queued:
                return
            self._holding = queued
            if not self._carried:
                # Read the next ones while these are decoded and written: Redis and this
                # process work at once. A read left behind is handled as any other.
                self._reading = asyncio.create_task(self._stream.read(block_ms=0))
            jobs = live(decode_jobs(queued))
            counts = jobs_counts("coalesced", len(jobs))
            await self._store.answer(
                reply_to(queued, jobs, self._result_ttl, counts=counts), result
            )
            log_answered_more(jobs)
            if self._carried:
                return
