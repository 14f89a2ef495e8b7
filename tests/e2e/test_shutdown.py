"""Graceful shutdown of the real processes: nothing in flight is lost."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import httpx
import pytest
from redis.asyncio import Redis

from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH, wait_until

pytestmark = pytest.mark.slow


async def reading_worker(redis: Redis, keys: ServiceKeys, workers: list[Process]) -> Process:
    """The worker process that holds the lease (its name carries its pid)."""
    await wait_until(lambda: _has_lease(redis, keys), within=30)
    holder = await redis.get(keys.worker_lease) or ""
    return next(w for w in workers if f"-{w.popen.pid}-" in holder)


async def _has_lease(redis: Redis, keys: ServiceKeys) -> bool:
    return bool(await redis.exists(keys.worker_lease))


@pytest.mark.server_sensitive
async def test_sigterm_mid_fetch_hands_the_job_to_the_standby(
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
) -> None:
    """The reading worker gets SIGTERM while its fetch hangs: it exits within 10 s without
    acknowledging, the standby takes the lease, claims the job, and the caller gets 200."""
    workers = [launch("worker"), launch("worker")]
    web = start_web()
    reader = await reading_worker(redis, keys, workers)
    upstream.hold()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        call = asyncio.create_task(client.post(REFRESH, headers=AUTH))
        await wait_until(lambda: upstream.fetches == 1, within=30)
        stopped_at = time.monotonic()
        reader.signal(signal.SIGTERM)
        assert await asyncio.to_thread(reader.wait, 10) == 0
        took = time.monotonic() - stopped_at
        upstream.release()
        response = await call
    assert took < 10
    assert "handing back the jobs in hand" in reader.output
    assert response.status_code == 200
    assert response.json()["data"]["refreshed"] is True
    assert upstream.fetches == 2  # the standby fetched again for the handed-back job
    pending = await redis.xpending(keys.refresh_jobs, keys.workers_group)
    assert pending["pending"] == 0


async def test_sigterm_to_web_finishes_the_requests_in_flight(
    launch: Launcher, start_web: Callable[..., Process], upstream: StubUpstream
) -> None:
    """uvicorn stops accepting, answers what it holds, then exits."""
    launch("worker")
    web = start_web()
    upstream.hold()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        call = asyncio.create_task(client.post(REFRESH, headers=AUTH))
        await wait_until(lambda: upstream.fetches == 1, within=30)
        web.signal(signal.SIGTERM)
        await wait_until(lambda: "Shutting down" in web.output, within=10)
        upstream.release()
        response = await call
    assert response.status_code == 200
    # uvicorn re-raises the signal once drained, so the exit status says "SIGTERM".
    assert await asyncio.to_thread(web.wait, 30) == -signal.SIGTERM
    assert "Finished server process" in web.output
