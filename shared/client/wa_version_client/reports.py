"""Reports of "client outdated": any number of them, cluster-wide, make one refresh per interval."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from wa_version_client.contract.clock import epoch_ms
from wa_version_client.contract.keys import Keys
from wa_version_client.contract.messages import RefreshJob
from wa_version_client.operations import enqueue_command

# Runs one Redis command on the primary and returns its reply.
RunCommand = Callable[..., Awaitable[Any]]

log = logging.getLogger(__name__)


class OutdatedReports:
    """Turns reports into at most one forced refresh per `interval`, across processes.

    The first report sets a Redis key that expires after the interval, and only it
    enqueues a job; later reports in the interval cost no Redis call in the same process.
    Commands go through `run`, so a subscriber can send them on the connection it holds.
    """

    def __init__(
        self,
        run: RunCommand,
        keys: Keys,
        *,
        interval: float,
        refresh_wait: float,
        job_stream_maxlen: int,
    ) -> None:
        self._run = run
        self._keys = keys
        self._interval = interval
        self._refresh_wait = refresh_wait
        self._job_stream_maxlen = job_stream_maxlen
        self._muted_until = 0.0

    async def report(self) -> bool:
        """Count one report; whether it was the one that enqueued the refresh."""
        now = time.monotonic()
        if now < self._muted_until:
            return False  # another report already counts for this interval
        interval_ms = max(1, int(self._interval * 1000))
        # Mute first, so reports racing this one in the same process ask Redis nothing.
        self._muted_until = now + self._interval
        try:
            key = self._keys.outdated_report
            # Both at once (pipelined on a subscriber's connection): in a storm of 405s
            # every report but one needs the key's time left, and gets it without a
            # second round trip.
            first, left_ms = await asyncio.gather(
                self._run("SET", key, "1", "NX", "PX", str(interval_ms)),
                self._run("PTTL", key),
            )
            if not first:
                self._muted_until = now + max(0, int(left_ms)) / 1000
                return False
        except BaseException:
            self._muted_until = 0.0  # this report did not count: let the next one try
            raise
        deadline_ms = epoch_ms() + int(self._refresh_wait * 1000)
        job = RefreshJob.new(force=True, deadline_ms=deadline_ms)
        await self._run(*enqueue_command(self._keys, job, maxlen=self._job_stream_maxlen))
        log.info("reported an outdated client version: refresh requested")
        return True
