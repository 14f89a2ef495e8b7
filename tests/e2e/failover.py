"""What the Sentinel and Cluster failover tests share: the versions served, the traffic's
checks, and the waits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from devtools.stub_upstream import StubUpstream
from shared.keys import ServiceKeys
from shared.results import LAST_LOOK
from tests.e2e.processes import Process
from tests.e2e.traffic import Traffic
from tests.support import wait_until
from wa_version_client import VersionSubscriber
from wa_version_client.deployment import RedisClient

REFRESH_WAIT = 8.0
TIMING = {"REFRESH_WAIT": "8s", "REFRESH_DEADLINE": "5s", "FETCH_TIMEOUT": "2s"}
# Upstream serves FIRST before the failure, DURING it, LAST once the system is back.
FIRST, DURING, LAST = 1026131876, 1026131877, 1026131878


def all_on(subscribers: Sequence[VersionSubscriber], patch: int) -> bool:
    return all(s.current is not None and s.current.version.patch == patch for s in subscribers)


def answered(traffic: Traffic, since: float, patch: int) -> bool:
    """Whether a refresh answered after `since` with version 2.3000.`patch`."""
    return any(
        a.at > since
        and a.status == 200
        and a.body["data"]["wa_web_version"]["string"].endswith(f".{patch}")
        for a in traffic.answers
    )


async def back_and_on_to_last(traffic: Traffic, upstream: StubUpstream, since: float) -> None:
    """Wait for a 200 after `since`, then make upstream serve LAST and wait for a refresh
    that answers it."""
    await wait_until(lambda: traffic.first_since(since, 200) is not None, within=30)
    upstream.configure(revision=LAST)
    asked_for_last = time.monotonic()
    await wait_until(lambda: answered(traffic, asked_for_last, LAST), within=30)


def ends(line: str, each: int = 1500) -> str:
    """A long line's start and end: a traceback's last line names the exception."""
    return line if len(line) <= 2 * each else f"{line[:each]} … {line[-each:]}"


def assert_every_call_answered(traffic: Traffic, web: Process) -> None:
    """200, or a 503/504 envelope during the gap; never a hang past REFRESH_WAIT. A
    failure shows what the web process logged as errors."""
    errors = [ends(line) for line in web.output.splitlines() if '"level": "error"' in line]
    assert set(traffic.statuses_since(0)) <= {200, 503, 504}, errors[-3:]
    # REFRESH_WAIT, the last look for a stored answer, and the HTTP round trip.
    assert max(a.seconds for a in traffic.answers) <= REFRESH_WAIT + LAST_LOOK + 1


async def nothing_pending(redis: RedisClient, keys: ServiceKeys) -> bool:
    summary = await redis.xpending(keys.refresh_jobs, keys.workers_group)
    return int(summary["pending"]) == 0


@dataclass
class FailoverSystem:
    """Web, worker and subscribers on a deployment with replicas; `client()` is a new
    client of whoever is the primary now (the deployment says how)."""

    worker: Process
    web: Process
    subscribers: list[VersionSubscriber]
    keys: ServiceKeys

    def client(self) -> RedisClient:
        raise NotImplementedError

    def pids(self) -> tuple[int, int]:
        return self.worker.popen.pid, self.web.popen.pid

    def on(self, patch: int) -> bool:
        return all_on(self.subscribers, patch)

    async def assert_settled(self, traffic: Traffic, pids: tuple[int, int]) -> None:
        """Every call answered in time, every subscriber on LAST, no job pending, web and
        worker alive with the PIDs they had (`pids`)."""
        assert_every_call_answered(traffic, self.web)
        await wait_until(lambda: self.on(LAST), within=15)
        redis = self.client()
        try:
            await wait_until(lambda: nothing_pending(redis, self.keys), within=15)
        finally:
            await redis.aclose()
        assert self.worker.popen.poll() is None, self.worker.output
        assert self.web.popen.poll() is None, self.web.output
        assert self.pids() == pids
