"""The Procfile's processes, for real: refresh end to end, several side by side, start and stop."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable

import httpx
import pytest
from redis.asyncio import Redis

from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.conftest import SECRET
from tests.e2e.conftest import Launcher
from tests.e2e.processes import ROOT, Process, procfile, strings
from tests.support import AUTH, REFRESH, VERSION, next_message, subscribed, wait_until

pytestmark = pytest.mark.slow


def test_procfile_dev_runs_the_same_web_and_worker_as_the_procfile() -> None:
    """What `./dev up` starts is what Heroku starts, plus the embedded Redis."""
    production = procfile()
    development = procfile(ROOT / "Procfile.dev")
    assert {name: development[name] for name in production} == production
    assert "redis" in development


@pytest.mark.server_sensitive
async def test_refresh_end_to_end_publishes_the_change(
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
) -> None:
    """curl → web → stream → worker → hash → version-changed, with real processes."""
    launch("worker")
    base = start_web().base_url
    async with redis.pubsub() as subscriber:
        await subscriber.subscribe(keys.version_changed)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            first = await client.post(REFRESH, headers=AUTH)
            upstream.configure(revision=1026131877)
            second = await client.post(REFRESH, params={"force": "true"}, headers=AUTH)
            state = await client.get(VERSION, headers=AUTH)
        messages = [json.loads(await next_message(subscriber)) for _ in range(2)]
    assert first.status_code == second.status_code == 200
    assert second.json()["data"]["wa_web_version"]["string"] == "2.3000.1026131877"
    assert state.json()["data"]["seq"] == 2
    assert [(m["string"], m["seq"]) for m in messages] == [
        ("2.3000.1026131876", 1),
        ("2.3000.1026131877", 2),
    ]
    assert messages[1]["previous"] == {
        "array": [2, 3000, 1026131876],
        "string": "2.3000.1026131876",
    }
    assert await redis.hget(keys.version, "string") == "2.3000.1026131877"


@pytest.mark.server_sensitive
async def test_two_webs_and_two_workers_share_the_work(
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
) -> None:
    """100 forced refreshes over two web processes and two workers: all 200, ≤ 2 fetches."""
    launch("worker")
    launch("worker")
    bases = [start_web().base_url, start_web().base_url]
    upstream.hold()
    async with httpx.AsyncClient(timeout=30) as client:
        calls = [
            asyncio.create_task(client.post(bases[i % 2] + REFRESH, headers=AUTH))
            for i in range(100)
        ]
        await wait_until(lambda: upstream.fetches == 1, within=30)
        await wait_until(lambda: _stream_holds(redis, keys, 100), within=30)
        upstream.release()
        responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200] * 100
    assert upstream.fetches <= 2


def test_web_refuses_to_start_without_a_secret(launch: Launcher) -> None:
    """No ADMIN_SECRET: the web process exits at once with one clear line, no traceback."""
    web = launch("web", PORT="0", ADMIN_SECRET="")
    assert web.wait(within=30) != 0
    assert "ADMIN_SECRET is not set" in web.output
    assert "Traceback" not in web.output


def test_worker_refuses_bad_settings_clearly(launch: Launcher) -> None:
    worker = launch("worker", REFRESH_MIN_INTERVAL="soon")
    assert worker.wait(within=30) == 2
    assert "REFRESH_MIN_INTERVAL='soon' is not a duration" in worker.output
    assert "Traceback" not in worker.output


async def test_secret_never_appears_in_the_output(
    launch: Launcher, start_web: Callable[..., Process], upstream: StubUpstream
) -> None:
    """After good and bad calls and a failed fetch, neither process has printed the secret."""
    worker = launch("worker")
    web = start_web()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        await client.post(REFRESH, headers=AUTH)
        await client.post(REFRESH, headers={"X-Admin-Secret": "wrong"})
        upstream.configure(status=500)
        await client.post(REFRESH, headers=AUTH)
    worker.stop()
    web.stop()
    assert "HTTP 500" in worker.output  # the failure was logged, so the logs were written
    for process in (worker, web):
        assert SECRET not in process.output


@pytest.mark.server_sensitive
def test_worker_stops_promptly_on_sigterm(launch: Launcher) -> None:
    """SIGTERM: the worker finishes what it holds, lets go of the lease and exits 0."""
    worker = launch("worker")
    deadline = time.monotonic() + 30
    while "started" not in worker.output and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the log for the start line, bounded by the deadline
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait(within=10) == 0
    assert time.monotonic() - started < 10
    assert "stopped" in worker.output


async def _stream_holds(redis: Redis, keys: ServiceKeys, count: int) -> bool:
    return await redis.xlen(keys.refresh_jobs) >= count


@pytest.mark.server_sensitive
async def test_unpinning_a_mistaken_pin_returns_every_subscriber_to_upstream(
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
) -> None:
    """A pin above the real version (a typo) announced to the watcher, then unpinned: the
    version goes back to upstream's, older though it is, the watcher follows, and the
    refresh the unpin asks for reaches the upstream."""
    launch("worker")
    watcher = launch("watcher")
    web = start_web()
    await wait_until(lambda: subscribed(redis, keys.version_changed))
    real, typo = "2.3000.1026131876", "2.3000.1926131876"
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        assert (await client.post(REFRESH, headers=AUTH)).status_code == 200
        pinned = await client.put(VERSION, json={"version": typo}, headers=AUTH)
        assert pinned.json()["data"]["wa_web_version"]["string"] == typo
        await wait_until(lambda: strings(watcher) == [real, typo], within=20)
        fetches_before = upstream.fetches
        unpinned = (await client.delete(f"{VERSION}/pin", headers=AUTH)).json()["data"]
    assert (unpinned["wa_web_version"]["string"], unpinned["pinned"]) == (real, False)
    await wait_until(lambda: strings(watcher) == [real, typo, real], within=20)
    await wait_until(lambda: upstream.fetches > fetches_before, within=20)
    assert await redis.hget(keys.version, "string") == real
