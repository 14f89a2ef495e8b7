"""How long a version change takes to reach the clients of the event stream.

    python -m bench.event_delay [--streams 100] [--changes 20]

Starts redis-server, the stub upstream, a worker and a web process; opens --streams
event streams (GET /admin/whatsapp/version/events) and a plain Redis subscriber of the
version channel; then --changes times moves the stub's revision and asks for a forced
refresh. For each change and stream it measures the delay from the announcement on
Redis (when the plain subscriber hears it) to the stream's event, and from the refresh
request to the stream's event. Prints p50/p99/max of both and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx

from bench.harness import HEADERS, System, percentile
from devtools.waiting import wait_until
from shared.keys import ServiceKeys
from wa_version_client.contract import PublishedVersion
from wa_version_client.deployment import RedisClient, connect

EVENTS = "/admin/whatsapp/version/events"
REFRESH = "/admin/whatsapp/version/refresh"
FIRST_REVISION = 1026131876


async def follow(client: httpx.AsyncClient, arrivals: dict[str, list[float]]) -> None:
    """Read one stream for ever; note when each version's event arrived."""
    async with client.stream("GET", EVENTS, headers=HEADERS) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                arrivals.setdefault(line[3:].strip(), []).append(time.monotonic())


async def announced(redis: RedisClient, channel: str, heard: dict[str, float]) -> None:
    """The plain subscriber: when each announcement reached a client of Redis."""
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        async for message in pubsub.listen():
            if message["type"] == "message":
                version = PublishedVersion.decode(message["data"])
                heard[f"{version.epoch}-{version.seq}"] = time.monotonic()


async def change_version(
    client: httpx.AsyncClient,
    arrivals: dict[str, list[float]],
    heard: dict[str, float],
    streams: int,
) -> str:
    """Refresh (the stub serves a new revision); once every stream and the plain
    subscriber got it, the new version's event id."""
    answer = await client.post(REFRESH, params={"force": "true"}, headers=HEADERS)
    data = answer.json()["data"]
    key = f"{data['epoch']}-{data['seq']}"
    await wait_until(lambda: len(arrivals.get(key, ())) == streams and key in heard, 30)
    return key


async def measure(system: System, base: str, streams: int, changes: int) -> dict[str, float]:
    arrivals: dict[str, list[float]] = {}
    heard: dict[str, float] = {}
    redis = connect(system.redis.url)
    limits = httpx.Limits(max_connections=streams + 10)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        await client.post(REFRESH, headers=HEADERS)  # a version to start from
        tasks = [asyncio.create_task(follow(client, arrivals)) for _ in range(streams)]
        tasks.append(asyncio.create_task(announced(redis, ServiceKeys().version_changed, heard)))
        await wait_until(lambda: sum(map(len, arrivals.values())) == streams, within=60)
        from_redis: list[float] = []
        from_request: list[float] = []
        for change in range(1, changes + 1):
            system.configure_stub(revision=FIRST_REVISION + change)
            asked = time.monotonic()
            key = await change_version(client, arrivals, heard, streams)
            from_redis += [(at - heard[key]) * 1000 for at in arrivals[key]]
            from_request += [(at - asked) * 1000 for at in arrivals[key]]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await redis.aclose()
    return {
        "streams": streams,
        "changes": changes,
        "from_redis_p50_ms": percentile(from_redis, 0.5),
        "from_redis_p99_ms": percentile(from_redis, 0.99),
        "from_redis_max_ms": max(from_redis),
        "from_request_p50_ms": percentile(from_request, 0.5),
        "from_request_p99_ms": percentile(from_request, 0.99),
    }


def measure_streams(streams: int, changes: int) -> dict[str, float]:
    """The figures with a new redis-server, stub, worker and web, stopped after."""
    with System() as system:
        system.start("worker")
        # All the streams come from this one address: no per-address bound here.
        _, base = system.start_web(MAX_CONNECTIONS_PER_ADDRESS="0")
        return asyncio.run(measure(system, base, streams, changes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    summary = measure_streams(args.streams, args.changes)
    print(
        f"{summary['streams']} streams, {summary['changes']} changes: "
        f"Redis announcement -> SSE event p50 {summary['from_redis_p50_ms']:.1f} ms, "
        f"p99 {summary['from_redis_p99_ms']:.1f} ms, max {summary['from_redis_max_ms']:.1f} ms; "
        f"refresh request -> SSE event p50 {summary['from_request_p50_ms']:.1f} ms, "
        f"p99 {summary['from_request_p99_ms']:.1f} ms"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
