"""The lease that makes one worker at a time the one that reads jobs, and the heartbeats.

Every refresh is one upstream fetch that answers all jobs waiting for it, so two workers
reading at once would only race each other to the same upstream. The others stand by
and take over when the holder stops renewing (it crashed or lost Redis) or lets go
(it shut down). Every worker, reading or standing by, notes itself alive in
`<prefix>:workers` each time it asks for the lease: /readyz reads that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from wa_version_client.contract import epoch_ms
from wa_version_client.deployment import RedisClient
from wa_version_client.runtime import Trouble

log = logging.getLogger(__name__)

# Note this worker alive (KEYS[2], a sorted set by time, pruned of the long gone); renew
# the lease if it is ours, take it if it is free; 1 if we hold it afterwards.
_ACQUIRE_OR_RENEW = """
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3] - 86400000)
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# Delete the lease only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """A Redis key holding the holder's name, expiring after `ttl` seconds unless renewed."""

    def __init__(
        self, redis: RedisClient, key: str, holder: str, ttl: float, heartbeats: str
    ) -> None:
        self._key = key
        self._heartbeats = heartbeats
        self._holder = holder
        self._ttl_ms = int(ttl * 1000)
        self._acquire_or_renew = redis.register_script(_ACQUIRE_OR_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def hold(self) -> bool:
        """Beat the heart, take or renew the lease; whether we hold it now."""
        keys = [self._key, self._heartbeats]
        return bool(await self._acquire_or_renew(keys, [self._holder, self._ttl_ms, epoch_ms()]))

    async def release(self) -> None:
        """Let go, so a standby can take over at once."""
        await self._release([self._key], [self._holder])


class LeaseKeeper:
    """Asks for the lease over and over; `leading` is set while this worker holds it."""

    def __init__(self, lease: Lease, ttl: float, *, name: str, on_gain: Callable[[], None]) -> None:
        self._lease = lease
        self._ttl = ttl
        self._name = name
        self._on_gain = on_gain
        self.leading = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Keep asking until `stop` is set."""
        trouble = Trouble(log, "the worker lease")
        while not stop.is_set():
            try:
                held = await self._lease.hold()
            except Exception as exc:  # not knowing is not holding: ask again
                held = False
                trouble.failed(exc, 0.5)
            else:
                trouble.recovered()
            self._note(held)
            # The holder renews at a third of the lease; a standby asks more often, so a
            # released lease (or a Redis back from a restart) is taken within half a second.
            renew = self._ttl / 3
            await _wait(stop, renew if held else min(renew, 0.5))

    async def release(self) -> None:
        """Let go of the lease if held, so a standby takes over at once."""
        if self.leading.is_set():
            self.leading.clear()
            with contextlib.suppress(Exception):  # it expires soon enough by itself
                await self._lease.release()

    def _note(self, held: bool) -> None:
        if held and not self.leading.is_set():
            log.info("worker %s now reads refresh jobs", self._name)
            self._on_gain()
            self.leading.set()
        elif not held and self.leading.is_set():
            log.info("worker %s stands by", self._name)
            self.leading.clear()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
