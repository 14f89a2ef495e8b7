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
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.backoff import Backoff
from shared.clock import epoch_ms
from shared.errors import MessageError
from shared.keys import Keys
from shared.messages import BatchResult, JobResult, RefreshJob
from shared.redis import REDIS_DOWN
from shared.settings import Settings
from shared.state import VersionState
from shared.store import Command
from worker.dead_letter import Entry, set_aside_poison
from worker.lease import Lease
from worker.refresh import Refresher

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Upper bound on the jobs one fetch answers, so a huge backlog cannot make one batch
# (and its result pipeline) unbounded.
MAX_BATCH = 10_000
# Below redis-py's 5 s socket timeout, and short enough to notice a stop request quickly.
BLOCK_MS = 1000
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
            for task in (stopper, keeper, work):
                task.cancel()
            await asyncio.gather(stopper, keeper, work, return_exceptions=True)
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
            await self._create_group()

    async def _next_entries(self) -> list[Entry]:
        if self._claim_all:
            entries = await self._claim(min_idle=0)
            await self._forget_other_consumers()
            self._claim_all = False
            return entries
        if time.monotonic() >= self._next_claim:
            # A backstop: jobs that another reader took during a lease handover.
            self._next_claim = time.monotonic() + self._settings.job_claim_idle
            return await self._claim(min_idle=self._settings.job_claim_idle)
        return await self._read()

    async def _read(self) -> list[Entry]:
        """New jobs: wait up to BLOCK_MS for the first, then take all that are queued."""
        entries: list[Entry] = []
        block: int | None = BLOCK_MS
        while len(entries) < MAX_BATCH:
            reply: Any = await self._redis.xreadgroup(
                self._keys.workers_group,
                self.name,
                {self._keys.refresh_jobs: ">"},
                count=BATCH_SIZE,
                block=block,
            )
            # RESP2 (redis-py's default): [[stream, [(id, fields), ...]]]
            got: list[Entry] = reply[0][1] if reply else []
            entries.extend(got)
            if len(got) < BATCH_SIZE:
                return entries
            block = None
        return entries

    async def _claim(self, *, min_idle: float) -> list[Entry]:
        """Pending jobs idle for at least `min_idle` seconds, now delivered to us."""
        entries: list[Entry] = []
        cursor = "0-0"
        while len(entries) < MAX_BATCH:
            reply: Any = await self._redis.xautoclaim(
                self._keys.refresh_jobs,
                self._keys.workers_group,
                self.name,
                min_idle_time=int(min_idle * 1000),
                start_id=cursor,
                count=BATCH_SIZE,
            )
            cursor, claimed = reply[0], reply[1]
            entries.extend(claimed)
            if cursor == "0-0":
                break
        if not entries:
            return entries
        log.info("claimed %d pending refresh jobs", len(entries))
        kept, poison = await set_aside_poison(
            self._redis, self._keys, self.name, entries, self._settings.job_max_deliveries
        )
        if poison:
            await self._store.run(self._answer_writes(poison, _decode_jobs(poison), DEAD_LETTERED))
        return kept

    async def _create_group(self) -> None:
        # From the start of the stream: jobs enqueued before the group existed (a fresh
        # Redis) are still answered; stale ones are dropped by their deadline.
        try:
            await self._redis.xgroup_create(
                self._keys.refresh_jobs, self._keys.workers_group, id="0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _forget_other_consumers(self) -> None:
        """Remove former readers with nothing pending, so the group does not grow forever."""
        try:
            consumers = await self._redis.xinfo_consumers(
                self._keys.refresh_jobs, self._keys.workers_group
            )
        except ResponseError:
            return  # no stream or group yet: nothing to forget
        for consumer in consumers:
            if consumer["name"] != self.name and int(consumer["pending"]) == 0:
                await self._redis.xgroup_delconsumer(
                    self._keys.refresh_jobs, self._keys.workers_group, consumer["name"]
                )

    async def _handle(self, entries: Sequence[Entry]) -> None:
        jobs = _decode_jobs(entries)
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
                newest_ms=max(_enqueued_ms(entry_id) for entry_id, _ in entries),
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
        """Store and publish `result` for `jobs`, then acknowledge `entries`.

        Acknowledging comes last: until it runs the jobs stay pending, and after a crash
        the next reader claims and answers them.
        """
        commands: list[Command] = []
        if jobs and result is not None:
            encoded = result.encode()
            ttl_ms = str(int(self._settings.result_ttl * 1000))
            for job in jobs:
                commands.append(
                    ("SET", self._keys.refresh_result(job.job_id), encoded, "PX", ttl_ms)
                )
            batch = BatchResult(tuple(job.job_id for job in jobs), result)
            commands.append(("PUBLISH", self._keys.refresh_results, batch.encode(encoded)))
        ids = (entry_id for entry_id, _ in entries)
        commands.append(("XACK", self._keys.refresh_jobs, self._keys.workers_group, *ids))
        return commands


def _enqueued_ms(entry_id: str) -> int:
    """When Redis added the entry: the milliseconds part of its id."""
    return int(entry_id.partition("-")[0])


def _decode_jobs(entries: Sequence[Entry]) -> list[RefreshJob]:
    jobs = []
    for entry_id, fields in entries:
        if fields is None:
            continue  # trimmed from the stream while pending: nothing to answer
        try:
            jobs.append(RefreshJob.from_fields(fields))
        except MessageError:
            log.error("acknowledging refresh job %s that does not decode", entry_id)
    return jobs


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
