"""The scheduled refresh: due after the interval, one per interval across workers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from redis.asyncio import Redis

from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from shared.settings import Settings
from tests.conftest import SettingsFactory
from tests.support import publish_version, running_worker, wait_until
from worker.schedule import AutoRefresh

pytestmark = pytest.mark.server_sensitive


async def test_a_never_refreshed_state_is_due_once(
    redis: Redis, keys: ServiceKeys, make_settings: SettingsFactory
) -> None:
    """The first worker to look enqueues; the next one in the same interval does not."""
    settings = make_settings(auto_refresh_interval=60.0)
    first, second = AutoRefresh(redis, keys, settings), AutoRefresh(redis, keys, settings)
    assert await first.check() is True
    assert await second.check() is False
    assert await redis.xlen(keys.refresh_jobs) == 1
    entries: Any = await redis.xrange(keys.refresh_jobs)
    fields = entries[0][1]
    assert fields["force"] == "0"  # a scheduled refresh honours the min interval


async def test_a_recent_refresh_is_not_due(
    redis: Redis, keys: ServiceKeys, make_settings: SettingsFactory
) -> None:
    await publish_version(redis, keys, 7)  # refreshed just now
    assert (
        await AutoRefresh(redis, keys, make_settings(auto_refresh_interval=60.0)).check() is False
    )
    assert await redis.exists(keys.refresh_jobs) == 0


async def test_zero_disables_the_schedule(
    redis: Redis, keys: ServiceKeys, settings: Settings
) -> None:
    """With AUTO_REFRESH_INTERVAL=0 the scheduler returns at once and enqueues nothing."""
    schedule = AutoRefresh(redis, keys, settings)
    await schedule.run()
    assert schedule.enqueued == 0


async def test_two_workers_refresh_once_per_interval(
    redis: Redis, keys: ServiceKeys, make_settings: SettingsFactory, upstream: StubUpstream
) -> None:
    """Two workers with a 1 s schedule: refreshes keep coming, never two enqueued within
    an interval. Measured where the schedule decides, by Redis's clock (each job's stream
    id is its enqueue time in ms): when a fetch then runs depends on the machine's load."""
    settings = make_settings(auto_refresh_interval=1.0, refresh_min_interval=0.5)
    async with running_worker(settings), running_worker(settings):
        await wait_until(lambda: upstream.fetches >= 4, within=20)
    entries: Any = await redis.xrange(keys.refresh_jobs)
    enqueued_ms = [int(entry_id.split("-")[0]) for entry_id, _ in entries]
    assert len(enqueued_ms) >= 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(enqueued_ms)]
    assert all(gap >= 1000 for gap in gaps), gaps
