"""arq, run inside its own virtualenv (arq 0.28 needs redis-py < 6).

    python -m bench.peers.arq_bench worker REDIS_URL POLL_DELAY
    python -m bench.peers.arq_bench client REDIS_URL POLL_DELAY URL COUNT

The client enqueues COUNT jobs one after another, awaits each result polling every
POLL_DELAY seconds (arq's default is 0.5), and prints the round trips in ms as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, ClassVar

from arq import create_pool, run_worker
from arq.connections import RedisSettings

from bench.peers.job import refresh_async


def worker(redis_url: str, delay: float) -> None:
    class Settings:
        functions: ClassVar[list[Any]] = [refresh_async]
        redis_settings = RedisSettings.from_dsn(redis_url)
        poll_delay = delay

    run_worker(Settings)


async def client(redis_url: str, poll_delay: float, url: str, count: int) -> None:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        job = await pool.enqueue_job("refresh_async", url, redis_url, "peer-arq")
        assert job is not None
        await job.result(timeout=60, poll_delay=poll_delay)
        timings.append((time.perf_counter() - started) * 1000)
    print(json.dumps(timings))
    await pool.aclose()


if __name__ == "__main__":
    role, redis_url, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if role == "worker":
        worker(redis_url, delay)
    else:
        asyncio.run(client(redis_url, delay, sys.argv[4], int(sys.argv[5])))
