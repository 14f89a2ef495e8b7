"""Recording a fetch in the stored state, and publishing a change, atomically.

The rules: the version never goes backwards; `seq` grows by one exactly when the
version changes; every attempt updates `last_refreshed`; a success clears `last_error`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import WatchError

from shared.clock import epoch_ms, format_time
from shared.keys import Keys
from shared.messages import PublishedVersion
from shared.state import VersionState
from worker.fetch import Fetched


@dataclass(frozen=True, slots=True)
class Applied:
    """The new state, the change to publish (if any) and the error to report (if any)."""

    state: VersionState
    changed: PublishedVersion | None = None
    error: str = ""


_Decide = Callable[[VersionState], Applied]


def apply_fetched(current: VersionState, fetched: Fetched, now: datetime) -> Applied:
    """The state after a successful fetch of `fetched`."""
    if current.version is not None and fetched.version < current.version:
        # An older revision is a stale cache or a bad fallback upstream, never a real
        # rollback: keep ours and say so.
        error = (
            f"{fetched.source} reported {fetched.version}, older than the stored "
            f"{current.version}; kept {current.version}"
        )
        return Applied(replace(current, last_refreshed=now, last_error=error), error=error)
    state = replace(
        current, source=fetched.source, last_refreshed=now, last_success=now, last_error=""
    )
    if fetched.version == current.version:
        return Applied(state)
    state = replace(state, version=fetched.version, seq=current.seq + 1, changed_at=now)
    changed = PublishedVersion(
        version=fetched.version,
        previous=current.version,
        seq=state.seq,
        epoch=state.epoch,
        changed_at=format_time(now),
        source=fetched.source,
    )
    return Applied(state, changed)


def apply_failure(current: VersionState, error: str, now: datetime) -> Applied:
    """The state after a failed attempt: the version stays, the error is recorded."""
    return Applied(replace(current, last_refreshed=now, last_error=error), error=error)


async def record_fetched(redis: Redis, keys: Keys, fetched: Fetched, now: datetime) -> Applied:
    """Apply a fetch to the stored state and publish the change, in one transaction."""
    return await _record(redis, keys, lambda current: apply_fetched(current, fetched, now))


async def record_failure(redis: Redis, keys: Keys, error: str, now: datetime) -> Applied:
    """Record a failed attempt in the stored state."""
    return await _record(redis, keys, lambda current: apply_failure(current, error, now))


async def _record(redis: Redis, keys: Keys, decide: _Decide) -> Applied:
    # WATCH/MULTI rather than a Lua script keeps the message encoding in Python, in
    # messages.py; the retry loop only spins if another writer raced us.
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(keys.version)
                current = VersionState.from_hash(await pipe.hgetall(keys.version))
                if current.epoch == 0:
                    # A new hash (first run, or Redis lost its data) starts a new epoch, so
                    # subscribers that saw a higher seq before still accept what follows.
                    current = replace(current, epoch=epoch_ms())
                applied = decide(current)
                pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py 8.1
                pipe.hset(keys.version, mapping=applied.state.to_hash())  # type: ignore[arg-type]
                if applied.changed is not None:
                    pipe.publish(keys.version_changed, applied.changed.encode())
                await pipe.execute()
                return applied
            except WatchError:
                continue
