"""Refreshing on a schedule: once per AUTO_REFRESH_INTERVAL across all workers.

Every worker checks every tenth of the interval (at most a minute, with jitter) whether
the last attempt is older than the interval; the first to find it so takes a Redis key
that lives for the interval and enqueues a refresh job, in one step (the report script,
by way of wa_version_client's `enqueue_once_per`). Whoever else looks in that interval
finds the key taken, so one refresh runs per interval whatever the number of workers,
and a worker starting after a long pause refreshes at once. The job is
`force=false`: a scheduled refresh honours the min interval.
"""

from __future__ import annotations

import asyncio
import logging
import random

from shared.keys import ServiceKeys
from shared.settings import Settings
from wa_version_client.contract import RefreshJob, epoch_ms, utc_now
from wa_version_client.deployment import RedisClient, enqueue_once_per, read_state
from wa_version_client.runtime import Trouble

log = logging.getLogger(__name__)


class AutoRefresh:
    """Enqueues a refresh when one is due and no other worker did this interval."""

    def __init__(self, redis: RedisClient, keys: ServiceKeys, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._interval = settings.auto_refresh_interval
        self.enqueued = 0  # how many scheduled refreshes this worker enqueued

    async def run(self) -> None:
        """Check now, then every tenth of the interval (≤ 60 s, jittered); until cancelled."""
        if self._interval <= 0:
            return
        period = min(self._interval / 10, 60.0)
        trouble = Trouble(log, "the refresh schedule")
        while True:
            delay = period * random.uniform(0.8, 1.2)
            try:
                await self.check()
            except Exception as exc:  # whatever Redis answers, the next check tries again
                trouble.failed(exc, delay)
            else:
                trouble.recovered()
            await asyncio.sleep(delay)  # the schedule itself

    async def check(self) -> bool:
        """Enqueue a refresh if one is due and this worker is the first to see it."""
        state = await read_state(self._redis, self._keys)
        if state.refreshed_within(self._interval, utc_now()):
            return False
        deadline_ms = epoch_ms() + int(self._settings.refresh_wait * 1000)
        job = RefreshJob.new(force=False, deadline_ms=deadline_ms)
        if not await enqueue_once_per(
            self._redis,
            self._keys,
            job,
            slot=self._keys.auto_refresh,
            interval_ms=int(self._interval * 1000),
            maxlen=self._settings.job_stream_maxlen,
        ):
            return False
        self.enqueued += 1
        log.info("scheduled refresh enqueued (every %gs)", self._interval)
        return True
