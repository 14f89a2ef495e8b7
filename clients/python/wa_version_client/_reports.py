"""Reports of "client outdated": any number of them, cluster-wide, make one refresh per interval."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from wa_version_client.contract._clock import epoch_ms
from wa_version_client.contract._keys import Keys
from wa_version_client.contract._refresh_job import RefreshJob

# Runs one Redis command on the primary and returns its reply.
RunCommand = Callable[..., Awaitable[Any]]

# The first report of an interval sets the key and enqueues the job in one atomic step:
# a connection lost between the two would otherwise leave the key set and no job, and
# every report, everywhere, muted for the interval. A key without an expiry (set by
# hand, or by anything but this script) counts as no key: it would mute every report
# for ever. The job goes first: a script that fails part-way keeps what it wrote, and a
# key set without its job would mute every report for the interval.
# KEYS: the report key, the job stream; ARGV: the interval in ms, the stream's MAXLEN,
# the job's fields. Returns ENQUEUED, or the ms the interval has left (another report
# counts for it). The Node and Go clients run the same script; the service's schedule too
# (`enqueue_once_per`).
ONCE_PER_INTERVAL = """
local left = redis.call('PTTL', KEYS[1])
if left >= 0 then
  return left
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return -1
"""
ENQUEUED = -1

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
        deadline_ms = epoch_ms() + int(self._refresh_wait * 1000)
        job = RefreshJob.new(force=True, deadline_ms=deadline_ms)
        fields = [word for pair in job.to_fields().items() for word in pair]
        keys = (self._keys.outdated_report, self._keys.refresh_jobs)
        limits = (str(interval_ms), str(self._job_stream_maxlen))
        try:
            left_ms = int(await self._run("EVAL", ONCE_PER_INTERVAL, "2", *keys, *limits, *fields))
        except BaseException:
            self._muted_until = 0.0  # this report did not count: let the next one try
            raise
        if left_ms != ENQUEUED:
            self._muted_until = now + max(0, left_ms) / 1000
            return False
        log.info("reported an outdated client version: refresh requested")
        return True
