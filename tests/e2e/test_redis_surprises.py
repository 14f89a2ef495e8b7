"""Redis answering what a worker did not expect, against the real processes.

The job stream deleted under a blocked read (Redis 7+ and Valkey answer `UNBLOCKED`, 6.2
`NOGROUP` on the next read), the consumer group destroyed, FLUSHALL under traffic, a key
of the wrong type: each is logged with Redis's own words, refreshes work again, and the
worker and web processes keep running (the same PIDs all along).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from redis.asyncio import Redis

from devtools.embedded import RedisServer
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.e2e.traffic import Traffic
from tests.support import AUTH, REFRESH, blocked_in_xreadgroup, wait_until
from wa_version_client.deployment import connect_server

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]


@dataclass
class System:
    """A worker and a web process on a Redis of their own, and a client to that Redis."""

    worker: Process
    web: Process
    redis: Redis
    keys: ServiceKeys

    async def refresh(self) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.web.base_url, timeout=30) as client:
            return await client.post(REFRESH, headers=AUTH)

    def assert_alive(self, pids: tuple[int, int]) -> None:
        assert self.worker.popen.poll() is None, self.worker.output
        assert self.web.popen.poll() is None, self.web.output
        assert (self.worker.popen.pid, self.web.popen.pid) == pids


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server for this test alone: these tests flush and break what is in it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
async def system(
    own_server: RedisServer, launch: Launcher, start_web: Callable[..., Process], keys: ServiceKeys
) -> AsyncIterator[System]:
    settings = {"REDIS_URL": own_server.url, "REFRESH_DEADLINE": "3s", "REFRESH_WAIT": "5s"}
    worker = launch("worker", **settings)
    web = start_web(**settings)
    redis = connect_server(own_server.url)
    try:
        yield System(worker, web, redis, keys)
    finally:
        await redis.aclose()


async def test_the_stream_deleted_under_a_blocked_read_is_made_again(system: System) -> None:
    """DEL of the job stream while the worker blocks on it: logged, stream and group made
    again, the next refresh answered 200, the worker still the same process."""
    pids = (system.worker.popen.pid, system.web.popen.pid)
    assert (await system.refresh()).status_code == 200
    await wait_until(lambda: blocked_in_xreadgroup(system.redis))
    await system.redis.delete(system.keys.refresh_jobs)
    response = await system.refresh()
    assert response.status_code == 200, response.text
    assert "the job stream or its group is gone (" in system.worker.output
    system.assert_alive(pids)


async def test_a_destroyed_consumer_group_is_made_again(system: System) -> None:
    """XGROUP DESTROY under a blocked read: the group is made again and refreshes go on."""
    pids = (system.worker.popen.pid, system.web.popen.pid)
    assert (await system.refresh()).status_code == 200
    await wait_until(lambda: blocked_in_xreadgroup(system.redis))
    await system.redis.xgroup_destroy(system.keys.refresh_jobs, system.keys.workers_group)
    response = await system.refresh()
    assert response.status_code == 200, response.text
    system.assert_alive(pids)


async def test_flushall_under_traffic_costs_at_most_the_jobs_it_erased(system: System) -> None:
    """Three FLUSHALLs while two clients refresh without pause: every answer is an
    envelope (200, or 504 for a job FLUSHALL erased before a worker read it), 200s come
    back after each, and both processes live on."""
    pids = (system.worker.popen.pid, system.web.popen.pid)
    async with Traffic(system.web.base_url) as traffic:
        await wait_until(lambda: 200 in traffic.statuses_since(0), within=30)
        for _ in range(3):
            await system.redis.flushall()
            flushed = time.monotonic()
            await wait_until(
                lambda: traffic.statuses_since(flushed).count(200) >= 5,  # noqa: B023 (awaited in this iteration)
                within=30,
            )
    statuses = Counter(answer.status for answer in traffic.answers)
    assert set(statuses) <= {200, 504}, statuses
    system.assert_alive(pids)


async def test_a_key_of_the_wrong_type_is_a_503_then_heals(system: System) -> None:
    """The job stream's name taken by a string: the API answers 503 (Redis refused), the
    worker logs Redis's WRONGTYPE and retries with backoff; once the key is gone, 200."""
    pids = (system.worker.popen.pid, system.web.popen.pid)
    assert (await system.refresh()).status_code == 200
    await system.redis.delete(system.keys.refresh_jobs)
    await system.redis.set(system.keys.refresh_jobs, "not a stream")
    refused = await system.refresh()
    assert refused.status_code == 503
    assert refused.json()["error"] == "the version store refused the request; try again shortly"
    await wait_until(lambda: "ResponseError: WRONGTYPE" in system.worker.output)
    await system.redis.delete(system.keys.refresh_jobs)
    assert (await system.refresh()).status_code == 200
    assert "the job loop works again after" in system.worker.output
    system.assert_alive(pids)
