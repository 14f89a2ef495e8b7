"""Redis stopped and started under traffic: 503s while down, back to work after, nothing leaks."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from devtools.embedded import RedisServer
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.e2e.traffic import Traffic
from tests.support import wait_until
from wa_version_client.deployment import connect

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

OUTAGES = 3
QUICK = {"REFRESH_DEADLINE": "1s", "REFRESH_WAIT": "3s", "JOB_CLAIM_IDLE": "2s"}


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
    statuses = Counter(answer.status for answer in traffic.answers)
    print(f"answers {dict(statuses)}, recovered after {[f'{r:.2f}s' for r in recoveries]}")
    assert set(statuses) <= {200, 503, 504}
    for answer in traffic.answers:
        assert answer.body["code"] == answer.status
        assert answer.body["status"] is (answer.status == 200)
    assert connections <= 16  # web + worker + this probe; no connection piles up
