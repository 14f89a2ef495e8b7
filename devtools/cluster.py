"""A Redis Cluster on loopback for tests and benchmarks: three primaries with one replica
each, from the server binary REDIS_SERVER names (devtools/embedded.py), slots assigned here.

Nodes are given a short `cluster-node-timeout`, so a dead primary's replica is promoted
within seconds instead of the default fifteen.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time

from redis import Redis as SyncRedis
from redis.exceptions import RedisError

from devtools.embedded import RedisServer, server_binary, stop_all

NODE_TIMEOUT_MS = 1000
SLOTS = 16384
# A node also listens on its port + 10000 for the cluster bus (Redis 6.2 has no
# `cluster-port` to move it), so its port is drawn where both fit below 65536.
BUS_OFFSET = 10000
PORTS = range(20000, 30000)


class ClusterDeployment:
    """`primaries` primaries sharing the slots evenly, each with `replicas_each` replicas."""

    def __init__(
        self, primaries: int = 3, replicas_each: int = 1, *, choice: str | None = None
    ) -> None:
        self.binary = server_binary(choice)
        self.servers: dict[int, RedisServer] = {}
        self.paired: dict[int, list[int]] = {}  # each primary at start: its replicas
        self._primaries = primaries
        self._replicas_each = replicas_each

    def start(self, timeout: float = 30.0) -> ClusterDeployment:
        """Start every node, assign the slots, pair the replicas; return once every node
        says the cluster is ok. If that fails, whatever was started is stopped."""
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> ClusterDeployment:
        count = self._primaries * (1 + self._replicas_each)
        for _ in range(count):
            server = RedisServer(_free_node_port(), *_cluster_args(), choice=self.binary)
            server.start()
            self.servers[server.port] = server
        ports = list(self.servers)
        primaries, replicas = ports[: self._primaries], ports[self._primaries :]
        for index, port in enumerate(primaries):
            first = SLOTS * index // self._primaries
            last = SLOTS * (index + 1) // self._primaries - 1
            with _client(port) as client:
                # ADDSLOTS with every number: ADDSLOTSRANGE is Redis 7+ only.
                client.execute_command("CLUSTER ADDSLOTS", *range(first, last + 1))
        for port in ports[1:]:
            with _client(port) as client:
                client.execute_command("CLUSTER MEET", "127.0.0.1", str(ports[0]))
        deadline = time.monotonic() + timeout
        _poll(lambda: all(_known_nodes(p) == count for p in ports), deadline, "nodes meet")
        for index, port in enumerate(replicas):
            primary = primaries[index % self._primaries]
            with _client(primary) as client:
                primary_id = str(client.execute_command("CLUSTER MYID"))
            with _client(port) as client:
                client.execute_command("CLUSTER REPLICATE", primary_id)
            self.paired.setdefault(primary, []).append(port)
        _poll(self._settled, deadline, "the cluster is ok with every replica in sync")
        return self

    def url(self) -> str:
        """The `redis+cluster://` URL of this cluster, naming every node."""
        nodes = ",".join(f"127.0.0.1:{port}" for port in self.servers)
        return f"redis+cluster://{nodes}"

    def owner_of(self, key: str) -> int:
        """The port of the primary serving `key`'s slot now (the first node that answers)."""
        for port in self.servers:
            with contextlib.suppress(RedisError), _client(port) as client:
                slot = int(client.execute_command("CLUSTER KEYSLOT", key))
                for first, last, primary, *_ in client.execute_command("CLUSTER SLOTS"):
                    if int(first) <= slot <= int(last):
                        return int(primary[1])
        raise RuntimeError("no node of the cluster answers")

    def replicas_of(self, primary: int) -> list[int]:
        """The ports of the replicas of the primary on `primary`, as it says."""
        with _client(primary) as client:
            info = client.info("replication")
        return [
            int(value["port"])
            for name, value in info.items()
            if name.startswith("slave") and isinstance(value, dict)
        ]

    def wait_for_promotion(self, old_primary: int, timeout: float = 30.0) -> int:
        """Wait until a replica `old_primary` had at the start says it is a primary; its
        port. (The moment it says so, not when every node has heard.)"""
        deadline = time.monotonic() + timeout
        while True:
            for port in self.paired.get(old_primary, []):
                with contextlib.suppress(RedisError):
                    if _role(port) == "master":
                        return port
            if time.monotonic() > deadline:
                raise RuntimeError(f"no replica was promoted within {timeout:g}s")
            time.sleep(0.02)  # polling a condition with a deadline

    def stop(self) -> None:
        """Stop every node, each even if stopping another failed."""
        stop_all(self.servers.values())

    def __enter__(self) -> ClusterDeployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _settled(self) -> bool:
        for port in self.servers:
            with _client(port) as client:
                if client.cluster("info")["cluster_state"] != "ok":
                    return False
                # Clients learn the replicas from CLUSTER SLOTS: every node must list them.
                ranges = client.execute_command("CLUSTER SLOTS")
                if any(len(nodes) - 1 < self._replicas_each for _, _, *nodes in ranges):
                    return False
        primaries = [p for p in self.servers if _role(p) == "master"]
        wanted = self._replicas_each
        return len(primaries) == self._primaries and all(
            len(self.replicas_of(p)) == wanted and _replicas_online(p, wanted) for p in primaries
        )


def _free_node_port() -> int:
    """A port that is free, and whose cluster-bus port is free too."""
    for _ in range(100):
        port = random.choice(PORTS)
        if _free(port) and _free(port + BUS_OFFSET):
            return port
    raise RuntimeError("no free pair of ports for a cluster node")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _cluster_args() -> tuple[str, ...]:
    # The node's config file lives in the server's own temporary directory (its --dir).
    return (
        "--cluster-enabled", "yes",
        "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
        # A replica's first sync starts at once, not after Redis 7's and Valkey's default
        # 5 s wait for more replicas to share it.
        "--repl-diskless-sync-delay", "0",
        # Valkey lists a replica in CLUSTER SLOTS (where clients learn of it) only once
        # its replication offset moved: with no writes, at the primary's first ping.
        "--repl-ping-replica-period", "1",
    )  # fmt: skip


def _client(port: int) -> SyncRedis:
    return SyncRedis(port=port, socket_timeout=2, decode_responses=True)


def _known_nodes(port: int) -> int:
    """How many nodes (itself included) the node on `port` knows of."""
    with _client(port) as client:
        return len(client.cluster("nodes"))


def _role(port: int) -> str:
    with _client(port) as client:
        return str(client.info("replication")["role"])


def _replicas_online(primary: int, wanted: int) -> bool:
    with _client(primary) as client:
        info = client.info("replication")
    online = [
        v for k, v in info.items()
        if k.startswith("slave") and isinstance(v, dict) and v.get("state") == "online"
    ]  # fmt: skip
    return len(online) >= wanted


def _poll(condition: object, deadline: float, what: str) -> None:
    assert callable(condition)
    while True:
        with contextlib.suppress(RedisError):
            if condition():
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster did not settle: waiting for {what}")
        time.sleep(0.05)  # polling a condition with a deadline
