"""report_outdated(): a storm of 405 reports becomes one upstream fetch, and everyone converges."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from devtools.embedded import RedisServer
from devtools.stub_upstream import StubUpstream
from shared.errors import InvalidVersion
from shared.keys import ServiceKeys
from shared.settings import Settings
from tests.support import publish_version, running_worker, subscriber_for, wait_until
from wa_version_client import ThreadedVersionSubscriber, VersionSubscriber
from wa_version_client.contract import PublishedVersion, WAVersion

pytestmark = pytest.mark.server_sensitive


@contextlib.asynccontextmanager
async def subscribers(settings: Settings, count: int) -> AsyncIterator[list[VersionSubscriber]]:
    started = [subscriber_for(settings) for _ in range(count)]
    try:
        for versions in started:
            await versions.start()
        yield started
    finally:
        for versions in started:
            await versions.aclose()


def all_hold(versions: list[VersionSubscriber], revision: int) -> bool:
    return all(v.current is not None and v.current.version.patch == revision for v in versions)


async def test_a_storm_of_10000_reports_makes_one_fetch(
    settings: Settings, upstream: StubUpstream, redis: Redis, keys: ServiceKeys
) -> None:
    """10,000 reports from 20 subscribers: one report wins, one fetch, all converge."""
    async with running_worker(settings), subscribers(settings, 20) as managers:
        upstream.configure(revision=1026132000)
        outcomes = await asyncio.gather(
            *(managers[i % 20].report_outdated() for i in range(10_000))
        )
        await wait_until(lambda: all_hold(managers, 1026132000))
        # A second storm inside the interval asks for nothing more.
        again = await asyncio.gather(*(m.report_outdated() for m in managers))
    assert outcomes.count(True) == 1
    assert not any(again)
    assert upstream.fetches == 1


async def test_reports_hold_across_processes_through_redis(
    settings: Settings, redis: Redis, keys: ServiceKeys
) -> None:
    """The limit lives in Redis: a fresh subscriber (another process) is refused too."""
    async with subscribers(settings, 1) as [first], subscribers(settings, 1) as [second]:
        assert await first.report_outdated() is True
        assert await second.report_outdated() is False
    assert 0 < await redis.pttl(keys.outdated_report) <= settings.refresh_min_interval * 1000
    assert await redis.xlen(keys.refresh_jobs) == 1


async def test_a_report_key_without_an_expiry_mutes_nothing(
    settings: Settings, redis: Redis, keys: ServiceKeys
) -> None:
    """A report key set by hand without an expiry would mute every report for ever: the
    next report takes it over, enqueues its job, and gives the key the interval."""
    await redis.set(keys.outdated_report, "1")
    async with subscribers(settings, 1) as [versions]:
        assert await versions.report_outdated() is True
    assert await redis.xlen(keys.refresh_jobs) == 1
    assert 0 < await redis.pttl(keys.outdated_report) <= settings.refresh_min_interval * 1000


async def test_a_report_whose_job_cannot_be_enqueued_sets_no_key(
    settings: Settings, redis: Redis, keys: ServiceKeys
) -> None:
    """The job goes before the key: when the stream refuses it (a key of the wrong type),
    the report fails and leaves no key muting the reports that follow."""
    await redis.set(keys.refresh_jobs, "not a stream")
    async with subscribers(settings, 1) as [versions]:
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await versions.report_outdated()
        assert await redis.exists(keys.outdated_report) == 0
        await redis.delete(keys.refresh_jobs)
        assert await versions.report_outdated() is True
    assert await redis.xlen(keys.refresh_jobs) == 1


async def test_a_report_about_an_older_version_asks_nothing(
    settings: Settings, redis: Redis, keys: ServiceKeys
) -> None:
    """A manager that failed with an older version than the current just reconnects."""
    await publish_version(redis, keys, 200)
    async with subscribers(settings, 1) as [versions]:
        await wait_until(lambda: versions.current is not None)
        assert await versions.report_outdated(WAVersion(2, 3000, 199)) is False
        assert await redis.exists(keys.outdated_report) == 0
        assert await versions.report_outdated(WAVersion(2, 3000, 200)) is True


async def test_the_threaded_subscriber_serves_code_without_asyncio(
    redis_server: RedisServer, settings: Settings, upstream: StubUpstream
) -> None:
    """From plain threads: current, callbacks and report_outdated all work."""
    seen: list[str] = []

    def remember(old: PublishedVersion | None, new: PublishedVersion) -> None:
        seen.append(new.string)

    async with running_worker(settings):
        versions = ThreadedVersionSubscriber(
            redis_server.url, prefix=settings.redis_prefix, report_interval=60
        )
        versions.on_change(remember)
        await asyncio.to_thread(versions.start)
        try:
            assert versions.current is None
            assert await asyncio.to_thread(versions.report_outdated) is True
            await wait_until(lambda: versions.current is not None)
            await wait_until(lambda: seen == ["2.3000.1026131876"])
        finally:
            await asyncio.to_thread(versions.close)


@pytest.mark.parametrize(
    "form",
    ["current.array", "a list", "a tuple", "a string", "a WAVersion", "current itself"],
)
async def test_a_report_takes_the_version_in_any_form_a_manager_holds(
    settings: Settings, redis: Redis, keys: ServiceKeys, form: str
) -> None:
    """The README's `report_outdated(used_version)` works with what Baileys and whatsmeow
    hold: the array, a list or tuple, the string, a WAVersion or the PublishedVersion."""
    await publish_version(redis, keys, 1026131900)
    async with subscribers(settings, 1) as [versions]:
        current = versions.current
        assert current is not None
        used: object = {
            "current.array": current.array,
            "a list": [2, 3000, 1026131900],
            "a tuple": (2, 3000, 1026131900),
            "a string": "2.3000.1026131900",
            "a WAVersion": WAVersion(2, 3000, 1026131900),
            "current itself": current,
        }[form]
        assert await versions.report_outdated(used) is True
    assert await redis.xlen(keys.refresh_jobs) == 1


async def test_a_report_of_something_that_is_no_version_is_refused(
    settings: Settings, redis: Redis, keys: ServiceKeys
) -> None:
    """A value that is no version raises InvalidVersion (a ValueError) and asks nothing."""
    async with subscribers(settings, 1) as [versions]:
        with pytest.raises(InvalidVersion, match="is not a version"):
            await versions.report_outdated(42)
    assert await redis.exists(keys.refresh_jobs) == 0
