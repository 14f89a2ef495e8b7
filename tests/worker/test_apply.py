"""Recording fetches: no downgrade, seq+1 exactly on change, errors kept, one publish per change."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from shared.clock import epoch_ms
from shared.keys import Keys
from shared.state import VersionState
from shared.version import WAVersion
from tests.support import wait_until
from worker.apply import apply_failure, apply_fetched, record_failure, record_fetched
from worker.fetch import Fetched

T0 = datetime(2025, 12, 21, 10, 0, tzinfo=UTC)
SW = "https://web.whatsapp.com/sw.js"
V7 = WAVersion(2, 3000, 7)
V8 = WAVersion(2, 3000, 8)
STORED = VersionState(
    version=V7, seq=4, changed_at=T0, source=SW, last_refreshed=T0, last_success=T0
)


def test_first_fetch_sets_version_and_seq_1() -> None:
    applied = apply_fetched(VersionState(), Fetched(V7, SW), T0)
    assert applied.state.version == V7
    assert applied.state.seq == 1
    assert applied.changed is not None
    assert applied.changed.previous is None
    assert applied.error == ""


def test_newer_version_bumps_seq_and_names_the_previous() -> None:
    later = T0 + timedelta(hours=1)
    applied = apply_fetched(STORED, Fetched(V8, SW), later)
    assert applied.state.version == V8
    assert applied.state.seq == 5
    assert applied.state.changed_at == later
    assert applied.changed is not None
    assert (applied.changed.previous, applied.changed.seq) == (V7, 5)


def test_same_version_updates_times_but_publishes_nothing() -> None:
    later = T0 + timedelta(hours=1)
    failed_before = replace(STORED, last_error="timed out")
    applied = apply_fetched(failed_before, Fetched(V7, SW), later)
    assert applied.changed is None
    assert applied.state.seq == 4
    assert applied.state.last_refreshed == later
    assert applied.state.last_success == later
    assert applied.state.last_error == ""
    assert applied.state.changed_at == T0


def test_an_older_build_is_recorded_but_never_applied() -> None:
    """A rollout serving an older build: the stored version and seq stay, nothing is
    published, upstream's answer and when it came are recorded, and it is no error."""
    later = T0 + timedelta(hours=1)
    older = WAVersion(2, 3000, 6)
    applied = apply_fetched(STORED, Fetched(older, SW), later)
    assert (applied.state.version, applied.state.seq, applied.changed) == (V7, 4, None)
    assert applied.older_upstream is True
    assert (applied.state.upstream, applied.state.upstream_at) == (older, later)
    assert applied.error == applied.state.last_error == ""
    assert applied.state.last_refreshed == applied.state.last_success == later


def test_failure_keeps_the_version_and_records_the_attempt() -> None:
    later = T0 + timedelta(minutes=5)
    applied = apply_failure(STORED, "upstream answered HTTP 503", later)
    assert applied.state.version == V7
    assert applied.state.last_error == "upstream answered HTTP 503"
    assert applied.state.last_refreshed == later
    assert applied.state.last_success == T0


async def test_record_stores_the_hash_and_publishes_once(redis: Redis, keys: Keys) -> None:
    """A change is written to the hash and published on version-changed, in one transaction."""
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.version_changed)
        await record_fetched(redis, keys, Fetched(V7, SW), T0)
        await record_fetched(redis, keys, Fetched(V7, SW), T0 + timedelta(minutes=1))
        await record_fetched(redis, keys, Fetched(V8, SW), T0 + timedelta(minutes=2))
        published = []
        # Drain what is queued: the confirmation, then each published change.
        while (message := await pubsub.get_message(timeout=0.05)) is not None:
            if message["type"] == "message":
                published.append(json.loads(message["data"]))
    assert [(m["string"], m["seq"]) for m in published] == [("2.3000.7", 1), ("2.3000.8", 2)]
    stored = await redis.hgetall(keys.version)
    assert stored["string"] == "2.3000.8"
    assert stored["array"] == "[2,3000,8]"
    assert stored["seq"] == "2"


async def test_record_failure_keeps_the_stored_version(redis: Redis, keys: Keys) -> None:
    await record_fetched(redis, keys, Fetched(V7, SW), T0)
    await record_failure(redis, keys, "timed out after 10s", T0 + timedelta(minutes=1))
    state = VersionState.from_hash(await redis.hgetall(keys.version))
    assert state.version == V7
    assert state.last_error == "timed out after 10s"


async def test_a_new_hash_starts_a_new_epoch_that_later_writes_keep(
    redis: Redis, keys: Keys
) -> None:
    """The first write stamps an epoch; writes after it keep the same one."""
    first = await record_fetched(redis, keys, Fetched(V7, SW), T0)
    second = await record_fetched(redis, keys, Fetched(V8, SW), T0 + timedelta(minutes=1))
    assert first.state.epoch > 0
    assert second.state.epoch == first.state.epoch
    assert second.changed is not None
    assert second.changed.epoch == first.state.epoch
    await redis.delete(keys.version)  # Redis lost its data
    await wait_until(lambda: epoch_ms() > first.state.epoch)  # epochs are ms: let one pass
    third = await record_fetched(redis, keys, Fetched(V8, SW), T0 + timedelta(minutes=2))
    assert third.state.epoch > first.state.epoch
    assert third.state.seq == 1
