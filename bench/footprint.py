"""Footprint: the memory and Redis connections idle subscribers cost, to size a fleet.

Starts a redis-server holding a version, then, for 1 and for `--subscribers`
VersionSubscribers, a child process that holds them all (each with its own connections,
as a connection manager holds one) until every one holds the version and is subscribed.
With the child's subscribers connected it reads the child's RSS (VmRSS) and, on the
Redis side, the connections added (CLIENT LIST), `INFO memory` used_memory and the
`tot-mem` CLIENT LIST gives each connection. Per subscriber RSS is (RSS_N - RSS_1)/(N - 1):
the interpreter and imports are paid once per process, not per subscriber.

Redis's figures are read twice: as soon as the subscribers are ready ("fresh") and after
`SETTLE` seconds idle. A new connection gets a 16 KB reply buffer that the server's cron
shrinks to about 1 KB within a couple of seconds of idling, so a fleet at rest costs the
idle figure, and one reconnecting at once (after a restart) briefly costs the fresh one.

    .venv/bin/python -m bench.footprint [--subscribers 1000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from devtools.embedded import RedisServer, describe_server
from devtools.publishing import publish_version
from devtools.waiting import wait_until
from shared.keys import ServiceKeys
from wa_version_client import VersionSubscriber

PREFIX = "bench"
QUICK_SUBSCRIBERS = 20
SETTLE = 5.0  # seconds: the cron shrank every idle reply buffer within 2 s when measured


# --- the child: holds subscribers, reports its RSS, waits for stdin to close ---------


def rss_kb() -> int:
    """This process's resident memory now (VmRSS), in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def hold_subscribers(url: str, count: int) -> None:
    subscribers = [VersionSubscriber(url, prefix=PREFIX) for _ in range(count)]
    await asyncio.gather(*(s.start() for s in subscribers))
    await wait_until(
        lambda: all(s.current is not None and s.subscription.subscriptions for s in subscribers),
        within=120,
    )
    gc.collect()  # what the subscribers hold, not the garbage their start left behind
    print(json.dumps({"rss_kb": rss_kb()}), flush=True)
    # Idle (pings, resyncs) until the parent, done counting, closes our stdin.
    await asyncio.to_thread(sys.stdin.read)
    await asyncio.gather(*(s.aclose() for s in subscribers))


# --- the parent: starts the children and reads Redis's side ---------------------------


@dataclass
class Footprint:
    """One child holding `subscribers`, measured while they are connected."""

    subscribers: int
    rss_kb: int
    connections: int  # connections the child added on the Redis side
    fresh_memory: int  # INFO memory used_memory added, in bytes, once they are ready
    used_memory: int  # the same after SETTLE seconds idle
    client_memory: int  # the sum of CLIENT LIST tot-mem over those connections, idle


async def client_ids(redis: Redis) -> set[str]:
    return {client["id"] for client in await redis.client_list()}


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def measure_child(url: str, redis: Redis, count: int) -> Footprint:
    """Start a child holding `count` subscribers and measure it once they are all ready."""
    before_ids, before_memory = await client_ids(redis), await used_memory(redis)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.footprint", "--child", url, str(count),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), timeout=180)
        if not line:
            raise RuntimeError(f"the child holding {count} subscribers exited early")
        fresh = await used_memory(redis)
        await asyncio.sleep(SETTLE)
        memory = await used_memory(redis)
        # Connections by id, so the parent's own connection (in both lists) is left out.
        added = [c for c in await redis.client_list() if c["id"] not in before_ids]
        return Footprint(
            subscribers=count,
            rss_kb=json.loads(line)["rss_kb"],
            connections=len(added),
            fresh_memory=fresh - before_memory,
            used_memory=memory - before_memory,
            client_memory=sum(int(c.get("tot-mem", 0)) for c in added),
        )
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), timeout=60)


async def measure(count: int) -> dict[str, float]:
    """Measure 1 and `count` subscribers; print a table, return the per-subscriber figures.

    ServiceKeys: connections (per subscriber), rss_kb (per subscriber), redis_kb (used_memory
    per connection, idle), fresh_kb (the same when just connected), client_kb (CLIENT
    LIST tot-mem per connection, idle).
    """
    if count < 2:
        raise ValueError("per-subscriber RSS needs at least 2 subscribers")
    # Each subscriber holds two connections today; leave room for both and the parent.
    with RedisServer(None, "--maxclients", str(max(10_000, 3 * count))) as server:
        redis = Redis.from_url(server.url, decode_responses=True)
        try:
            await publish_version(redis, ServiceKeys(PREFIX), 1000)  # something for them to hold
            one = await measure_child(server.url, redis, 1)
            many = await measure_child(server.url, redis, count)
        finally:
            await redis.aclose()
    print_table([one, many])
    figures = {
        "connections": many.connections / count,
        "rss_kb": (many.rss_kb - one.rss_kb) / (count - 1),
        "redis_kb": many.used_memory / many.connections / 1024,
        "fresh_kb": many.fresh_memory / many.connections / 1024,
        "client_kb": many.client_memory / many.connections / 1024,
    }
    print(
        f"per subscriber: {figures['connections']:.2f} connections, "
        f"{figures['rss_kb']:.1f} KB manager RSS; per connection on Redis: "
        f"{figures['redis_kb']:.1f} KB used_memory idle "
        f"({figures['fresh_kb']:.1f} KB fresh), {figures['client_kb']:.1f} KB tot-mem idle"
    )
    return figures


def print_table(rows: list[Footprint]) -> None:
    """Per child: its RSS, and what Redis added: connections, memory fresh and idle."""
    print(f"{'subscribers':>11} {'child RSS':>10} {'connections':>11} "
          f"{'used_memory fresh':>17} {'idle':>10} {'tot-mem idle':>12}")  # fmt: skip
    for row in rows:
        print(
            f"{row.subscribers:>11} {row.rss_kb / 1024:>7.1f} MB {row.connections:>11} "
            f"{row.fresh_memory / 1024:>14.0f} KB {row.used_memory / 1024:>7.0f} KB "
            f"{row.client_memory / 1024:>9.0f} KB"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        asyncio.run(hold_subscribers(sys.argv[2], int(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SUBSCRIBERS} subscribers")
    args = parser.parse_args()
    count = QUICK_SUBSCRIBERS if args.quick else args.subscribers
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {describe_server()}")
    asyncio.run(measure(count))


if __name__ == "__main__":
    main()
