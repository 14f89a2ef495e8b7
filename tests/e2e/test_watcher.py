"""The watcher process: one JSON line per applied version, --exec, and Redis restarts."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from devtools.embedded import RedisServer
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import lines, strings
from tests.support import publish_version, wait_until
from wa_version_client.deployment import RedisClient, connect

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


async def test_prints_the_current_version_then_each_change(
    launch: Launcher, redis: Redis, keys: ServiceKeys
) -> None:
    await publish_version(redis, keys, 300)
    watcher = launch("watcher")
    await wait_until(lambda: strings(watcher) == ["2.3000.300"], within=30)
    await publish_version(redis, keys, 301)
    await wait_until(lambda: strings(watcher) == ["2.3000.300", "2.3000.301"], within=30)
    last = lines(watcher)[-1]
    assert last["array"] == [2, 3000, 301]
    assert last["previous"] == {"array": [2, 3000, 300], "string": "2.3000.300"}
    assert last["seq"] == 2


async def test_exec_runs_a_command_with_the_version_in_its_environment(
    launch: Launcher, redis: Redis, keys: ServiceKeys, tmp_path: Path
) -> None:
    """WATCH_EXEC (or --exec): each applied version runs CMD with WA_VERSION and friends set."""
    record = tmp_path / "seen.txt"
    fields = "$WA_VERSION $WA_VERSION_ARRAY $WA_VERSION_SEQ $WA_VERSION_PREVIOUS"
    command = f'echo "{fields}" >> {shlex.quote(str(record))}'
    await publish_version(redis, keys, 400)
    watcher = launch("watcher", WATCH_EXEC=command)
    await wait_until(lambda: record.exists() and len(record.read_text().splitlines()) == 1, 30)
    await publish_version(redis, keys, 401)
    await wait_until(lambda: len(record.read_text().splitlines()) == 2, within=30)
    assert record.read_text().splitlines() == [
        "2.3000.400 [2,3000,400] 1 ",
        "2.3000.401 [2,3000,401] 2 2.3000.400",
    ]
    assert watcher.popen.poll() is None


async def test_keeps_running_through_redis_restarts(launch: Launcher, keys: ServiceKeys) -> None:
    """Redis stops and starts (losing its data) twice; the watcher follows every change."""
    with RedisServer() as server:
        writer = connect(server.url)
        try:
            await publish_version(writer, keys, 500)
            watcher = launch("watcher", REDIS_URL=server.url)
            await wait_until(lambda: strings(watcher) == ["2.3000.500"], within=30)
            for revision in (501, 502):
                server.stop()
                server.start()
                await publish_version(writer, keys, revision)
                expected = [f"2.3000.{r}" for r in range(500, revision + 1)]
                await wait_until(lambda: strings(watcher) == expected, within=30)  # noqa: B023 (awaited in this iteration)
            assert strings(watcher) == ["2.3000.500", "2.3000.501", "2.3000.502"]
            assert watcher.popen.poll() is None
        finally:
            await writer.aclose()


async def test_the_same_version_in_a_new_epoch_is_neither_printed_nor_run(
    launch: Launcher, keys: ServiceKeys, tmp_path: Path
) -> None:
    """Redis restarts empty and the next refresh stores the version the watcher holds, in
    a new epoch: no line, no --exec run (nothing changed for a manager); the next real
    change is printed and run, with the version held before as `previous`."""
    record = tmp_path / "seen.txt"
    command = f'echo "$WA_VERSION $WA_VERSION_PREVIOUS" >> {shlex.quote(str(record))}'
    with RedisServer() as server:
        writer = connect(server.url)
        try:
            await publish_version(writer, keys, 600)
            watcher = launch("watcher", REDIS_URL=server.url, WATCH_EXEC=command)
            await wait_until(lambda: record.exists() and record.read_text() == "2.3000.600 \n", 30)
            server.stop()
            server.start()
            # Subscribed again before the same version is stored: it hears it.
            await wait_until(lambda: _subscribers(writer, keys.version_changed, 1), within=30)
            again = await publish_version(writer, keys, 600)
            assert again.seq == 1
            await publish_version(writer, keys, 601)
            await wait_until(lambda: strings(watcher)[-1:] == ["2.3000.601"], within=30)
            assert strings(watcher) == ["2.3000.600", "2.3000.601"]
            assert lines(watcher)[-1]["previous"] == {
                "array": [2, 3000, 600],
                "string": "2.3000.600",
            }
            await wait_until(lambda: len(record.read_text().splitlines()) >= 2, within=30)
            assert record.read_text().splitlines() == ["2.3000.600 ", "2.3000.601 2.3000.600"]
        finally:
            await writer.aclose()


async def _subscribers(redis: RedisClient, channel: str, count: int) -> bool:
    """Whether `channel` has `count` subscribers now (False while Redis is away)."""
    try:
        numbers = await redis.pubsub_numsub(channel)
    except RedisError:
        return False
    return bool(numbers and numbers[0][1] == count)
