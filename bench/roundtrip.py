"""Measure the refresh path with the real processes on loopback.

Starts a redis-server, the stub upstream, and the Procfile's web and worker, then:
- sends sequential `force=true` refreshes and reports the round-trip p50/p99;
- sends bursts of concurrent `force=true` refreshes and reports the upstream fetches.

    .venv/bin/python -m bench.roundtrip [--requests 200] [--burst 100] [--bursts 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devtools.stub_upstream import StubUpstream
from shared.embedded import RedisServer, free_port
from tests.e2e.processes import Process, wait_for_http

REFRESH = "/admin/whatsapp/version/refresh"
SECRET = "bench-secret"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def sequential(base: str, count: int) -> list[float]:
    """Round-trip times in milliseconds of `count` refreshes, one after another."""
    timings = []
    async with httpx.AsyncClient(base_url=base, headers={"X-Admin-Secret": SECRET}) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = await client.post(REFRESH)
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


async def burst(base: str, size: int, upstream: StubUpstream) -> tuple[int, int, float]:
    """(fetches, 200 answers, seconds) for `size` concurrent refreshes."""
    before = upstream.fetches
    limits = httpx.Limits(max_connections=size)
    headers = {"X-Admin-Secret": SECRET}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as c:
        started = time.perf_counter()
        responses = await asyncio.gather(*(c.post(REFRESH) for _ in range(size)))
        elapsed = time.perf_counter() - started
    ok = sum(r.status_code == 200 for r in responses)
    return upstream.fetches - before, ok, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--upstream-delay", type=float, default=0.0, help="seconds per fetch")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    with RedisServer() as redis:
        upstream = StubUpstream().start()
        upstream.configure(delay=args.upstream_delay)
        port = free_port()
        env = {
            "REDIS_URL": redis.url,
            "ADMIN_SECRET": SECRET,
            "WA_VERSION_URL": upstream.url("/sw.js"),
            "PORT": str(port),
        }
        worker = Process("worker", env, logs)
        web = Process("web", env, logs)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_http(base + "/", web)
            asyncio.run(sequential(base, 20))  # warm up connections and code paths
            timings = asyncio.run(sequential(base, args.requests))
            print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
            print(
                f"sequential force=true refreshes: n={len(timings)} "
                f"p50={statistics.median(timings):.2f} ms p99={percentile(timings, 0.99):.2f} ms "
                f"(upstream delay {args.upstream_delay * 1000:.0f} ms)"
            )
            for _ in range(args.bursts):
                fetches, ok, elapsed = asyncio.run(burst(base, args.burst, upstream))
                print(
                    f"burst of {args.burst} concurrent force=true: {ok} answered 200, "
                    f"{fetches} upstream fetches, {elapsed * 1000:.0f} ms"
                )
        finally:
            web.stop()
            worker.stop()
            upstream.stop()


if __name__ == "__main__":
    main()
