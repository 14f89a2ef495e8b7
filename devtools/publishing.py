"""Storing and announcing a version as the worker does after a fetch: for tests, benchmarks
and demos that need a change without an upstream."""

from __future__ import annotations

from shared import transitions
from shared.keys import ServiceKeys
from shared.store import StateStore
from wa_version_client.contract import PublishedVersion, WAVersion, utc_now
from wa_version_client.deployment import RedisClient

UPSTREAM_SW = "https://web.whatsapp.com/sw.js"


async def publish_version(redis: RedisClient, keys: ServiceKeys, revision: int) -> PublishedVersion:
    """Store and announce 2.3000.`revision` as the worker does after a fetch."""
    version = WAVersion(2, 3000, revision)
    applied = await StateStore(redis, keys).commit(
        lambda state: transitions.fetched(state, version, utc_now(), source=UPSTREAM_SW)
    )
    assert applied.changed is not None, "the version was not newer than the stored one"
    return applied.changed
