"""A Redis that keeps nothing on disk is said to lose the pin on restart: in the web's
and the worker's logs, in /readyz and in /metrics; checked again after a reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from redis import Redis as SyncRedis

from devtools.embedded import RedisServer
from devtools.sentinels import SERVICE, SentinelDeployment
from shared.persistence import LOST_WARNING
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, VERSION, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.server_sensitive]

NOTHING_ON_DISK = ("--save", "", "--appendonly", "no")
AOF = ("--appendonly", "yes")
KEPT_LINE = "Redis keeps the state across a restart (AOF on)"


def persistence_metric(text: str) -> str:
    """The state `wa_redis_persistence` says is 1."""
    for line in text.splitlines():
        if line.startswith("wa_redis_persistence{") and line.endswith(" 1.0"):
            return line.split('"')[1]
    raise AssertionError(f"no wa_redis_persistence state is 1 in:\n{text}")


async def said(api: httpx.AsyncClient) -> tuple[list[str], str]:
    """/readyz's warnings and the metric's state, once /readyz answers 200."""
    ready = await api.get("/readyz")
    warnings = ready.json()["data"]["warnings"] if ready.status_code == 200 else ["not ready"]
    metrics = (await api.get("/metrics", headers=AUTH)).text
    return warnings, persistence_metric(metrics)


async def test_a_server_with_nothing_on_disk_is_said_to_lose_the_pin(
    launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """`--save '' --appendonly no`: both processes log the warning; /readyz carries it and
    the metric says "lost", with a pin in place."""
    with RedisServer(None, *NOTHING_ON_DISK) as server:
        worker = launch("worker", REDIS_URL=server.url)
        web = start_web(REDIS_URL=server.url)
        async with httpx.AsyncClient(base_url=web.base_url, timeout=10) as api:
            pinned = await api.put(VERSION, json={"version": "2.3000.1012345682"}, headers=AUTH)
            assert pinned.status_code == 200

            async def lost_said() -> bool:
                return await said(api) == ([LOST_WARNING], "lost")

            await wait_until(lost_said, within=30)
        await wait_until(lambda: LOST_WARNING in worker.output, within=30)
        assert LOST_WARNING in web.output


async def test_with_aof_on_nothing_is_said(
    launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """`--appendonly yes`: both processes checked (their info line) and warn of nothing;
    /readyz has no warning and the metric says "kept"."""
    with RedisServer(None, *AOF) as server:
        worker = launch("worker", REDIS_URL=server.url)
        web = start_web(REDIS_URL=server.url)
        async with httpx.AsyncClient(base_url=web.base_url, timeout=10) as api:

            async def kept_said() -> bool:
                return await said(api) == ([], "kept")

            await wait_until(kept_said, within=30)
        await wait_until(lambda: KEPT_LINE in worker.output and KEPT_LINE in web.output, 30)
    assert LOST_WARNING not in worker.output
    assert LOST_WARNING not in web.output


async def test_a_reconnect_checks_again(
    launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """Redis restarted on the same port with AOF on, after a start with nothing on disk:
    the web process checks again on reconnecting, and stops warning."""
    lost = RedisServer(None, *NOTHING_ON_DISK)
    lost.start()
    try:
        web = start_web(REDIS_URL=lost.url)
        async with httpx.AsyncClient(base_url=web.base_url, timeout=10) as api:
            await wait_until(lambda: LOST_WARNING in web.output, within=30)
            launch("worker", REDIS_URL=lost.url)
            lost.stop()
            with RedisServer(lost.port, *AOF):

                async def kept_said() -> bool:
                    return await said(api) == ([], "kept")

                await wait_until(kept_said, within=30)
    finally:
        lost.stop()


async def test_a_refused_config_is_unknown(
    launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """CONFIG renamed away (as managed Redis does), AOF off: "unknown", said in /readyz
    and the metric, without claiming the pin is lost."""
    with RedisServer(None, "--rename-command", "CONFIG", "") as server:
        launch("worker", REDIS_URL=server.url)
        web = start_web(REDIS_URL=server.url)
        async with httpx.AsyncClient(base_url=web.base_url, timeout=10) as api:

            async def unknown_said() -> bool:
                warnings, state = await said(api)
                return state == "unknown" and any("unknown" in w for w in warnings)

            await wait_until(unknown_said, within=30)
        assert "refused CONFIG GET save" in web.output
        assert LOST_WARNING not in web.output


async def test_after_a_sentinel_failover_the_new_primary_is_checked(
    sentinel_deployment: SentinelDeployment, launch: Launcher, start_web: Callable[..., Process]
) -> None:
    """The primary keeps nothing on disk, its replicas have RDB save points: "lost".
    After SENTINEL FAILOVER (the old primary lives on, as a replica) the web process
    checks the promoted primary, and says "kept"."""
    for port in sentinel_deployment.replica_ports():
        with SyncRedis(port=port) as replica:
            replica.config_set("save", "900 1")
    url = sentinel_deployment.url()
    launch("worker", REDIS_URL=url)
    web = start_web(REDIS_URL=url)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=10) as api:

        async def said_is(warnings: list[str], state: str) -> bool:
            return await said(api) == (warnings, state)

        await wait_until(lambda: said_is([LOST_WARNING], "lost"), within=30)
        old = sentinel_deployment.primary_port()
        with sentinel_deployment.sentinels[0].client() as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
        await asyncio.to_thread(sentinel_deployment.wait_for_promotion, old)
        await wait_until(lambda: said_is([], "kept"), within=30)
