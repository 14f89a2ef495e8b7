"""Cluster pub/sub: announce a version change with PUBLISH or with SPUBLISH?

Starts a Redis Cluster (devtools/cluster.py: three primaries with a replica each, the
server REDIS_SERVER names) and measures three ways of announcing a change on the
hash-tagged channel, each to `--subscribers` raw redis-py connections held by
`--processes` child processes:

- SPUBLISH, shard: SSUBSCRIBE, half the subscribers on the channel's primary, half on its
  replica (sharded pub/sub keeps a message inside the shard that owns the slot);
- PUBLISH, shard: SUBSCRIBE, the same placement (the cluster bus still broadcasts each
  message to every node);
- PUBLISH, spread: SUBSCRIBE, the subscribers spread evenly over all six nodes.

The three sets of subscribers are connected at once, and the modes take turns: rounds of
a few messages each, after a few not counted. The service's RedisCluster client
publishes (both commands go to the slot's primary), one message at a time, the next once
every subscriber had the one before. Printed per mode: the delay from publishing to each
subscriber reading the message (p50 and p99 over every delivery; "first": the median over
messages of the earliest delivery, the path through the servers without the queue of
subscribers in front of it), the CPU time each server process used during its messages,
by role, and the deltas of the cluster bus's publish counters (CLUSTER INFO).

    .venv/bin/python -m bench.cluster_pubsub [--subscribers 1000] [--messages 50]
        [--processes 2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection

from bench.harness import cpu_ms, raise_open_files_limit
from devtools.cluster import ClusterDeployment
from devtools.embedded import describe_server
from wa_version_client.deployment import connect

CHANNEL = "{whatsapp}:version-changed"
ROLES = ("primary", "replica", "others")
# Messages sent first in each mode, not counted: they warm every code path, and the
# first few on a bus link can wait 40 ms for a delayed TCP acknowledgement.
WARMUP = 5
ROUND = 5  # messages per mode in a row


@dataclass(frozen=True)
class Mode:
    name: str
    sharded: bool  # SSUBSCRIBE/SPUBLISH, else SUBSCRIBE/PUBLISH
    spread: bool  # subscribers over every node, else over the shard's two nodes

    @property
    def channel(self) -> str:
        """Its own channel: both SUBSCRIBE modes' subscribers are there at once."""
        return f"{CHANNEL}:spread" if self.spread else CHANNEL


MODES = (
    Mode("SPUBLISH, shard", sharded=True, spread=False),
    Mode("PUBLISH, shard", sharded=False, spread=False),
    Mode("PUBLISH, spread", sharded=False, spread=True),
)


# --- the child: holds subscribers, prints the delays of each message ---------------------


@dataclass
class Inbox:
    """The delays of the current message's deliveries; `complete` once all had it."""

    expected: int
    delays: list[float] = field(default_factory=list)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, payload: bytes) -> None:
        self.delays.append(time.monotonic() - float(payload))  # one clock system-wide
        if len(self.delays) == self.expected:
            self.complete.set()


async def subscribe(port: int, command: str, channel: str) -> Connection:
    """A raw connection to the node on `port`, subscribed to the channel.

    RESP2 and no read timeout: redis-py 8 speaks RESP3 by default, where a raw
    read_response() hands push messages to a handler and returns None, and its sockets
    time out after 5 s of silence."""
    connection = Connection(host="127.0.0.1", port=port, protocol=2, socket_timeout=None)
    await connection.send_command(command, channel)
    await connection.read_response()  # the confirmation
    return connection


async def listen(connection: Connection, inbox: Inbox) -> None:
    while True:
        kind, _, payload = await connection.read_response()
        assert kind in (b"message", b"smessage")
        inbox.record(payload)


async def hold_subscribers(command: str, channel: str, ports: list[int]) -> None:
    connections: list[Connection] = []
    for start in range(0, len(ports), 100):  # connect in batches: fewer at once
        batch = ports[start : start + 100]
        connections += await asyncio.gather(*(subscribe(p, command, channel) for p in batch))
    inbox = Inbox(len(connections))
    listeners = [asyncio.create_task(listen(c, inbox)) for c in connections]
    print("ready", flush=True)
    while True:  # the parent sends the next message once every child printed this one
        await inbox.complete.wait()
        print(" ".join(f"{d:.6f}" for d in inbox.delays), flush=True)
        inbox.delays.clear()
        inbox.complete.clear()
        assert all(not task.done() for task in listeners)


# --- the parent: the cluster, the publisher, the measures ------------------------------


@dataclass
class Result:
    p50: float  # ms, every delivery
    p99: float
    first: float  # ms, median over messages of the earliest delivery
    rounds: list[float]  # ms, the p50 of each round
    cpu: dict[str, float]  # role -> CPU ms of one node (others: their mean)
    cluster_cpu: float  # ms, every node
    others: int  # how many nodes are outside the channel's shard
    bus: dict[str, int]  # counter -> delta summed over every node


@dataclass
class Children:
    processes: list[asyncio.subprocess.Process]

    @classmethod
    async def start(cls, mode: Mode, placement: list[int], count: int) -> Children:
        """`count` children holding one subscriber on each port of `placement`, shared."""
        size = -(-len(placement) // count)
        shares = [placement[i : i + size] for i in range(0, len(placement), size)]
        command = "SSUBSCRIBE" if mode.sharded else "SUBSCRIBE"
        child = (sys.executable, "-m", "bench.cluster_pubsub", "--child", command, mode.channel)
        children = cls([
            await asyncio.create_subprocess_exec(
                *child, ",".join(f"{port}:{n}" for port, n in Counter(share).items()),
                stdout=asyncio.subprocess.PIPE, limit=2**22,
            )
            for share in shares
        ])  # fmt: skip
        assert await children.lines() == [b"ready\n"] * len(shares)
        return children

    async def lines(self) -> list[bytes]:
        """The next line of every child."""
        reads = (p.stdout.readline() for p in self.processes if p.stdout is not None)
        return await asyncio.wait_for(asyncio.gather(*reads), timeout=60)

    async def delays(self) -> list[float]:
        """The delays (ms) of every delivery of the message just published."""
        return [float(d) * 1000 for line in await self.lines() for d in line.split()]

    async def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            await process.wait()


async def bus_counters(ports: Iterable[int]) -> dict[str, int]:
    """The cluster bus's publish counters (CLUSTER INFO), summed over the nodes."""
    totals: Counter[str] = Counter()
    for port in ports:
        async with Redis(port=port, decode_responses=True) as node:
            info = await node.cluster("info")
        totals.update({k: int(v) for k, v in info.items() if "publish" in k})
    return dict(totals)


async def bus_settled(ports: Iterable[int], within: float = 5.0) -> dict[str, int]:
    """The counters once every node has read the bus messages sent to it (received ==
    sent): a node without subscribers may read its own after the subscribers had theirs."""
    deadline = time.monotonic() + within
    while True:
        counters = await bus_counters(ports)
        sent = sum(v for k, v in counters.items() if k.endswith("_sent"))
        received = sum(v for k, v in counters.items() if k.endswith("_received"))
        if received >= sent or time.monotonic() > deadline:
            return counters
        await asyncio.sleep(0.01)


@dataclass
class Phase:
    """One mode's subscribers, and what its messages measured so far."""

    mode: Mode
    children: Children
    delays: list[list[float]] = field(default_factory=list)  # ms, per message
    cpu: Counter[int] = field(default_factory=Counter)  # port -> CPU ms
    bus: Counter[str] = field(default_factory=Counter)


@dataclass
class Bench:
    publisher: RedisCluster
    pids: dict[int, int]  # port -> server pid
    roles: dict[int, str]  # port -> role

    async def start(self, mode: Mode, total: int, processes: int) -> Phase:
        ports = [p for p, role in self.roles.items() if mode.spread or role != "others"]
        placement = [ports[i % len(ports)] for i in range(total)]
        phase = Phase(mode, await Children.start(mode, placement, processes))
        for _ in range(WARMUP):
            await self.announce(phase)
        return phase

    async def measure(self, phase: Phase, messages: int) -> None:
        """Send `messages` messages, adding what they cost to `phase`."""
        bus_before = await bus_settled(self.roles)
        cpu_before = {p: cpu_ms(pid) for p, pid in self.pids.items()}
        phase.delays += [await self.announce(phase) for _ in range(messages)]
        bus_after = await bus_settled(self.roles)
        phase.cpu.update({p: cpu_ms(pid) - cpu_before[p] for p, pid in self.pids.items()})
        phase.bus.update({k: v - bus_before.get(k, 0) for k, v in bus_after.items()})

    async def announce(self, phase: Phase) -> list[float]:
        """Publish one message; the delays (ms) of its deliveries, once all had it."""
        payload = repr(time.monotonic())
        if phase.mode.sharded:
            await self.publisher.spublish(phase.mode.channel, payload)
        else:
            await self.publisher.publish(phase.mode.channel, payload)
        return await phase.children.delays()

    def result(self, phase: Phase) -> Result:
        every = sorted(d for message in phase.delays for d in message)
        roles = self.roles
        cpu = {r: statistics.mean(t for p, t in phase.cpu.items() if roles[p] == r) for r in ROLES}
        return Result(
            p50=statistics.median(every),
            p99=every[min(len(every) - 1, int(0.99 * len(every)))],
            first=statistics.median(min(message) for message in phase.delays),
            rounds=[
                statistics.median(d for message in phase.delays[i : i + ROUND] for d in message)
                for i in range(0, len(phase.delays), ROUND)
            ],
            cpu=cpu,
            cluster_cpu=sum(phase.cpu.values()),
            others=list(roles.values()).count("others"),
            bus=dict(phase.bus),
        )


async def measure(total: int, messages: int, processes: int) -> dict[Mode, Result]:
    """Every mode's subscribers at once; the messages sent in rounds of ROUND per mode,
    each round in another order, so that no mode gets the cluster's first (or last)
    minutes to itself."""
    with ClusterDeployment(primaries=3, replicas_each=1) as deployment:
        primary = deployment.owner_of(CHANNEL)
        replicas = deployment.replicas_of(primary)
        roles = {
            port: "primary" if port == primary else "replica" if port in replicas else "others"
            for port in deployment.servers
        }
        pids = {port: server.pid for port, server in deployment.servers.items()}
        publisher = connect(deployment.url())
        assert isinstance(publisher, RedisCluster)
        await publisher.initialize()  # reads the slot map
        bench = Bench(publisher, {p: pid for p, pid in pids.items() if pid is not None}, roles)
        phases = [await bench.start(mode, total, processes) for mode in MODES]
        for index, first in enumerate(range(0, messages, ROUND)):
            for phase in phases[index % 3 :] + phases[: index % 3]:
                await bench.measure(phase, min(ROUND, messages - first))
        for phase in phases:
            await phase.children.stop()
        await publisher.aclose()
    return {phase.mode: bench.result(phase) for phase in phases}


def report(results: dict[Mode, Result], total: int, messages: int) -> None:
    print(f"{total} subscribers, {messages} messages; CPU: ms the server used meanwhile")
    print(
        f"{'mode':<16} {'p50 ms':>7} {'p99 ms':>7} {'first ms':>9} "
        f"{'CPU primary':>12} {'CPU replica':>12} {'CPU other (each)':>17}"
    )
    for mode, r in results.items():
        print(
            f"{mode.name:<16} {r.p50:>7.2f} {r.p99:>7.2f} {r.first:>9.3f} "
            f"{r.cpu['primary']:>12.1f} {r.cpu['replica']:>12.1f} {r.cpu['others']:>17.1f}"
        )
    for mode, r in results.items():
        moved = ", ".join(f"{k} +{v}" for k, v in sorted(r.bus.items()) if v) or "none"
        print(f"cluster bus, {mode.name}: {moved}")
    print(conclusion(results[MODES[0]], results[MODES[1]], messages))


def conclusion(sharded: Result, plain: Result, messages: int) -> str:
    """SPUBLISH against PUBLISH with the same placement, from the figures.

    One mode is faster if its p50 is lower in 80 % of the rounds (each round's two phases
    ran side by side: this machine's noise hits both); PUBLISH's broadcast matters if
    its cost on the nodes without subscribers is over 10 % of what the cluster spent."""
    wins = sum(s < p for s, p in zip(sharded.rounds, plain.rounds, strict=True))
    won = wins / len(sharded.rounds)
    others = plain.others
    broadcast = (plain.cpu["others"] - sharded.cpu["others"]) * others
    share = broadcast / plain.cluster_cpu
    if won <= 0.2:
        verdict = "PUBLISH: SPUBLISH delivers slower"
    elif won >= 0.8:
        verdict = "SPUBLISH: it delivers faster"
    elif share > 0.1:
        verdict = "SPUBLISH: PUBLISH's broadcast costs over 10 % of the cluster's CPU"
    else:
        verdict = (
            "PUBLISH: SPUBLISH gains nothing measurable, and PUBLISH works on Redis 6.2 "
            "and lets subscribers sit on any node"
        )
    return (
        f"conclusion: {verdict} (same placement: SPUBLISH's p50 lower in {wins} of "
        f"{len(sharded.rounds)} rounds, {sharded.p50:.2f} vs {plain.p50:.2f} ms; PUBLISH's "
        f"broadcast {broadcast / messages * 1000:.0f} µs of CPU per message on the {others} "
        f"other nodes, {share:.1%} of the cluster's {plain.cluster_cpu:.0f} ms)"
    )


def main() -> None:
    raise_open_files_limit()
    if len(sys.argv) == 5 and sys.argv[1] == "--child":  # --child COMMAND CHANNEL PORT:N,…
        shares = (share.split(":") for share in sys.argv[4].split(","))
        ports = [int(port) for port, n in shares for _ in range(int(n))]
        asyncio.run(hold_subscribers(sys.argv[2], sys.argv[3], ports))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="20 subscribers, 5 messages")
    args = parser.parse_args()
    total, messages = (20, 5) if args.quick else (args.subscribers, args.messages)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"server: {describe_server()}")
    report(asyncio.run(measure(total, messages, args.processes)), total, messages)


if __name__ == "__main__":
    main()
