"""Chaos: refreshes keep coming while worker processes are SIGKILLed and restarted at random."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from redis.asyncio import Redis

from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH, next_message, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

CHAOS_SECONDS = 8.0
CLIENTS = 4


async def _nothing_pending(redis: Redis, keys: ServiceKeys) -> bool:
    return int((await redis.xpending(keys.refresh_jobs, keys.workers_group))["pending"]) == 0


async def test_killing_workers_loses_no_request_job_or_version(
    launch: Launcher,
    start_web: Callable[..., Process],
    upstream: StubUpstream,
    redis: Redis,
    keys: ServiceKeys,
) -> None:
    """Every request gets a well-formed answer, no job stays pending, and the published
    versions climb one seq at a time to the upstream's last one."""
    rng = random.Random(20261125)
    upstream.configure(delay=0.05)  # slow enough that kills land mid-fetch
    workers = [launch("worker"), launch("worker")]
    web = start_web()
    answers: list[tuple[int, dict[str, object]]] = []
    kills = 0
    stop = asyncio.Event()

    async def traffic() -> None:
        async with httpx.AsyncClient(base_url=web.base_url, timeout=60) as client:
            while not stop.is_set():
                response = await client.post(REFRESH, headers=AUTH)
                answers.append((response.status_code, response.json()))

    async with redis.pubsub() as subscriber:
        await subscriber.subscribe(keys.version_changed)
        clients = [asyncio.create_task(traffic()) for _ in range(CLIENTS)]
        deadline = time.monotonic() + CHAOS_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(0.2, 0.6))  # the chaos schedule, not a wait
            upstream.configure(revision=upstream.behaviour.revision + 1)
            victim = workers.pop(rng.randrange(len(workers)))
            victim.signal(signal.SIGKILL)
            kills += 1
            workers.append(launch("worker"))
        stop.set()
        await asyncio.gather(*clients)
        # One more refresh after the chaos: the stored version must be upstream's last.
        async with httpx.AsyncClient(base_url=web.base_url, timeout=60) as client:
            final = await client.post(REFRESH, headers=AUTH)
        published = []
        with contextlib.suppress(AssertionError):
            while True:
                published.append(json.loads(await next_message(subscriber, within=1)))
    await wait_until(lambda: _nothing_pending(redis, keys), within=30)

    statuses = Counter(status for status, _ in answers)
    print(f"\nchaos: {len(answers)} requests, {kills} workers killed, answers {dict(statuses)}")
    for status, body in answers:
        assert body["code"] == status
        assert body["status"] is (status == 200)
        assert ("data" in body) is (status == 200)
    # A killed worker's jobs are claimed by the next reader: nobody waits into a 504, and
    # the only failures are jobs whose readers kept dying (dead letters).
    assert set(statuses) <= {200, 500}
    for status, body in answers:
        if status == 500:
            assert str(body["error"]).endswith("was set aside as a dead letter")
    assert statuses[200] > statuses[500]
    assert final.status_code == 200
    last = f"2.3000.{upstream.behaviour.revision}"
    assert final.json()["data"]["wa_web_version"]["string"] == last
    assert [m["seq"] for m in published] == list(range(1, len(published) + 1))
    revisions = [m["array"][2] for m in published]
    assert revisions == sorted(set(revisions))  # never downgraded, never repeated
    assert published[-1]["string"] == last
