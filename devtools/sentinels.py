"""A Sentinel deployment on loopback for tests and benchmarks: a primary, its replicas and
three sentinels, all from the server binary REDIS_SERVER names (devtools/embedded.py).

Sentinels are given short timeouts so a failover takes seconds, not the default minute:
a primary is judged down after DOWN_AFTER_MS without an answer.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis as SyncRedis
from redis.exceptions import RedisError

from devtools.embedded import RedisServer, answers_ping, free_port, server_binary, stop_all

SERVICE = "wa-version"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
# A primary refuses writes unless a replica acknowledged within this many seconds: an old
# primary thawed after a failover takes no write that would be lost (README: High
# availability). With two replicas, the promoted one still has one after a failover.
MIN_REPLICAS_MAX_LAG = 2


@dataclass(frozen=True)
class SentinelIdentity:
    """A sentinel's port and run id, chosen before any starts. Each sentinel is told the
    others and the replicas in its config (`known-sentinel`, `known-replica`), as one
    restarted from its own rewritten config is, instead of finding them by the others'
    hello messages (every 2 s) and the primary's INFO (every 10 s)."""

    port: int = field(default_factory=free_port)
    run_id: str = field(default_factory=lambda: secrets.token_hex(20))


class SentinelProcess:
    """One sentinel: a server started with `--sentinel` on a config file of its own."""

    def __init__(
        self,
        binary: str,
        monitored_port: int,
        quorum: int,
        me: SentinelIdentity | None = None,
        others: Sequence[SentinelIdentity] = (),
        replicas: Sequence[int] = (),
    ) -> None:
        me = me or SentinelIdentity()
        self.port = me.port
        self._directory = tempfile.TemporaryDirectory(prefix="wa-sentinel-")
        config = Path(self._directory.name) / "sentinel.conf"
        known = "".join(
            f"sentinel known-sentinel {SERVICE} 127.0.0.1 {other.port} {other.run_id}\n"
            for other in others
        ) + "".join(f"sentinel known-replica {SERVICE} 127.0.0.1 {port}\n" for port in replicas)
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self._directory.name}\n"
            f"sentinel myid {me.run_id}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {monitored_port} {quorum}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n{known}"
        )
        self._process = subprocess.Popen(
            [binary, str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def client(self) -> SyncRedis:
        return SyncRedis(port=self.port, socket_timeout=2, decode_responses=True)

    def signal(self, signum: int) -> None:
        self._process.send_signal(signum)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        self._directory.cleanup()


class SentinelDeployment:
    """A primary, `replicas` replicas and three sentinels watching them; every data node
    refuses writes unless `min_replicas_to_write` replicas acknowledge (0: no such rule)."""

    def __init__(
        self, replicas: int = 2, *, min_replicas_to_write: int = 1, choice: str | None = None
    ) -> None:
        self.binary = server_binary(choice)
        self.servers: dict[int, RedisServer] = {}
        self.sentinels: list[SentinelProcess] = []
        self._replicas = replicas
        self._min_replicas = min_replicas_to_write
        self.primary_port_at_start = 0

    def start(self, timeout: float = 30.0) -> SentinelDeployment:
        """Start every process; return once the sentinels know each other and the replicas.
        If that fails, whatever was started is stopped."""
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> SentinelDeployment:
        safety = (
            "--min-replicas-to-write",
            str(self._min_replicas),
            "--min-replicas-max-lag",
            str(MIN_REPLICAS_MAX_LAG),
            # A replica's first sync starts at once, not after Redis 7's and Valkey's
            # default 5 s wait for more replicas to share it.
            "--repl-diskless-sync-delay",
            "0",
        )
        primary = RedisServer(None, *safety, choice=self.binary)
        primary.start()
        self.servers[primary.port] = primary
        self.primary_port_at_start = primary.port
        for _ in range(self._replicas):
            replica = RedisServer(
                None, "--replicaof", "127.0.0.1", str(primary.port), *safety, choice=self.binary
            )
            replica.start()
            self.servers[replica.port] = replica
        identities = [SentinelIdentity() for _ in range(3)]
        replicas = [port for port in self.servers if port != primary.port]
        self.sentinels = [
            SentinelProcess(
                self.binary,
                primary.port,
                2,
                me,
                others=[other for other in identities if other != me],
                replicas=replicas,
            )
            for me in identities
        ]
        deadline = time.monotonic() + timeout
        while not self._settled():
            if time.monotonic() > deadline:
                raise RuntimeError("the sentinels did not see each other and the replicas")
            time.sleep(0.05)  # polling a condition with a deadline
        return self

    def _replicated(self) -> bool:
        """Whether every replica is online and acknowledging: the primary takes writes."""
        with SyncRedis(port=self.primary_port_at_start, decode_responses=True) as client:
            info = client.info("replication")
        online = [k for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
                  and v.get("state") == "online" and int(v.get("lag", 99)) <= 1]  # fmt: skip
        return len(online) >= self._replicas

    def url(self, password: str = "") -> str:
        """The `redis+sentinel://` URL of this deployment."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        credentials = f":{password}@" if password else ""
        return f"redis+sentinel://{credentials}{hosts}/{SERVICE}/0"

    def primary_port(self) -> int:
        """The port the sentinels name as the primary now."""
        for sentinel in self.sentinels:
            try:
                with sentinel.client() as client:
                    return int(client.sentinel_get_master_addr_by_name(SERVICE)[1])
            except RedisError:
                continue
        raise RuntimeError("no sentinel answers")

    def replica_ports(self) -> list[int]:
        return [port for port in self.servers if port != self.primary_port()]

    def wait_for_promotion(self, old_primary: int, timeout: float = 30.0) -> int:
        """Wait until the sentinels name a primary other than `old_primary`; its port."""
        deadline = time.monotonic() + timeout
        while (port := self.primary_port()) == old_primary:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no replica was promoted within {timeout:g}s")
            time.sleep(0.02)  # polling a condition with a deadline
        return port

    def stop(self) -> None:
        """Stop every process, each even if stopping another failed."""
        stop_all([*self.sentinels, *self.servers.values()])

    def __enter__(self) -> SentinelDeployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _settled(self) -> bool:
        if not all(answers_ping(s.port) for s in self.sentinels) or not self._replicated():
            return False
        for sentinel in self.sentinels:
            try:
                with sentinel.client() as client:
                    state = client.sentinel_master(SERVICE)
                    others = client.sentinel_sentinels(SERVICE)
            except RedisError:
                return False
            # Connected to every other sentinel: one started before another listened
            # connects again within a second.
            linked = [o for o in others if "disconnected" not in o["flags"]]
            if len(linked) < len(self.sentinels) - 1:
                return False
            if state["num-slaves"] < self._replicas:
                return False
        return True
