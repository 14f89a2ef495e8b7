"""What a fetch or a failure does to the stored state, and the change to publish.

The rules: the version never goes backwards; `seq` grows by one exactly when the
version changes; every attempt updates `last_refreshed`; a success clears `last_error`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from redis.asyncio import Redis

from shared.keys import Keys
from shared.state import VersionState
from shared.store import Applied, StateStore, change_version
from worker.fetch import Fetched


def apply_fetched(current: VersionState, fetched: Fetched, now: datetime) -> Applied:
    """The state after a successful fetch of `fetched`.

    While the version is pinned, the fetch is recorded (`upstream`) but not applied.
    """
    recorded = replace(
        current,
        upstream=fetched.version,
        source=fetched.source,
        last_refreshed=now,
        last_success=now,
        last_error="",
    )
    if current.pinned:
        return Applied(recorded)
    if current.version is not None and fetched.version < current.version:
        # An older revision is a stale cache or a bad fallback upstream, never a real
        # rollback: keep ours and say so.
        error = (
            f"{fetched.source} reported {fetched.version}, older than the stored "
            f"{current.version}; kept {current.version}"
        )
        return Applied(replace(current, last_refreshed=now, last_error=error), error=error)
    if fetched.version == current.version:
        return Applied(recorded)
    return change_version(recorded, fetched.version, now, source=fetched.source, kind="fetch")


def apply_failure(current: VersionState, error: str, now: datetime) -> Applied:
    """The state after a failed attempt: the version stays, the error is recorded."""
    return Applied(replace(current, last_refreshed=now, last_error=error), error=error)


async def record_fetched(redis: Redis, keys: Keys, fetched: Fetched, now: datetime) -> Applied:
    """Apply a fetch to the stored state and publish the change, atomically."""
    return await StateStore(redis, keys).commit(lambda state: apply_fetched(state, fetched, now))


async def record_failure(redis: Redis, keys: Keys, error: str, now: datetime) -> Applied:
    """Record a failed attempt in the stored state."""
    return await StateStore(redis, keys).commit(lambda state: apply_failure(state, error, now))
