"""Redis stopped and started under traffic: 503s while down, back to work after, nothing leaks."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.embedded import RedisServer
from tests.api.test_contract import AUTH, REFRESH
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import wait_until
from wa_version_client.connection import connect
from wa_version_client.tasks import cancel_and_wait

pytestmark = pytest.mark.slow

OUTAGES = 3
QUICK = {"REFRESH_DEADLINE": "1s", "REFRESH_WAIT": "3s", "JOB_CLAIM_IDLE": "2s"}


class Traffic:
    """Forced refreshes in a loop from two clients, every answer kept."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[tuple[float, int, Any]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Traffic:
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(2)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await cancel_and_wait(*self._tasks)

    async def _loop(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            while True:
                response = await client.post(REFRESH, headers=AUTH)
                self.answers.append((time.monotonic(), response.status_code, response.json()))

    def statuses_since(self, moment: float) -> list[int]:
        return [status for at, status, _ in self.answers if at > moment]


async def test_requests_survive_redis_restarts(
    launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """Three stops and starts of Redis during traffic: 503 envelopes and 'not ready' while
    it is down, 200s again after each return, both processes alive, connections bounded."""
    with RedisServer() as server:
        worker = launch("worker", REDIS_URL=server.url, **QUICK)
        web = start_web(REDIS_URL=server.url, **QUICK)
        recoveries = []
        async with Traffic(web.base_url) as traffic, httpx.AsyncClient() as probe:
            await wait_until(lambda: 200 in traffic.statuses_since(0), within=30)
            for _ in range(OUTAGES):
                server.stop()
                down = time.monotonic()
                await wait_until(lambda: 503 in traffic.statuses_since(down), within=30)  # noqa: B023 (awaited in this iteration)
                ready = await probe.get(f"{web.base_url}/readyz")
                assert ready.status_code == 503
                server.start()
                back = time.monotonic()
                await wait_until(lambda: 200 in traffic.statuses_since(back), within=30)  # noqa: B023 (awaited in this iteration)
                recoveries.append(time.monotonic() - back)
                # Traffic flows normally again before the next outage.
                await wait_until(lambda: traffic.statuses_since(back).count(200) >= 20, within=30)  # noqa: B023 (awaited in this iteration)
        assert worker.popen.poll() is None
        assert web.popen.poll() is None
        client = connect(server.url)
        try:
            connections = len(await client.client_list())
        finally:
            await client.aclose()
    statuses = Counter(status for _, status, _ in traffic.answers)
    print(f"answers {dict(statuses)}, recovered after {[f'{r:.2f}s' for r in recoveries]}")
    assert set(statuses) <= {200, 503, 504}
    for _, status, body in traffic.answers:
        assert body["code"] == status
        assert body["status"] is (status == 200)
    assert connections <= 16  # web + worker + this probe; no connection piles up
