"""The fleet: which connection manager holds which version, from the servers' client lists.

Every subscriber names its subscribed connection `wav1:<id>:<client>:<version>` (see
wa_version_client.contract._manager_name) and renames it on each change; the service
lists the clients of the servers it knows (CLIENT LIST: the one server, a Sentinel
deployment's primary and replicas, a cluster's nodes) and groups those names. A server
that cannot be listed is named in `unlisted` (and logged); the others still count. A
manager that exits closes its connection, so it is gone from the next listing; one
whose connection stays open while it is stuck keeps showing the version it last held.

Names are untrusted (any client may set any name): a name of the fleet's scheme
(`wav…`) that does not parse is counted in `ignored` and otherwise skipped; other names
(a sentinel's own connections, another program's) are no manager and not counted. One
entry per subscribed connection: a process holding several subscribers under one id
shows as several entries with that id. Listing 10,000 clients costs the server a few
milliseconds of CPU, so a listing is kept `ttl` seconds and concurrent readers share one
(see bench/fleet.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric

from wa_version_client.contract import ManagerName, WAVersion, format_time, utc_now
from wa_version_client.deployment import (
    ClientLists,
    Deployment,
    RedisClient,
    ServerClients,
    describe,
)

log = logging.getLogger(__name__)

NO_VERSION = "none"  # by_version's key for managers that hold no version yet
CACHE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Manager:
    """One subscribed connection that named itself."""

    id: str
    client: str
    version: WAVersion | None
    server: str
    connected_for: int  # seconds, as the server counts them (CLIENT LIST's `age`)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client": self.client,
            "version": None if self.version is None else str(self.version),
            "server": self.server,
            "connected_for": self.connected_for,
        }


@dataclass(frozen=True, slots=True)
class Fleet:
    managers: tuple[Manager, ...]
    ignored: int  # connections named in the fleet's scheme whose name did not parse
    read_at: str
    unlisted: tuple[str, ...] = ()  # servers whose clients could not be listed

    def by_version(self) -> dict[str, int]:
        counts = Counter(_version_key(manager.version) for manager in self.managers)
        return dict(sorted(counts.items()))

    def behind(self, current: WAVersion | None) -> int:
        """Managers holding an older version than `current`, or none yet."""
        if current is None:
            return 0
        return sum(1 for m in self.managers if m.version is None or m.version < current)

    def to_json(self) -> dict[str, Any]:
        return {
            "managers": [manager.to_json() for manager in self.managers],
            "by_version": self.by_version(),
            "ignored": self.ignored,
            "unlisted": list(self.unlisted),
            "read_at": self.read_at,
        }


def build_fleet(
    lists: Sequence[ServerClients], read_at: str, unlisted: Sequence[str] = ()
) -> Fleet:
    """The managers among the clients listed (each named `wav…`: the listing keeps no
    other, wa_version_client._client_list); names that do not parse are skipped."""
    managers: list[Manager] = []
    ignored = 0
    for server, clients in lists:
        for name, age in clients:
            parsed = ManagerName.parse(name)
            if parsed is None:
                ignored += 1
                continue
            managers.append(Manager(parsed.manager_id, parsed.client, parsed.version, server, age))
    managers.sort(key=_oldest_first)
    return Fleet(tuple(managers), ignored, read_at, tuple(unlisted))


async def build_off_the_loop(lists: ClientLists) -> Fleet:
    """`build_fleet` in a thread: parsing 10,000 names takes ~50 ms of pure Python, which
    on the event loop would hold every other request of the process that long; in a
    thread the loop takes the GIL back within its switch interval (5 ms, bench/fleet.py)."""
    read_at = format_time(utc_now())
    return await asyncio.to_thread(build_fleet, lists.listed, read_at, lists.unlisted)


class FleetReader:
    """The fleet, listed at most once per `ttl` seconds, however many ask at once."""

    def __init__(
        self,
        deployment: Deployment,
        redis: RedisClient,
        *,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deployment = deployment
        self._redis = redis
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[float, Fleet] | None = None
        self._listing = asyncio.Lock()  # one CLIENT LIST at a time: the others wait for it

    async def read(self) -> Fleet:
        """The fleet as last listed, if within `ttl`; else listed now. Raises what the
        deployment raises when no server could be listed (a Redis error)."""
        async with self._listing:
            if self._cached is not None and self._clock() - self._cached[0] < self._ttl:
                return self._cached[1]
            fleet = await build_off_the_loop(await self._deployment.client_lists(self._redis))
            self._cached = (self._clock(), fleet)
            return fleet

    async def read_or_none(self) -> Fleet | None:
        """The fleet for /metrics: None where it cannot be listed (no server answered, or
        each refused CLIENT LIST: logged), so the rest still renders."""
        try:
            return await self.read()
        except Exception as exc:
            log.warning("listing the fleet failed: %s", describe(exc))
            return None


def fleet_metrics(fleet: Fleet, current: WAVersion | None) -> list[Metric]:
    """Managers by the version they hold, and how many hold an older one (or none)."""
    managers = GaugeMetricFamily(
        "wa_version_fleet_managers",
        "Subscribed connections that named themselves (CLIENT SETNAME), by the version "
        "they hold (none: not yet one), as last listed (cached a second).",
        labels=["version"],
    )
    for version, count in fleet.by_version().items():
        managers.add_metric([version], count)
    behind = GaugeMetricFamily(
        "wa_version_fleet_behind",
        "Managers holding an older version than the stored one, or none yet.",
        fleet.behind(current),
    )
    unlisted = GaugeMetricFamily(
        "wa_version_fleet_unlisted_servers",
        "Servers (a replica, a cluster node) whose clients could not be listed: their "
        "managers are missing from the two above.",
        len(fleet.unlisted),
    )
    return [managers, behind, unlisted]


def _oldest_first(manager: Manager) -> tuple[tuple[int, ...], str, str]:
    """Managers with no version first, then by version, id and server: plain tuples, which
    compare several times faster than WAVersion's generated ordering (10,000 managers)."""
    held = manager.version
    parts = () if held is None else (held.major, held.minor, held.patch)
    return parts, manager.id, manager.server


def _version_key(version: WAVersion | None) -> str:
    return NO_VERSION if version is None else str(version)
