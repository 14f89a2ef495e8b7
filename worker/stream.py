"""The job stream as one member of the workers' consumer group sees it.

Reading new jobs and claiming pending ones. Which to do when is the consumer's business
(worker/consumer.py); answering and acknowledging them is a write (shared/plan.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.exceptions import ResponseError

from shared.errors import MessageError
from shared.keys import ServiceKeys
from wa_version_client.contract import RefreshJob
from wa_version_client.deployment import RedisClient

log = logging.getLogger(__name__)

# A stream entry as redis-py returns it: (id, fields); fields is None once trimmed away.
Entry = tuple[str, dict[str, str] | None]

BATCH_SIZE = 1000
# Upper bound on the jobs one write answers, so a huge backlog cannot make one batch (and
# the script that answers it) unbounded. A fetch answers more than that in several
# writes: every job queued before it started (worker/consumer.py).
MAX_BATCH = 10_000
# Below redis-py's 5 s socket timeout, and short enough to notice a stop request quickly.
BLOCK_MS = 1000


class JobStream:
    """`<prefix>:refresh-jobs` read by `consumer` in the group `workers`."""

    def __init__(
        self, redis: RedisClient, keys: ServiceKeys, consumer: str, *, block_ms: int = BLOCK_MS
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._consumer = consumer
        self._block_ms = block_ms

    async def read(self, block_ms: int | None = None, *, limit: int = MAX_BATCH) -> list[Entry]:
        """New jobs, at most `limit`: wait up to `block_ms` (by default the stream's; 0:
        not at all) for the first, then take all that are queued."""
        entries: list[Entry] = []
        block: int | None = self._block_ms if block_ms is None else block_ms or None
        while len(entries) < limit:
            wanted = min(BATCH_SIZE, limit - len(entries))
            reply: Any = await self._redis.xreadgroup(
                self._keys.workers_group,
                self._consumer,
                {self._keys.refresh_jobs: ">"},
                count=wanted,
                block=block,
            )
            # RESP2 (redis-py's default): [[stream, [(id, fields), ...]]]
            got: list[Entry] = reply[0][1] if reply else []
            entries.extend(got)
            if len(got) < wanted:
                return entries
            block = None
        return entries

    async def claim(self, *, min_idle: float) -> list[Entry]:
        """Pending jobs idle for at least `min_idle` seconds, now delivered to us."""
        entries: list[Entry] = []
        cursor = "0-0"
        while len(entries) < MAX_BATCH:
            reply: Any = await self._redis.xautoclaim(
                self._keys.refresh_jobs,
                self._keys.workers_group,
                self._consumer,
                min_idle_time=int(min_idle * 1000),
                start_id=cursor,
                count=BATCH_SIZE,
            )
            cursor, claimed = reply[0], reply[1]
            entries.extend(claimed)
            if cursor == "0-0":
                break
        if entries:
            log.info("claimed %d pending refresh jobs", len(entries))
        return entries

    async def last_id(self) -> str:
        """The id of the newest job in the stream ("0-0" when it is empty): every job with
        an id up to it was enqueued before this call, since ids only grow. (XREVRANGE
        sends that job's fields too: a few hundred bytes, unless it is a hostile one.)"""
        newest: Any = await self._redis.xrevrange(self._keys.refresh_jobs, count=1)
        return str(newest[0][0]) if newest else "0-0"

    async def create_group(self) -> bool:
        """Make the stream and the group if they are missing; whether this call made the
        group (False: another worker made it first)."""
        # From the start of the stream: jobs enqueued before the group existed (a fresh
        # Redis) are still answered; stale ones are dropped by their deadline.
        try:
            await self._redis.xgroup_create(
                self._keys.refresh_jobs, self._keys.workers_group, id="0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        return True

    async def forget_other_consumers(self) -> None:
        """Remove former readers with nothing pending, so the group does not grow forever."""
        try:
            consumers = await self._redis.xinfo_consumers(
                self._keys.refresh_jobs, self._keys.workers_group
            )
        except ResponseError:
            return  # no stream or group yet: nothing to forget
        for consumer in consumers:
            if consumer["name"] != self._consumer and int(consumer["pending"]) == 0:
                await self._redis.xgroup_delconsumer(
                    self._keys.refresh_jobs, self._keys.workers_group, consumer["name"]
                )


def stream_lost(error: ResponseError) -> bool:
    """Whether Redis said the job stream or its group no longer exists.

    `NOGROUP` on the next read (any server), or `UNBLOCKED the stream key no longer
    exists` to a read blocked on it when the key is deleted (Redis 7.0+, Valkey).
    """
    message = str(error)
    return message.startswith("NOGROUP") or message.startswith("UNBLOCKED")


def entry_order(entry_id: str) -> tuple[int, int]:
    """A stream id (`<ms>-<seq>`) as numbers, to compare ids."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def split_at(entries: Sequence[Entry], last_id: str) -> tuple[list[Entry], list[Entry]]:
    """`entries` (in stream order) up to `last_id` included, and those after it."""
    last = entry_order(last_id)
    cut = next((i for i, (eid, _) in enumerate(entries) if entry_order(eid) > last), len(entries))
    return list(entries[:cut]), list(entries[cut:])


def decode_jobs(entries: Sequence[Entry]) -> list[RefreshJob]:
    """The jobs in `entries`; trimmed and undecodable ones are left out (and logged)."""
    jobs = []
    for entry_id, fields in entries:
        if fields is None:
            continue  # trimmed from the stream while pending: nothing to answer
        try:
            jobs.append(RefreshJob.from_fields(fields))
        except MessageError as exc:
            # Said once, here; the entry is then acknowledged unanswered. The message
            # quotes at most a few characters of the bad field (wire.shown).
            log.error("acknowledging refresh job %s that does not decode: %s", entry_id, exc)
    return jobs
