"""The Node client (clients/node) beside the Python one, on one Redis server.

A Node child and a Python child each hold subscribers; the parent publishes changes the
way the worker does (devtools/publishing.py) and reads, from each child, the wall-clock
time its first subscriber heard each one: a change's delay is that minus the time the
publishing began. Both children hear the same changes, so the two are compared in the
same run. Then each child is started again with 1 and with `--subscribers` subscribers:
its RSS, and the Redis connections it added (CLIENT LIST), per subscriber.

    .venv/bin/python -m bench.node_client [--changes 200] [--subscribers 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from typing import IO, Any

from bench.harness import percentile
from devtools.embedded import RedisServer, describe_server
from devtools.processes import ROOT
from devtools.publishing import publish_version
from shared.keys import ServiceKeys
from wa_version_client import VersionSubscriber
from wa_version_client.deployment import connect

PREFIX = "bench-node"
FIRST_REVISION = 1_026_000_000


# --- the Python child: the same protocol as bench/node_follower.mjs -------------------


async def python_child(url: str, count: int) -> None:
    from bench.footprint import rss_kb

    subscribers = [VersionSubscriber(url, prefix=PREFIX) for _ in range(count)]
    await asyncio.gather(*(s.start() for s in subscribers))

    def emit(line: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    subscribers[0].on_change(lambda old, new: emit({"seq": new.seq, "at": time.time() * 1000}))
    emit({"ready": all(s.current is not None for s in subscribers), "rss_kb": rss_kb()})
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    for s in subscribers:
        await s.aclose()


# --- the parent ----------------------------------------------------------------------


def start_child(kind: str, url: str, count: int) -> subprocess.Popen[str]:
    if kind == "node":
        node = shutil.which("node")
        assert node, "the Node client's bench needs Node.js 20+ on PATH"
        command = [node, str(ROOT / "bench" / "node_follower.mjs"), url, PREFIX, str(count)]
    else:
        command = [sys.executable, "-m", "bench.node_client", "--child", url, str(count)]
    return subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def read_line(stream: IO[str] | None) -> dict[str, Any]:
    assert stream is not None
    line = stream.readline()
    if not line:
        raise RuntimeError("a bench child ended early")
    data: dict[str, Any] = json.loads(line)
    return data


def stop(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=30)


async def connections(url: str) -> int:
    redis = connect(url)
    try:
        return len(await redis.client_list()) - 1  # not this probe
    finally:
        await redis.aclose()


async def delays(url: str, changes: int) -> dict[str, list[float]]:
    """Each change's delay, in ms, to each child's first subscriber."""
    keys, redis = ServiceKeys(PREFIX), connect(url)
    await publish_version(redis, keys, FIRST_REVISION)
    children = {kind: start_child(kind, url, 1) for kind in ("node", "python")}
    measured: dict[str, list[float]] = {kind: [] for kind in children}
    try:
        for child in children.values():
            assert read_line(child.stdout)["ready"]
        for revision in range(FIRST_REVISION + 1, FIRST_REVISION + 1 + changes):
            began = time.time() * 1000
            published = await publish_version(redis, keys, revision)
            for kind, child in children.items():
                line = await asyncio.to_thread(read_line, child.stdout)
                assert line["seq"] == published.seq, line
                measured[kind].append(line["at"] - began)
    finally:
        for child in children.values():
            stop(child)
        await redis.aclose()
    return measured


async def footprint(url: str, kind: str, count: int) -> tuple[float, float, float]:
    """(RSS with 1 subscriber in MB, KB per added subscriber, connections per subscriber)."""
    rss: dict[int, int] = {}
    added = 0
    for size in (1, count):
        before = await connections(url)
        child = start_child(kind, url, size)
        try:
            line = await asyncio.to_thread(read_line, child.stdout)
            assert line["ready"]
            rss[size] = line["rss_kb"]
            added = await connections(url) - before
        finally:
            stop(child)
    return rss[1] / 1024, (rss[count] - rss[1]) / (count - 1), added / count


async def main(changes: int, subscribers: int) -> None:
    with RedisServer() as server:
        print(f"redis: {describe_server()}; {changes} changes, {subscribers} subscribers")
        measured = await delays(server.url, changes)
        for kind, samples in measured.items():
            p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
            print(f"{kind}: a change reaches a subscriber p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        for kind in ("node", "python"):
            base, each, per = await footprint(server.url, kind, subscribers)
            print(
                f"{kind}: RSS {base:.1f} MB with 1 subscriber, {each:.0f} KB per added "
                f"subscriber; {per:.2f} Redis connections per subscriber"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--child", nargs=2, metavar=("URL", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(python_child(args.child[0], int(args.child[1])))
    else:
        asyncio.run(main(args.changes, args.subscribers))
