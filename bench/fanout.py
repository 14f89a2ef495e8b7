"""Fan-out: how fast one change reaches thousands of subscribers, against raw redis-py
pub/sub with as many connections, and how such a fleet comes back after a Redis restart.

For each kind of subscriber, `--processes` child processes hold `--subscribers` in all:

- `ours`: VersionSubscribers, one connection each; a change is timed at its on_change
  callback (decoded, checked, ordered, handed to the callbacks' task);
- `raw`: one redis-py PubSub each (its own connection, redis-py's defaults), reading with
  `get_message`; a change is timed when the message is read and its JSON decoded: the
  least a Python subscriber can do.

The parent publishes `--changes` changes as the worker does and times, per change, the
delay from publishing to each subscriber's line: p50, p99, and until all had it. The
kinds take turns (raw, ours, ours, raw with `--rounds 2`), each in fresh processes.

Restart (ours): Redis restarts, losing its data; once it accepts connections again the
parent stores a new version and measures the time until every subscriber holds it,
Redis's CPU over that time, and the peak of new connections per second (INFO
`total_connections_received`, sampled every 100 ms, over any 1 s window).

    .venv/bin/python -m bench.fanout [--subscribers 1000] [--processes 8] [--changes 10]
        [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from redis.asyncio import Redis

from bench.harness import cpu_ms, percentile, raise_open_files_limit
from devtools.embedded import RedisServer
from devtools.publishing import publish_version
from devtools.waiting import wait_until
from shared.keys import ServiceKeys
from wa_version_client import OnChange, VersionSubscriber
from wa_version_client.contract import PublishedVersion
from wa_version_client.deployment import connect_server

PREFIX = "bench"
KINDS = ("ours", "raw")
SAMPLE = 0.1  # seconds between INFO samples during a restart
# Children the subscribers are spread over: each stands for many one-subscriber managers,
# so more children (smaller heaps, fewer subscribers in lockstep on one loop) come
# closer to a fleet; 8 fit this machine's memory at 10,000 subscribers.
PROCESSES = 8


# --- the children: hold subscribers, print one line per change heard -----------------


def follow_stdin(on_report: Callable[[], None] | None = None) -> None:
    """Run in a thread: each `report` line from the parent calls `on_report`; the end of
    stdin (the parent closed it, or died) ends this process."""
    for text in sys.stdin:
        if text.strip() == "report" and on_report is not None:
            on_report()
    os._exit(0)


def line(epoch: int, seq: int, heard: float, called: float | None = None) -> None:
    """One change heard: when (`heard`, wall clock), and when on_change ran (`called`)."""
    sys.stdout.write(json.dumps({"seq": seq, "epoch": epoch, "t": heard, "cb": called}) + "\n")


async def flush_forever() -> None:
    # A child stands for a fleet of processes, each with a heap of its own: without
    # this, every full collection walks all its subscribers' objects, which no real
    # manager (one subscriber in its process) pays. Both kinds of child do it.
    gc.collect()
    gc.freeze()
    print("ready", flush=True)
    while True:  # flush the lines every 10 ms until the parent ends this process
        sys.stdout.flush()
        await asyncio.sleep(0.01)


async def hold_ours(url: str, count: int, prefix: str) -> None:
    subscribers = [VersionSubscriber(url, prefix=prefix) for _ in range(count)]

    def reporter(subscriber: VersionSubscriber) -> OnChange:
        def report(old: PublishedVersion | None, new: PublishedVersion) -> None:
            now, elapsed = time.time(), time.monotonic() - subscriber.current_since
            line(new.epoch, new.seq, heard=now - elapsed, called=now)

        return report

    async def report_outdated() -> None:  # every subscriber at once, as after a 405
        outcomes = await asyncio.gather(*(s.report_outdated() for s in subscribers))
        sys.stdout.write(json.dumps({"accepted": outcomes.count(True)}) + "\n")

    loop, reports = asyncio.get_running_loop(), set[asyncio.Task[None]]()

    def start_reports() -> None:  # in the loop's thread
        reports.add(asyncio.create_task(report_outdated()))

    on_report = partial(loop.call_soon_threadsafe, start_reports)
    threading.Thread(target=follow_stdin, args=(on_report,), daemon=True).start()
    for subscriber in subscribers:
        subscriber.on_change(reporter(subscriber))
    await asyncio.gather(*(s.start() for s in subscribers))
    await wait_until(lambda: all(s.subscription.subscriptions for s in subscribers), 120)
    await flush_forever()


async def hold_raw(url: str, count: int, prefix: str) -> None:
    channel = ServiceKeys(prefix).version_changed
    threading.Thread(target=follow_stdin, daemon=True).start()
    subscribed = 0

    async def listen() -> None:
        nonlocal subscribed
        async with Redis.from_url(url, decode_responses=True) as client, client.pubsub() as pubsub:
            await pubsub.subscribe(channel)
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    subscribed += 1
                elif message["type"] == "message":
                    data = json.loads(message["data"])
                    line(data["epoch"], data["seq"], heard=time.time())

    listeners: list[asyncio.Task[None]] = []
    while len(listeners) < count:  # in batches: redis-py's defaults give up on a stampede
        started = min(count, len(listeners) + 100)
        listeners += [asyncio.create_task(listen()) for _ in range(started - len(listeners))]
        await wait_until(lambda: subscribed == len(listeners), 120)  # noqa: B023
    await flush_forever()


# --- the parent: publishes and measures ---------------------------------------------


@dataclass
class Children:
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    applied: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    called: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    ready: int = 0
    ended: int = 0  # children whose output ended (before `stop`: they failed)
    accepted: int = 0  # reports of a 405 that enqueued a refresh
    reported: int = 0  # children whose subscribers all reported
    total: int = 0

    async def start(
        self, kind: str, url: str, total: int, count: int, log: IO[bytes], prefix: str = PREFIX
    ) -> None:
        """`count` children holding `total` subscribers of `kind`; their logs to `log`."""
        self.total = total
        sizes = [total // count + (1 if i < total % count else 0) for i in range(count)]
        for size in sizes:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.fanout", "--child", kind, url, str(size), prefix,
                stdin=asyncio.subprocess.PIPE,  # the child ends when this closes
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=2**20,
            )  # fmt: skip
            self.processes.append(process)
            self.readers.append(asyncio.create_task(self._read(process)))
        await wait_until(lambda: self.ready == len(sizes) or self.ended > 0, within=300)
        if self.ended:
            raise RuntimeError(f"a child ended before its subscribers were ready; see {log.name}")

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            text = raw.decode().strip()
            if text == "ready":
                self.ready += 1
            elif text.startswith('{"accepted"'):
                self.accepted += json.loads(text)["accepted"]
                self.reported += 1
            elif text:
                data = json.loads(text)
                key = (data["epoch"], data["seq"])
                self.applied.setdefault(key, []).append(data["t"])
                if data["cb"] is not None:
                    self.called.setdefault(key, []).append(data["cb"])
        self.ended += 1

    async def report_outdated(self) -> None:
        """Have every child's subscribers report a 405, all at once."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(b"report\n")
        await asyncio.gather(*(p.stdin.drain() for p in self.processes if p.stdin))

    async def wait_for(self, key: tuple[int, int], total: int) -> list[float]:
        """The times `key` was heard, once every subscriber heard it."""
        await wait_until(lambda: len(self.applied.get(key, [])) == total, within=120)
        return self.applied[key]

    async def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):  # one that died already
                process.terminate()
        for process in self.processes:
            await process.wait()
        for reader in self.readers:
            await reader


def count_lines(path: str) -> int:
    return Path(path).read_text().count("\n")


@dataclass
class Delivery:
    """Publish → heard, in ms: each change's p50, p99 and slowest, medians over changes;
    for ours also publish → on_change (p50, p99)."""

    p50: float
    p99: float
    all: float
    called_p50: float = 0.0
    called_p99: float = 0.0
    redis_cpu_ms: float = 0.0  # Redis's CPU time per change: the HSET, the PUBLISH to all


@dataclass
class Restart:
    converged_ms: float  # from Redis accepting connections to every subscriber holding it
    redis_cpu_ms: float  # Redis's CPU time over that
    peak_connections: float  # new connections per second, the busiest 1 s window


async def deliveries(
    children: Children, server: RedisServer, writer: Redis, keys: ServiceKeys, changes: int
) -> Delivery:
    total, first = children.total, 1000
    # One change first, not counted: it warms every process's code paths.
    await children.wait_for((await publish_version(writer, keys, first)).order, total)
    await renamed(writer, f"2.3000.{first}")
    assert server.pid is not None
    cpu = 0.0
    heard: dict[str, list[float]] = {"p50": [], "p99": [], "all": [], "c50": [], "c99": []}
    for revision in range(first + 1, first + 1 + changes):
        cpu_before = cpu_ms(server.pid)
        sent = time.time()
        published = await publish_version(writer, keys, revision)
        delays = [(t - sent) * 1000 for t in await children.wait_for(published.order, total)]
        cpu += cpu_ms(server.pid) - cpu_before
        heard["p50"].append(statistics.median(delays))
        heard["p99"].append(percentile(delays, 0.99))
        heard["all"].append(max(delays))
        called = [(t - sent) * 1000 for t in children.called.get(published.order, [])]
        if called:
            heard["c50"].append(statistics.median(called))
            heard["c99"].append(percentile(called, 0.99))
        # WhatsApp's changes are hours apart: the next is sent once every manager has
        # renamed its connection for this one (0.5-2 s later, _naming), or the renames
        # would crowd its delivery as they never do in use. Redis's CPU is counted from
        # the publish until all hold the change, as for raw pub/sub, renames aside.
        await renamed(writer, published.string)
    cpu /= changes
    middle = {name: statistics.median(values) if values else 0.0 for name, values in heard.items()}
    return Delivery(middle["p50"], middle["p99"], middle["all"], middle["c50"], middle["c99"], cpu)


async def renamed(writer: Redis, version: str) -> None:
    """Until every connection named for the fleet (ours; raw ones have no name) names
    `version`."""

    async def all_renamed() -> bool:
        names = [c.get("name", "") for c in await writer.client_list()]
        return all(name.endswith(f":{version}") for name in names if name.startswith("wav1:"))

    # A listing of 10,000 clients: polled gently.
    await wait_until(all_renamed, within=120, every=0.25)


async def restart(
    server: RedisServer, children: Children, keys: ServiceKeys, total: int
) -> Restart:
    server.stop()
    server.start()
    back = time.time()
    assert server.pid is not None
    cpu_before = cpu_ms(server.pid)
    sampler = asyncio.create_task(sample_connections(server.url))
    # A new client: the old one's connection died with the server, and redis-py's retry
    # of it would wait out a backoff that is the bench's, not the subscribers'.
    fresh = connect_server(server.url)
    try:
        published = await publish_version(fresh, keys, 1)
        stored = time.time()
        times = sorted(await children.wait_for(published.order, total))
        converged = times[-1]
        shares = (1, 10, 50, 90, 100)
        held = (
            f"{share}% {(times[(len(times) - 1) * share // 100] - back) * 1000:.0f}"
            for share in shares
        )
        print(f"  held the new version, ms after Redis was back: {', '.join(held)}")
        cpu = cpu_ms(server.pid) - cpu_before
    finally:
        await fresh.aclose()
        sampler.cancel()
        samples = await asyncio.gather(sampler, return_exceptions=True)
    print(f"  (the new version stored {(stored - back) * 1000:.0f} ms after Redis was back)")
    counts = samples[0] if isinstance(samples[0], list) else []
    window = round(1 / SAMPLE)
    peak = max(
        (counts[i + window] - counts[i] for i in range(len(counts) - window)),
        default=counts[-1] if counts else 0,
    )
    return Restart((converged - back) * 1000, cpu, float(peak))


async def sample_connections(url: str) -> list[int]:
    """INFO total_connections_received every SAMPLE seconds, until cancelled."""
    counts: list[int] = []
    async with Redis.from_url(url) as redis:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                counts.append(int((await redis.info("stats"))["total_connections_received"]))
                await asyncio.sleep(SAMPLE)  # a sampling period, not a race
    return counts


async def measure_kind(
    kind: str, total: int, processes: int, changes: int, *, with_restart: bool
) -> tuple[Delivery, Restart | None]:
    keys = ServiceKeys(PREFIX)
    # Room for every subscriber's connection and the parent's few.
    logs = tempfile.NamedTemporaryFile(  # noqa: SIM115  (kept after the run, for reading)
        prefix=f"fanout-{kind}-{total}-", suffix=".log", delete=False
    )
    with logs, RedisServer(None, "--maxclients", str(total + 100)) as server:
        children = Children()
        writer = connect_server(server.url)
        try:
            started = time.monotonic()
            await children.start(kind, server.url, total, processes, logs)
            took = time.monotonic() - started
            print(f"  {kind}: {total} subscribers in {processes} processes ready in {took:.1f} s")
            delivery = await deliveries(children, server, writer, keys, changes)
            print(f"  {kind}: p50 {delivery.p50:.1f} ms, p99 {delivery.p99:.1f} ms, "
                  f"all {delivery.all:.1f} ms; on_change p50 {delivery.called_p50:.1f} ms, "
                  f"p99 {delivery.called_p99:.1f} ms; Redis CPU {delivery.redis_cpu_ms:.1f} ms "
                  "per change")  # fmt: skip
            after = await restart(server, children, keys, total) if with_restart else None
            if after is not None:
                print(f"  {kind}: after a restart all hold the next version in "
                      f"{after.converged_ms:.0f} ms; Redis CPU {after.redis_cpu_ms:.0f} ms; "
                      f"peak {after.peak_connections:.0f} new connections/s")  # fmt: skip
        finally:
            await children.stop()
            await writer.aclose()
    print(f"  {kind}: the children logged {count_lines(logs.name)} lines to {logs.name}")
    return delivery, after


@dataclass
class Figures:
    """One size: ours and raw delivery (medians over rounds), and ours after a restart."""

    subscribers: int
    ours: Delivery
    raw: Delivery
    restart: Restart


async def measure(total: int, processes: int, changes: int, rounds: int = 1) -> Figures:
    """Raw and ours in turns (raw, ours, ours, raw, …); the restart on ours' first turn."""
    runs: dict[str, list[Delivery]] = {kind: [] for kind in KINDS}
    restarted: Restart | None = None
    for turn in range(rounds):
        for kind in ("raw", "ours") if turn % 2 == 0 else ("ours", "raw"):
            first = kind == "ours" and restarted is None
            delivery, after = await measure_kind(
                kind, total, processes, changes, with_restart=first
            )
            runs[kind].append(delivery)
            restarted = after or restarted
    assert restarted is not None
    ours, raw = (_median(runs[kind]) for kind in ("ours", "raw"))
    return Figures(total, ours, raw, restarted)


def _median(runs: list[Delivery]) -> Delivery:
    return Delivery(
        statistics.median(r.p50 for r in runs),
        statistics.median(r.p99 for r in runs),
        statistics.median(r.all for r in runs),
        statistics.median(r.called_p50 for r in runs),
        statistics.median(r.called_p99 for r in runs),
        statistics.median(r.redis_cpu_ms for r in runs),
    )


def main() -> None:
    raise_open_files_limit()
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        # Each child follows its stdin (see follow_stdin): whatever happens to the
        # parent, it does not outlive it, as a stray one holding thousands of
        # connections would skew every later measurement.
        hold = hold_ours if sys.argv[2] == "ours" else hold_raw
        asyncio.run(hold(sys.argv[3], int(sys.argv[4]), sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=PROCESSES)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    figures = asyncio.run(measure(args.subscribers, args.processes, args.changes, args.rounds))
    print(
        f"{figures.subscribers} subscribers: ours/raw p50 {figures.ours.p50 / figures.raw.p50:.2f}x"
        f", p99 {figures.ours.p99 / figures.raw.p99:.2f}x"
    )


if __name__ == "__main__":
    main()
