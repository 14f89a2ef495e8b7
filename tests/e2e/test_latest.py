"""`VersionSubscriber.latest()` against the real web and worker and the stub upstream:
the latest only while synced and the service's last refresh succeeded within the max
age; otherwise the reason and an error saying why (contract/_latest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from devtools.embedded import RedisServer
from devtools.stub_upstream import StubUpstream
from devtools.tcp_proxy import TcpProxy
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH, wait_until
from wa_version_client import ThreadedVersionSubscriber, VersionSubscriber
from wa_version_client.contract import DEFAULT_MAX_AGE

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

QUICK_RESYNC = 0.1  # the hash is read this often: no waiting for the 30 s backstop


@pytest.fixture
def web(launch: Launcher, start_web: Callable[..., Process]) -> Process:
    launch("worker")
    return start_web()


async def refresh(web: Process) -> httpx.Response:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        return await client.post(REFRESH, params={"force": "true"}, headers=AUTH)


@asynccontextmanager
async def following(
    url: str, prefix: str, *, max_age: float = DEFAULT_MAX_AGE, ping_interval: float = 5.0
) -> AsyncIterator[VersionSubscriber]:
    versions = VersionSubscriber(
        url,
        prefix=prefix,
        resync_interval=QUICK_RESYNC,
        max_age=max_age,
        ping_interval=ping_interval,
    )
    async with versions:
        await wait_until(lambda: versions.current is not None, within=10)
        yield versions


async def test_healthy_the_version_held_is_the_latest(
    web: Process, redis_server: RedisServer, prefix: str
) -> None:
    assert (await refresh(web)).status_code == 200
    async with following(redis_server.url, prefix) as versions:
        await wait_until(lambda: versions.synced, within=10)
        verdict = versions.latest()
        assert (verdict.is_latest, verdict.reason, verdict.error) == (True, "", "")


async def test_a_failed_refresh_is_not_the_latest_and_says_why(
    web: Process, redis_server: RedisServer, prefix: str, upstream: StubUpstream
) -> None:
    assert (await refresh(web)).status_code == 200
    async with following(redis_server.url, prefix) as versions:
        await wait_until(lambda: versions.latest().is_latest, within=10)
        upstream.configure(status=503)
        assert (await refresh(web)).status_code == 500
        await wait_until(lambda: versions.latest().reason == "failed", within=10)
        assert "upstream answered HTTP 503" in versions.latest().error
        upstream.configure(status=200)
        assert (await refresh(web)).status_code == 200
        await wait_until(lambda: versions.latest().is_latest, within=10)


async def test_a_last_success_older_than_the_max_age_is_not_the_latest(
    web: Process, redis_server: RedisServer, prefix: str
) -> None:
    assert (await refresh(web)).status_code == 200
    async with following(redis_server.url, prefix, max_age=1) as versions:
        await wait_until(lambda: versions.latest().reason == "stale", within=10)
        assert "older than the maximum age (1 s)" in versions.latest().error
        assert versions.latest(max_age=3600).is_latest


async def test_not_synced_is_not_the_latest(
    web: Process, redis_server: RedisServer, prefix: str
) -> None:
    assert (await refresh(web)).status_code == 200
    proxy = await TcpProxy(redis_server.port).start()
    try:
        async with following(proxy.url, prefix, ping_interval=0.2) as versions:
            await wait_until(lambda: versions.latest().is_latest, within=10)
            await proxy.cut()
            await wait_until(lambda: not versions.synced, within=10)
            assert versions.latest().reason == "unsynced"
            assert "Redis cannot be reached" in versions.latest().error
            proxy.restore()
            await wait_until(lambda: versions.latest().is_latest, within=10)
    finally:
        await proxy.stop()


async def test_the_threaded_subscriber_says_the_same(
    web: Process, redis_server: RedisServer, prefix: str, upstream: StubUpstream
) -> None:
    assert (await refresh(web)).status_code == 200
    threaded = ThreadedVersionSubscriber(
        redis_server.url, prefix=prefix, resync_interval=QUICK_RESYNC
    )
    assert threaded.latest().reason == "unsynced"  # not started
    await asyncio.to_thread(threaded.start)
    try:
        await wait_until(lambda: threaded.latest().is_latest, within=10)
        upstream.configure(status=503)
        assert (await refresh(web)).status_code == 500
        await wait_until(lambda: threaded.latest().reason == "failed", within=10)
        assert "upstream answered HTTP 503" in threaded.latest().error
    finally:
        await asyncio.to_thread(threaded.close)
