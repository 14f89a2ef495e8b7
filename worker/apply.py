"""What a fetch or a failure does to the stored state, and the change to publish.

The rules: a fetch never moves the version backwards; `seq` grows by one exactly when
the version changes; every attempt updates `last_refreshed`; a success clears
`last_error`. An older build from upstream is normal weather, not a failure: during a
rollout WhatsApp Web serves different builds back to back, and a later request often
gets an older one. It is recorded (`upstream`, `upstream_at`) and counted, not applied.
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
        upstream_at=now,
        source=fetched.source,
        last_refreshed=now,
        last_success=now,
        last_error="",
    )
    if current.pinned:
        return Applied(recorded)
    if fetched.version == current.version:
        return Applied(replace(recorded, awaiting_upstream=False))
    if current.awaiting_upstream:
        # The end of an unpin made before upstream was known: upstream's word, whatever it is.
        unpinned = replace(recorded, awaiting_upstream=False)
        return change_version(unpinned, fetched.version, now, source=fetched.source, kind="unpin")
    if current.version is not None and fetched.version < current.version:
        return Applied(recorded, older_upstream=True)
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
