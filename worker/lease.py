"""The lease that makes one worker at a time the one that reads jobs.

Every refresh is one upstream fetch that answers all jobs waiting for it, so two workers
reading at once would only race each other to the same upstream. The others stand by
and take over when the holder stops renewing (it crashed or lost Redis) or lets go
(it shut down).
"""

from __future__ import annotations

from redis.asyncio import Redis

# Renew if the lease is ours, take it if it is free; 1 if we hold it afterwards.
_ACQUIRE_OR_RENEW = """
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

    def __init__(self, redis: Redis, key: str, holder: str, ttl: float) -> None:
        self._key = key
        self._holder = holder
        self._ttl_ms = int(ttl * 1000)
        self._acquire_or_renew = redis.register_script(_ACQUIRE_OR_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def hold(self) -> bool:
        """Take or renew the lease; whether we hold it now."""
        return bool(await self._acquire_or_renew([self._key], [self._holder, self._ttl_ms]))

    async def release(self) -> None:
        """Let go, so a standby can take over at once."""
        await self._release([self._key], [self._holder])
