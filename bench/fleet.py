"""The fleet at scale: build it from 10,000 named connections, and what Redis pays.

    python -m bench.fleet [--managers 10000] [--runs 5] [--deployment single|cluster]

Starts redis-server (maxclients raised), or with `--deployment cluster` a Redis Cluster
of three primaries and three replicas (devtools/cluster.py) whose six nodes the
connections are spread over, opens --managers connections in batches, each
named as a subscriber names its own (`wav1:bench-<i>:python:2.3000.<N>`, three versions),
then builds the fleet --runs times as GET /admin/whatsapp/fleet does on a cache miss
(shared/fleet.py: CLIENT LIST, parse, group); the part of CLIENT LIST (the round trip
and the parse of the reply, wa_version_client._client_list) is printed apart. Prints, per
run and as a median, the build time, the longest the event loop was blocked meanwhile (a
task that wakes every millisecond records the longest gap between two wakes, less that
millisecond: what every other request of a web process waits at worst), and the Redis CPU
it used (INFO CPU used_cpu_sys + used_cpu_user, before and after, summed over the servers:
the INFO calls are in the figure too, a few microseconds each).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from bench.harness import raise_open_files_limit
from devtools.cluster import ClusterDeployment
from devtools.embedded import RedisServer
from shared.fleet import build_off_the_loop
from wa_version_client.contract import ManagerName, WAVersion
from wa_version_client.deployment import deployment_for

BATCH = 500
TICK = 0.001  # seconds between two wakes of the stall ticker


def setname(name: str) -> bytes:
    return f"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n${len(name)}\r\n{name}\r\n".encode()


async def named_connection(port: int, index: int) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    version = WAVersion(2, 3000, 1_020_000_000 + index % 3)
    writer.write(setname(ManagerName(f"bench-{index}", "python", version).encode()))
    if await reader.readline() != b"+OK\r\n":
        raise RuntimeError("CLIENT SETNAME was refused")
    return writer


async def redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def servers_cpu(servers: list[Redis]) -> float:
    return sum([await redis_cpu(server) for server in servers])


class Stalls:
    """The longest the event loop went without running a ready task, in ms."""

    longest_ms = 0.0

    async def tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            self.longest_ms = max(self.longest_ms, (now - last - TICK) * 1000)
            last = now


@asynccontextmanager
async def watching_the_loop() -> AsyncIterator[Stalls]:
    stalls = Stalls()
    ticker = asyncio.create_task(stalls.tick())
    await asyncio.sleep(TICK * 2)  # the ticker is running before the work starts
    try:
        yield stalls
    finally:
        await asyncio.sleep(TICK * 2)  # a stall at the very end is seen too
        ticker.cancel()


async def measure(url: str, ports: list[int], managers: int, runs: int) -> dict[str, object]:
    """`ports`: the servers the connections are spread over, in turn."""
    held: list[asyncio.StreamWriter] = []
    for start in range(0, managers, BATCH):
        batch = range(start, min(start + BATCH, managers))
        held += await asyncio.gather(*(named_connection(ports[i % len(ports)], i) for i in batch))
    # The managers' 10,000 connections are the bench's own objects, not a web process's:
    # kept out of the collector, or each full collection (~80 ms over them) would stall
    # the loop, a cost the service does not pay.
    gc.freeze()
    servers = [Redis(port=port) for port in ports]
    deployment = deployment_for(url)
    redis = deployment.connect()
    build_ms, list_ms, stall_ms, cpu_ms = [], [], [], []
    try:
        for run in range(runs):
            cpu_before = await servers_cpu(servers)
            async with watching_the_loop() as stalls:
                started = time.perf_counter()
                lists = await deployment.client_lists(redis)  # as FleetReader.read does
                listed = time.perf_counter()
                fleet = await build_off_the_loop(lists)
                build_ms.append((time.perf_counter() - started) * 1000)
            list_ms.append((listed - started) * 1000)
            stall_ms.append(stalls.longest_ms)
            cpu_ms.append((await servers_cpu(servers) - cpu_before) * 1000)
            print(
                f"run {run + 1}: {len(fleet.managers)} managers, built in {build_ms[-1]:.1f} ms"
                f" (CLIENT LIST and its parse {list_ms[-1]:.1f} ms),"
                f" event loop blocked {stall_ms[-1]:.1f} ms at most,"
                f" Redis CPU {cpu_ms[-1]:.1f} ms"
            )
    finally:
        await redis.aclose()
        for server in servers:
            await server.aclose()
        for writer in held:
            writer.close()
        gc.unfreeze()  # in a longer process (`python -m bench`) they are collected again
    return {
        "managers": len(fleet.managers),
        "by_version": fleet.by_version(),
        "build_ms_median": round(statistics.median(build_ms), 1),
        "client_list_ms_median": round(statistics.median(list_ms), 1),
        "loop_stall_ms_median": round(statistics.median(stall_ms), 1),
        "redis_cpu_ms_median": round(statistics.median(cpu_ms), 1),
    }


def measure_on(deployment: str, managers: int, runs: int) -> dict[str, object]:
    """The figures on a new `deployment` ("single" or "cluster"), started and stopped here."""
    raise_open_files_limit()
    if deployment == "cluster":  # each node's default maxclients (10,000) suffices
        with ClusterDeployment() as cluster:
            return asyncio.run(measure(cluster.url(), list(cluster.servers), managers, runs))
    with RedisServer(None, "--maxclients", str(managers + 100)) as server:
        return asyncio.run(measure(server.url, [server.port], managers, runs))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__)
    parser.add_argument("--managers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deployment", choices=["single", "cluster"], default="single")
    args = parser.parse_args()
    print(json.dumps(measure_on(args.deployment, args.managers, args.runs)))


if __name__ == "__main__":
    main()
