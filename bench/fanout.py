"""Fan-out: how fast one version change reaches many subscribers, and a Redis restart.

Starts a redis-server and `--processes` child processes holding `--subscribers`
VersionSubscribers in all (each with its own connections), then publishes `--changes`
changes as the worker does and measures, per change, the delay from publishing to each
subscriber's on_change callback: p50, p99 and the time until all had it. Last, it
restarts Redis (losing its data), stores a new version once Redis is back, and measures
the time until every subscriber holds it.

    .venv/bin/python -m bench.fanout [--subscribers 1000] [--processes 4] [--changes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

from devtools.publishing import publish_version
from devtools.waiting import wait_until
from shared.embedded import RedisServer
from wa_version_client.connection import connect
from wa_version_client.contract.keys import Keys
from wa_version_client.contract.published import PublishedVersion
from wa_version_client.subscriber import VersionSubscriber

PREFIX = "bench"


# --- the child: holds subscribers, prints one line per applied change -----------------


async def hold_subscribers(url: str, count: int) -> None:
    subscribers = [VersionSubscriber(url, prefix=PREFIX) for _ in range(count)]

    def report(old: PublishedVersion | None, new: PublishedVersion) -> None:
        sys.stdout.write(f'{{"seq":{new.seq},"epoch":{new.epoch},"t":{time.time()}}}\n')

    for subscriber in subscribers:
        subscriber.on_change(report)
    await asyncio.gather(*(s.start() for s in subscribers))
    await wait_until(lambda: all(s.subscription.subscriptions for s in subscribers), 60)
    print("ready", flush=True)
    while True:  # flush the lines every 10 ms until the parent ends this process
        sys.stdout.flush()
        await asyncio.sleep(0.01)


# --- the parent: publishes and measures ---------------------------------------------


@dataclass
class Children:
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    applied: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    ready: int = 0

    async def start(self, url: str, total: int, count: int) -> None:
        sizes = [total // count + (1 if i < total % count else 0) for i in range(count)]
        for size in sizes:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.fanout", "--child", url, str(size),
                stdout=asyncio.subprocess.PIPE,
                limit=2**20,
            )  # fmt: skip
            self.processes.append(process)
            self.readers.append(asyncio.create_task(self._read(process)))
        await wait_until(lambda: self.ready == len(sizes), within=120)

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode().strip()
            if line == "ready":
                self.ready += 1
            elif line:
                data = json.loads(line)
                self.applied.setdefault((data["epoch"], data["seq"]), []).append(data["t"])

    async def wait_for(self, key: tuple[int, int], total: int) -> list[float]:
        """The apply times of `key` once every subscriber reported it."""
        await wait_until(lambda: len(self.applied.get(key, [])) == total, within=60)
        return self.applied[key]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(total: int, processes: int, changes: int) -> dict[str, float]:
    """Run the fan-out measurement; print it, and return the figures in ms."""
    keys = Keys(PREFIX)
    # Each subscriber holds two connections (pub/sub, and one for reading the hash).
    with RedisServer(None, "--maxclients", str(max(10_000, 3 * total))) as server:
        children = Children()
        writer = connect(server.url)
        started = time.monotonic()
        await children.start(server.url, total, processes)
        took = time.monotonic() - started
        print(f"{total} subscribers in {processes} processes ready in {took:.1f} s")
        # One change first, not counted: the first message warms every process's code paths.
        await children.wait_for((await publish_version(writer, keys, 999)).order, total)
        p50s, p99s, alls = [], [], []
        for revision in range(1000, 1000 + changes):
            sent = time.time()
            published = await publish_version(writer, keys, revision)
            times = await children.wait_for(published.order, total)
            delays = [(t - sent) * 1000 for t in times]
            p50s.append(statistics.median(delays))
            p99s.append(percentile(delays, 0.99))
            alls.append(max(delays))
        print(
            f"change -> on_change, median over {changes} changes: "
            f"p50 {statistics.median(p50s):.1f} ms, p99 {statistics.median(p99s):.1f} ms, "
            f"all {total} {statistics.median(alls):.1f} ms "
            f"(worst change: all in {max(alls):.1f} ms)"
        )
        server.stop()
        server.start()
        back = time.time()
        published = await publish_version(writer, keys, 5000)
        times = await children.wait_for(published.order, total)
        print(
            f"Redis restarted (data lost): all {total} hold the next version "
            f"{(max(times) - back) * 1000:.0f} ms after Redis accepted connections again"
        )
        children.stop()
        await writer.aclose()
    return {
        "p50": statistics.median(p50s),
        "p99": statistics.median(p99s),
        "all": statistics.median(alls),
        "restart": (max(times) - back) * 1000,
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        asyncio.run(hold_subscribers(sys.argv[2], int(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    asyncio.run(measure(args.subscribers, args.processes, args.changes))


if __name__ == "__main__":
    main()
